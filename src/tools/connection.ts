/**
 * One MCP tool server: a lazily opened, reused client connection (stdio child process or
 * streamable HTTP session), its cached tool list, restarts after a lost connection (bounded
 * exponential backoff within a restart budget), and the operator's disable switch.
 *
 * States: `idle` (never connected, or closed after being disabled and enabled again),
 * `connected`, `failed` (the last connect failed or the connection was lost; the next call
 * reconnects when the restart budget allows), `disabled` (calls fail fast with `tool_disabled`).
 * How a connection is made and closed is `live-connection.ts`; the restart budget's arithmetic
 * `restart-budget.ts`.
 */
import type { Logger } from 'pino';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findEgressDenial, type EgressPolicy } from '../lib/egress.js';
import type { Resolver } from '../lib/egress-connector.js';
import { AgentryError } from '../lib/errors.js';
import { withoutLogContext } from '../obs/log-context.js';
import { serverAllows } from './allowlist.js';
import { resolveLaunch, type Launch, type ServerConfig } from './config.js';
import { ConnectionLog } from './connection-log.js';
import { classifyFailure, type CallSite } from './failure.js';
import { closeLiveConnection, createLiveConnection, stderrHint, type LiveConnection } from './live-connection.js';
import { loadMcpSdk } from './mcp-sdk.js';
import { RestartBudget } from './restart-budget.js';
import { fromCallResult, toolText, type ToolCallResult, type ToolDefinition } from './result.js';
import { ToolList } from './tool-list.js';
import { toolStatuses, type ServerState, type ServerSwitches, type ToolServerStatus, type ToolStatus } from './server-status.js';

export type { ServerSwitches, ToolServerStatus, ToolStatus } from './server-status.js';
import { pause } from '../lib/sleep.js';

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the server's `timeout` for this call. */
  timeoutMs?: number;
  /** Told of each `notifications/progress` the server sends for the call (the call then carries a progress token). */
  onProgress?: (progress: ToolProgress) => void;
}

/** One progress notification of a long-running call. */
export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface ConnectionContext {
  env: Readonly<Record<string, string | undefined>>;
  projectDir: string;
  logger: Logger | undefined;
  /** Where an HTTP server may be reached: checked after DNS, on every connection (redirects too). */
  egress: EgressPolicy;
  resolver?: Resolver | undefined;
}

export class ServerConnection {
  private live: LiveConnection | undefined;
  private connecting: Promise<LiveConnection> | undefined;
  private readonly toolList: ToolList;
  /** Tools an operator disabled (the server stays enabled), with the reasons. */
  private disabledTools: ReadonlyMap<string, string> = new Map();
  private failed = false;
  private lastError: string | undefined;
  private readonly restart: RestartBudget;
  private disabledReason: string | undefined;
  private inFlight = 0;
  private shutDown = false;
  private readonly shutdown = new AbortController();
  private readonly disposing = new Set<Promise<void>>();
  private readonly log: ConnectionLog;

  constructor(
    readonly config: ServerConfig,
    private readonly context: ConnectionContext,
  ) {
    this.log = new ConnectionLog(context.logger, config.name, config.transport);
    this.restart = new RestartBudget(config.restart);
    this.toolList = new ToolList(config.name, config.allow);
  }

  get name(): string {
    return this.config.name;
  }

