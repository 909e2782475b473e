/**
 * The ToolHub: every MCP tool server of a project (tools/*.yaml), one reused connection each,
 * with the allowlists that decide what exists and who may call it.
 *
 * ```ts
 * const hub = createToolHub({ specs: project.tools, env: process.env, projectDir: project.dir });
 * const tools = await hub.toolsFor(agent.tools ?? []);          // OpenAI function tools
 * const { server, tool } = hub.resolve(call.function.name, agent.tools ?? []);
 * const result = await hub.callTool(server, tool, args, { signal });
 * await hub.close();
 * ```
 */
import type { Logger } from 'pino';
import type { EgressPolicy } from '../lib/egress.js';
import type { Resolver } from '../lib/egress-connector.js';
import { AgentryError } from '../lib/errors.js';
import type { ToolSpec } from '../spec/schemas.js';
import { parseToolPattern, patternAllows, serverAllows, type ToolPattern } from './allowlist.js';
import { serverConfig, TOOL_DEFAULTS, type OnReject } from './config.js';
import { notAllowed, ServerConnection, type CallOptions, type ToolServerStatus, type ToolStatus } from './connection.js';
import { functionName, splitFunctionName } from './names.js';
import { traceToolCall } from './tracing.js';
import type { FunctionTool, ToolCallResult, ToolDefinition } from './result.js';

export interface ToolHubOptions {
  /** Tool servers by name (`loadProject(...).project.tools`). */
  specs: ReadonlyMap<string, ToolSpec>;
  /** Where `{{ env.NAME }}` in `env` and `headers` reads from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base of a stdio server's `cwd` (and its default). Default `process.cwd()`. */
  projectDir?: string;
  /** Timeout of a call to a server without `timeout:`. Default 60s. */
  defaultTimeoutMs?: number;
  logger?: Logger;
  /** Where HTTP servers may connect (the project's egress policy). Default: development mode, no lists. */
  egress?: EgressPolicy;
  /** DNS for HTTP servers; tests inject one. */
  resolver?: Resolver;
  /** Told about every tool call (the process's metrics). */
  observer?: ToolObserver;
}

/** How a tool call ended: `denied` by an allow-list, a disabled server or the egress policy; `timeout`; `error` for any other failure. */
export type ToolCallStatus = 'ok' | 'error' | 'denied' | 'timeout';

/** Told about each tool call once it ends (the process's metrics). Its methods must not throw. */
export interface ToolObserver {
  toolCall(server: string, status: ToolCallStatus, seconds: number): void;
}

const DENIED: ReadonlySet<string> = new Set(['tool_not_allowed', 'tool_disabled', 'egress_denied']);

function callStatus(error: unknown): ToolCallStatus {
  if (!(error instanceof AgentryError)) return 'error';
  if (DENIED.has(error.code)) return 'denied';
  return error.code === 'tool_timeout' ? 'timeout' : 'error';
}

/** A server (`tool` null) or one of its tools, disabled by an operator. */
export interface ToolSwitch {
  server: string;
  tool: string | null;
  reason: string;
}

/** Where a model's function call goes. */
export interface ResolvedTool {
  server: string;
  tool: string;
}

/** A tool whose calls need a person's approval, and what a refusal does. */
export interface ApprovalRule {
  onReject: OnReject;
  /** Role that may decide (undefined: anyone with tasks:write). */
  role?: string;
}

const DEVELOPMENT_EGRESS: EgressPolicy = { mode: 'development', allowLinkLocal: false, project: undefined };

export class ToolHub {
  private readonly connections = new Map<string, ServerConnection>();
  private readonly observer: ToolObserver | undefined;

  constructor(options: ToolHubOptions) {
    this.observer = options.observer;
    const context = {
      env: options.env ?? process.env,
      projectDir: options.projectDir ?? process.cwd(),
      logger: options.logger,
      egress: options.egress ?? DEVELOPMENT_EGRESS,
      resolver: options.resolver,
    };
    for (const [name, spec] of options.specs) {
      this.connections.set(name, new ServerConnection(serverConfig(spec, options.defaultTimeoutMs ?? TOOL_DEFAULTS.timeoutMs), context));
    }
  }

  /** Names of the configured servers, in spec order. */
  servers(): string[] {
    return [...this.connections.keys()];
  }

  /** The tools a server exposes after its `allow` list (connects on first use; cached). */
  listTools(server: string, options: CallOptions = {}): Promise<ToolDefinition[]> {
    return this.connection(server).listTools(options);
  }

