/**
 * One open connection to an MCP tool server (`LiveConnection`): how it is made — a stdio child
 * process whose stderr tail is kept for error messages, or a streamable HTTP session over an
 * undici pool of its own that passes the egress policy and, with tracing on, carries the call's
 * `traceparent` — and how it is closed (the HTTP session ended, the process or sockets gone).
 */
import type { Logger } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { findEgressDenial, type EgressPolicy } from '../lib/egress.js';
import { guardedConnector, type Resolver } from '../lib/egress-connector.js';
import { VERSION } from '../lib/version.js';
import { injectTraceHeaders, isTracingOn } from '../obs/tracing.js';
import type { Launch } from './config.js';
import { mcpSdk, type McpSdk } from './mcp-sdk.js';

export interface LiveConnection {
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  /** Resolves when the transport has closed (for stdio: the child process is gone). */
  closed: Promise<void>;
  /** Set when Agentry closes the connection on purpose (not a crash). */
  closing: boolean;
  pid: number | undefined;
  dispatcher: Agent | undefined;
  /** The last characters a stdio server wrote to stderr. */
  stderrTail: string;
}

/** What a connection needs from its server's context, and what it tells its server. */
export interface LiveConnectionHooks {
  server: string;
  logger: Logger | undefined;
  /** Where an HTTP server may be reached: checked after DNS, on every connection (redirects too). */
  egress: EgressPolicy;
  resolver?: Resolver | undefined;
  /** The transport closed without Agentry closing it (a crash, a closed socket). */
  onLost: (live: LiveConnection, why: string) => void;
  /** The server sent `notifications/tools/list_changed`. */
  onToolListChanged: (live: LiveConnection) => void;
}

const CLOSE_WAIT_MS = 5_000;
const STDERR_TAIL_CHARS = 2_000;

/** A client and its transport for `launch`, not yet connected. */
export function createLiveConnection(launch: Launch, sdk: McpSdk, hooks: LiveConnectionHooks): LiveConnection {
  const { Client, StdioClientTransport, StreamableHTTPClientTransport, ToolListChangedNotificationSchema } = sdk;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const client = new Client({ name: 'agentry', version: VERSION }, { capabilities: {} });
  let transport: LiveConnection['transport'];
  let dispatcher: Agent | undefined;
  if (launch.transport === 'stdio') {
    const stdio = new StdioClientTransport({ command: launch.command, args: launch.args, cwd: launch.cwd, env: launch.env, stderr: 'pipe' });
    stdio.stderr?.on('data', (chunk: Buffer) => {
      live.stderrTail = (live.stderrTail + chunk.toString()).slice(-STDERR_TAIL_CHARS);
    });
    transport = stdio;
  } else {
    // Our own connection pool, so closing the server closes its sockets too; every connection
    // it opens passes the egress policy. fetch wraps a refusal in "fetch failed": unwrap it.
    const agent = new Agent({ connect: guardedConnector(hooks.egress, hooks.resolver) });
    dispatcher = agent;
    // With tracing on, each request carries the `traceparent` of the call's span.
    const fetch: FetchLike = (url, init) => {
      const options: FetchOptions = { ...(init as FetchOptions), dispatcher: agent };
      if (isTracingOn()) options.headers = withTraceHeaders(options.headers);
      return undiciFetch(url, options).catch((error: unknown) => {
        throw findEgressDenial(error) ?? error;
      });
    };
    transport = new StreamableHTTPClientTransport(launch.url, { requestInit: { headers: launch.headers }, fetch });
  }
  const live: LiveConnection = { client, transport, closed, closing: false, pid: undefined, dispatcher, stderrTail: '' };
  client.onclose = () => {
    markClosed();
    if (!live.closing) hooks.onLost(live, `${launch.transport === 'stdio' ? 'the server process exited' : 'the connection closed'}${stderrHint(live, launch)}`);
  };
  client.onerror = (error) => {
    hooks.logger?.debug({ server: hooks.server, error: error.message }, 'tool server transport error');
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => hooks.onToolListChanged(live));
  return live;
}

/** Closes a connection (ending an HTTP session first when `terminate`) and waits, a while at most, for its transport to close. */
export async function closeLiveConnection(live: LiveConnection, terminate: boolean): Promise<void> {
  live.closing = true;
  if (terminate && live.transport instanceof mcpSdk().StreamableHTTPClientTransport && live.transport.sessionId !== undefined) {
    await live.transport.terminateSession().catch(() => undefined);
  }
  await live.client.close().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([live.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
  clearTimeout(timer);
  await live.dispatcher?.destroy().catch(() => undefined);
}

/** The last line the stdio server wrote to stderr, with the values of its env removed. */
export function stderrHint(live: LiveConnection, launch: Launch): string {
  if (launch.transport !== 'stdio') return '';
  const line = live.stderrTail.trim().split('\n').pop()?.trim();
  if (line === undefined || line === '') return '';
  let safe = line;
  for (const value of Object.values(launch.env)) if (value.length >= 4) safe = safe.split(value).join('***');
  return `; stderr: ${safe.slice(0, 300)}`;
}

type FetchOptions = NonNullable<Parameters<typeof undiciFetch>[1]>;

/** `headers` and the active span's `traceparent`. */
function withTraceHeaders(headers: FetchOptions['headers']): Record<string, string> {
  const merged: Record<string, string> = {};
  new Headers(headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => (merged[name] = value));
  return injectTraceHeaders(merged);
}