  async callTool(tool: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<ToolCallResult> {
    this.assertEnabled();
    if (!serverAllows(this.config.allow, tool)) throw notAllowed(this.name, tool);
    this.assertToolEnabled(tool);
    const site = this.site(`tool ${this.name}.${tool}`, options);
    return this.withConnection(site, async (live) => {
      const result = (await live.client.callTool({ name: tool, arguments: args }, undefined, {
        signal: options.signal,
        timeout: site.timeoutMs,
        ...(options.onProgress === undefined ? {} : { onprogress: options.onProgress }),
      })) as CallToolResult;
      const content = Array.isArray(result.content) ? result.content : [];
      if (result.isError === true) {
        const text = toolText({ content, structuredContent: result.structuredContent });
        throw new AgentryError('tool_error', `tool ${this.name}.${tool} failed: ${text}`, { details: { server: this.name, tool, content } });
      }
      return fromCallResult({ ...result, content });
    });
  }

  /**
   * The server's tools after its `allow` list (disabled tools included); cached until a
   * reconnect or `tools/list_changed`. Listings are shared (`tool-list.ts`): the caller's
   * signal stops its wait, not the listing.
   */
  async listTools(options: CallOptions = {}): Promise<ToolDefinition[]> {
    this.assertEnabled();
    const current = this.toolList.current;
    if (current !== undefined && this.live !== undefined) return current;
    if (options.signal?.aborted === true) throw classifyFailure(options.signal.reason, this.site('tools/list', options)).error;
    return abortable(
      this.toolList.refresh(() => this.fetchTools()),
      options.signal,
    ).catch((error: unknown) => {
      throw classifyFailure(error, this.site(`tools/list on tool server '${this.name}'`, options)).error;
    });
  }

  /** The tool a function name (from `functionName`) stands for, once a listing has shown it. */
  toolForFunction(name: string): string | undefined {
    return this.toolList.toolFor(name);
  }

  /** The tools as last listed (none before the first listing), with disabled tools the listing lacks. */
  toolStatus(): ToolStatus[] {
    return toolStatuses(this.name, this.toolList.last ?? [], this.disabledTools, (tool) => this.needsApproval(tool));
  }

  /** Whether an operator disabled the tool (not the server). */
  toolDisabled(tool: string): boolean {
    return this.disabledTools.has(tool);
  }

  /** Applies the fleet's switches for this server: disables or enables it (logged when it changes) and sets its disabled tools. */
  applySwitches(switches: ServerSwitches): void {
    this.disabledTools = switches.tools;
    if (switches.reason !== undefined && switches.reason !== this.disabledReason) this.disable(switches.reason);
    else if (switches.reason === undefined && this.disabledReason !== undefined) this.enable();
  }

  needsApproval(tool: string): boolean {
    const rule = this.config.requireApproval;
    return typeof rule === 'boolean' ? rule : rule.has(tool);
  }

  /** Calls fail fast with `tool_disabled`; the connection closes once calls in flight finish. */
  disable(reason: string): void {
    this.disabledReason = reason.trim() === '' ? 'no reason given' : reason.trim();
    this.log.disabled(this.disabledReason);
    this.closeIfDisabledAndIdle();
  }

  /** Clears `disable` and a used-up restart budget; the next call connects afresh. */
  enable(): void {
    this.disabledReason = undefined;
    this.restart.reset();
    this.failed = false;
    this.log.enabled();
  }

  status(): ToolServerStatus {
    const state: ServerState = this.disabledReason !== undefined ? 'disabled' : this.live !== undefined ? 'connected' : this.failed ? 'failed' : 'idle';
    const tools = this.toolList.last?.length ?? 0;
    const status: ToolServerStatus = { name: this.name, transport: this.config.transport, state, tools, restarts: this.restart.restarts };
    if (this.lastError !== undefined) status.last_error = this.lastError;
    if (this.disabledReason !== undefined) status.disabled_reason = this.disabledReason;
    if (this.live?.pid !== undefined) status.pid = this.live.pid;
    return status;
  }

  /** Closes the connection and waits for the child process to exit; later calls fail `tool_unavailable`. */
  async close(): Promise<void> {
    this.shutDown = true;
    this.shutdown.abort();
    await this.connecting?.catch(() => undefined);
    const live = this.live;
    this.live = undefined;
    if (live !== undefined) this.dispose(live, true);
    await Promise.all([...this.disposing]);
  }

  private site(what: string, options: CallOptions): CallSite {
    return { server: this.name, what, signal: options.signal, timeoutMs: options.timeoutMs ?? this.config.timeoutMs };
  }

  private assertEnabled(): void {
    if (this.disabledReason !== undefined) {
      throw new AgentryError(
        'tool_disabled',
        `tool server '${this.name}' is disabled: ${this.disabledReason} (enable it with agentry tools enable ${this.name})`,
        {
          details: { server: this.name, reason: this.disabledReason },
        },
      );
    }
  }

  private assertToolEnabled(tool: string): void {
    const reason = this.disabledTools.get(tool);
    if (reason === undefined) return;
    throw new AgentryError('tool_disabled', `tool ${this.name}.${tool} is disabled: ${reason} (enable it with agentry tools enable ${this.name}.${tool})`, {
      details: { server: this.name, tool, reason },
    });
  }

  /** One listing of every page of the server's tools, on the current connection (opened if need be). */
  private fetchTools(): Promise<ToolDefinition[]> {
    const site = this.site(`tools/list on tool server '${this.name}'`, {});
    return this.withConnection(site, async (live) => {
      const all: ToolDefinition[] = [];
      let cursor: string | undefined;
      do {
        const page = await live.client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: site.timeoutMs });
        all.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return all;
    });
  }