  /**
   * Calls one tool. Errors: `tool_not_allowed` (outside the server's `allow`), `tool_disabled`,
   * `tool_timeout`, `tool_error` (the tool reported failure), `tool_unavailable`, `cancelled`.
   */
  async callTool(server: string, tool: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<ToolCallResult> {
    const connection = this.connection(server);
    const started = performance.now();
    let status: ToolCallStatus = 'ok';
    try {
      return await traceToolCall(server, tool, args, () => connection.callTool(tool, args, options));
    } catch (error) {
      status = callStatus(error);
      throw error;
    } finally {
      this.observer?.toolCall(server, status, (performance.now() - started) / 1000);
    }
  }

  /**
   * Function-tool definitions of every tool an agent's `tools:` list allows, named
   * `<server>__<tool>`. Disabled servers and tools are left out; a server that cannot be listed fails the call.
   */
  async toolsFor(agentAllow: readonly string[], options: CallOptions = {}): Promise<FunctionTool[]> {
    const patterns = agentAllow.map(parseToolPattern);
    const servers = [...new Set(patterns.map((p) => p.server))];
    for (const server of servers) if (!this.connections.has(server)) throw unknownServer(server, 'tool_not_allowed');
    const enabled = servers.filter((server) => this.connection(server).status().state !== 'disabled');
    const lists = await Promise.all(enabled.map(async (server) => ({ server, tools: await this.listTools(server, options) })));
    return lists.flatMap(({ server, tools }) =>
      tools
        .filter((tool) => patternAllows(patterns, server, tool.name) && !this.connection(server).toolDisabled(tool.name))
        .map((tool) => ({
          type: 'function' as const,
          function: {
            name: functionName(server, tool.name),
            description: tool.description ?? tool.title ?? '',
            parameters: tool.inputSchema,
          },
        })),
    );
  }

  /**
   * The server and tool behind a function name from `toolsFor`; `tool_not_allowed` outside the
   * allowlists. A rewritten name (`names.ts`) resolves through the server's name table, which
   * every listing fills and nothing empties; a name the table lacks stands for a tool of that
   * very name only when `functionName` would give it unchanged, so a rewritten name never
   * reaches the server as a tool name.
   */
  resolve(name: string, agentAllow: readonly string[]): ResolvedTool {
    const split = splitFunctionName(name);
    const connection = split === undefined ? undefined : this.connections.get(split.server);
    if (split === undefined || connection === undefined) {
      throw new AgentryError('tool_not_allowed', `'${name}' is not a tool of any configured tool server`, { details: { function: name } });
    }
    const tool = connection.toolForFunction(name) ?? (functionName(split.server, split.rest) === name ? split.rest : undefined);
    if (tool === undefined) {
      throw new AgentryError('tool_not_allowed', `'${name}' names no tool that tool server '${split.server}' has listed`, {
        details: { function: name, server: split.server },
      });
    }
    const patterns: ToolPattern[] = agentAllow.map(parseToolPattern);
    if (!serverAllows(connection.config.allow, tool)) throw notAllowed(split.server, tool);
    if (!patternAllows(patterns, split.server, tool)) throw notAllowed(split.server, tool, "is not in the agent's tools list");
    return { server: split.server, tool };
  }

  /** Whether the server's `allow` list lets the tool exist. */
  allows(server: string, tool: string): boolean {
    return serverAllows(this.connection(server).config.allow, tool);
  }

  /** Whether `require_approval` covers the tool (asking a person is the agent loop's job). */
  needsApproval(server: string, tool: string): boolean {
    return this.connection(server).needsApproval(tool);
  }

  /** The server's `on_reject` when `require_approval` covers the tool; undefined when calls need no approval. */
  approvalRule(server: string, tool: string): ApprovalRule | undefined {
    const connection = this.connection(server);
    if (!connection.needsApproval(tool)) return undefined;
    const { onReject, approvalRole } = connection.config;
    return approvalRole === undefined ? { onReject } : { onReject, role: approvalRole };
  }

  /** Calls to the server fail fast with `tool_disabled` (naming `reason`) until `enable`. */
  disable(server: string, reason: string): void {
    this.connection(server).disable(reason);
  }

  /** Re-enables a disabled server and resets a used-up restart budget. */
  enable(server: string): void {
    this.connection(server).enable();
  }

  /**
   * Applies the fleet's switches (every disabled server and tool, `app/tool-switches.ts`): each
   * server named is disabled with its reason, each other one enabled; switches of servers this
   * project lacks are ignored.
   */
  applySwitches(switches: readonly ToolSwitch[]): void {
    for (const [name, connection] of this.connections) {
      const own = switches.filter((s) => s.server === name);
      const tools = new Map(own.flatMap((s) => (s.tool === null ? [] : [[s.tool, s.reason] as const])));
      connection.applySwitches({ reason: own.find((s) => s.tool === null)?.reason, tools });
    }
  }

  status(): ToolServerStatus[] {
    return [...this.connections.values()].map((c) => c.status());
  }

  /** A server's tools as last listed, with their function names, approval rules and switches. */
  toolStatus(server: string): ToolStatus[] {
    return this.connection(server).toolStatus();
  }

  /** Closes every connection and waits for every child process to exit. */
  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  private connection(server: string): ServerConnection {
    const connection = this.connections.get(server);
    if (connection === undefined) throw unknownServer(server, 'not_found');
    return connection;
  }
}

export function createToolHub(options: ToolHubOptions): ToolHub {
  return new ToolHub(options);
}

function unknownServer(server: string, code: 'not_found' | 'tool_not_allowed'): AgentryError {
  return new AgentryError(code, `no tool server named '${server}'`, { details: { server } });
}