  /** Lists the tools in the background (after a connect, on `tools/list_changed`), so the status and the name table follow the server. */
  private refreshSoon(): void {
    if (this.disabledReason !== undefined || this.shutDown) return;
    this.toolList
      .refresh(() => this.fetchTools())
      .catch((error: unknown) => {
        this.context.logger?.debug({ server: this.name, error: error instanceof Error ? error.message : String(error) }, 'tool list refresh failed');
      });
  }

  private async withConnection<T>(site: CallSite, use: (live: LiveConnection) => Promise<T>): Promise<T> {
    if (site.signal?.aborted === true) throw classifyFailure(site.signal.reason, site).error;
    this.inFlight++;
    let live: LiveConnection | undefined;
    try {
      live = await this.connection(site);
      return await use(live);
    } catch (error) {
      const failure = classifyFailure(error, site);
      if (failure.lost && live !== undefined) this.lose(live, failure.error.message);
      throw failure.error;
    } finally {
      this.inFlight--;
      this.closeIfDisabledAndIdle();
    }
  }

  private async connection(site: CallSite): Promise<LiveConnection> {
    if (this.live !== undefined) return this.live;
    // The connection outlives the call that opens it: its lines carry no request's id.
    this.connecting ??= withoutLogContext(() => this.open()).finally(() => {
      this.connecting = undefined;
    });
    return abortable(this.connecting, site.signal);
  }

  private async open(): Promise<LiveConnection> {
    const timeoutMs = this.config.connectTimeoutMs;
    if (this.shutDown) throw this.unavailable('the tool hub is closed', false);
    const restarted = this.restart.pending;
    if (restarted) await this.restartGate(timeoutMs);
    let launch: Launch;
    try {
      launch = resolveLaunch(this.config, this.context.env, this.context.projectDir);
    } catch (error) {
      this.failed = true;
      this.lastError = error instanceof Error ? error.message : String(error);
      this.log.connectFailed(this.lastError, this.restart.restarts);
      throw error;
    }
    const sdk = await loadMcpSdk();
    const live = createLiveConnection(launch, sdk, {
      server: this.name,
      logger: this.context.logger,
      egress: this.context.egress,
      resolver: this.context.resolver,
      onLost: (lost, why) => this.lose(lost, why),
      onToolListChanged: (changed) => {
        // A change may come before the connection is adopted (the reference server announces one on connect).
        if (this.live !== undefined && this.live !== changed) return;
        this.toolList.changed();
        if (this.live === changed) this.refreshSoon();
      },
    });
    try {
      await live.client.connect(live.transport, { timeout: timeoutMs, signal: this.shutdown.signal });
      live.pid = live.transport instanceof sdk.StdioClientTransport ? (live.transport.pid ?? undefined) : undefined;
    } catch (error) {
      this.dispose(live, false);
      const reason = error instanceof Error ? error.message : String(error);
      this.failed = true;
      this.restart.lost(Date.now());
      this.lastError = `connect failed: ${reason}${stderrHint(live, launch)}`;
      this.log.connectFailed(this.lastError, this.restart.restarts);
      if (this.shutDown) throw this.unavailable('the tool hub is closed', false);
      const denied = findEgressDenial(error);
      if (denied !== undefined) throw denied;
      const timedOut = error instanceof sdk.McpError && error.code === (sdk.ErrorCode.RequestTimeout as number);
      throw new AgentryError('tool_unavailable', `tool server '${this.name}' is unavailable: ${timedOut ? `no MCP handshake within ${timeoutMs}ms` : reason}`, {
        retryable: true,
        cause: error,
        details: { server: this.name },
      });
    }
    if (this.shutDown) {
      this.dispose(live, true);
      throw this.unavailable('the tool hub is closed', false);
    }
    this.live = live;
    this.failed = false;
    this.restart.connected();
    this.toolList.changed();
    this.log.connected(live.pid, this.restart.restarts, restarted);
    queueMicrotask(() => this.refreshSoon());
    return live;
  }

  /** Waits out the backoff before a reconnect, or refuses when the restart budget is used up. */
  private async restartGate(timeoutMs: number): Promise<void> {
    const plan = this.restart.plan(Date.now());
    if (plan.usedUp) {
      const { budget, retryAfterMs } = plan;
      this.failed = true;
      if (this.lastError?.startsWith('restart budget') !== true) {
        this.lastError = `${budget}; last error: ${this.lastError ?? 'unknown'}`;
        this.log.failed(this.lastError, this.restart.restarts);
      }
      throw new AgentryError(
        'tool_unavailable',
        `tool server '${this.name}' failed again and has its ${budget}; ` +
          `it is not restarted ${retryAfterMs === undefined ? 'again' : `for ${retryAfterMs}ms`} unless enabled again (agentry tools enable ${this.name})`,
        { retryable: retryAfterMs !== undefined, retryAfterMs, details: { server: this.name, restarts: this.restart.restarts, retry_after_ms: retryAfterMs } },
      );
    }
    const wait = plan.waitMs;
    if (wait > timeoutMs) {
      throw new AgentryError('tool_unavailable', `tool server '${this.name}' is restarting in ${wait}ms`, {
        retryable: true,
        retryAfterMs: wait,
        details: { server: this.name, retry_after_ms: wait },
      });
    }
    if (wait > 0) await pause(wait, this.shutdown.signal);
    if (this.shutDown) throw this.unavailable('the tool hub is closed', false);
    this.restart.begin(Date.now());
    this.log.restarting(this.restart.restarts, Math.max(0, wait));
  }

  /** The connection is gone (crash, closed socket): forget it; the next call restarts it. */
  private lose(live: LiveConnection, why: string): void {
    if (this.live !== live) return;
    this.live = undefined;
    this.toolList.changed();
    this.failed = true;
    this.restart.lost(Date.now());
    this.lastError = why;
    this.log.lost(why);
    this.dispose(live, false);
  }

  private closeIfDisabledAndIdle(): void {
    if (this.disabledReason === undefined || this.inFlight > 0 || this.live === undefined) return;
    const live = this.live;
    this.live = undefined;
    this.toolList.changed();
    this.dispose(live, true);
  }

  /** Closes a connection in the background; `close()` waits for every one. */
  private dispose(live: LiveConnection, terminate: boolean): void {
    const done = closeLiveConnection(live, terminate);
    this.disposing.add(done);
    void done.finally(() => this.disposing.delete(done));
  }

  private unavailable(why: string, retryable: boolean): AgentryError {
    return new AgentryError('tool_unavailable', `tool server '${this.name}' is unavailable: ${why}`, { retryable, details: { server: this.name } });
  }
}

export function notAllowed(server: string, tool: string, why = `is not in the allow list of tool server '${server}'`): AgentryError {
  return new AgentryError('tool_not_allowed', `tool ${server}.${tool} ${why}`, { details: { server, tool } });
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
