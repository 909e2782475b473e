/**
 * The MCP tool servers: their status and tools, and the operator's switch. The switch is the
 * fleet's: a disable or enable is stored (`tool_switches`), applied here at once and by every
 * other process within a poll (`tool-switches.ts`), and audited. A server (`crm`) or one of its
 * tools (`crm.delete_customer`) can be switched. Tool servers are the deployment's, not a
 * tenant's: only its operators switch them (`assertDeploymentCaller`); any caller with
 * `tools:read` sees them.
 */
import { AgentryError } from '../lib/errors.js';
import type { Store } from '../store/store.js';
import type { ToolHub } from '../tools/hub.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import type { ToolServerDto } from './dto/tools.js';
import { assertDeploymentCaller } from './fleet.js';
import { toolSwitchWatch } from './tool-switches.js';

/** Longest reason kept with a switch. */
export const MAX_TOOL_REASON_LENGTH = 1000;

export interface ToolServiceOptions {
  /** Undefined when the project has no tools/*.yaml. */
  hub: ToolHub | undefined;
  audit: AuditService;
  store: Store;
  /** The deployment's tenant (`AGENTRY_TENANT`): its callers are the deployment's operators. */
  deploymentTenant: string;
  now?: () => number;
}

/** What a switch names: a server, or one tool of it (`server.tool`; server names contain no dot). */
interface SwitchTarget {
  server: string;
  tool: string | null;
}

export class ToolService {
  private readonly now: () => number;

  constructor(private readonly o: ToolServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Every server with its tools as last listed (nothing is connected to answer). */
  list(): ToolServerDto[] {
    const hub = this.o.hub;
    return hub === undefined ? [] : hub.status().map((s) => ({ ...s, tool_list: hub.toolStatus(s.name) }));
  }

  /** The server's status; `not_found` naming the known servers when there is none by that name. */
  get(name: string): ToolServerDto {
    const found = this.list().find((s) => s.name === name);
    if (found === undefined) throw this.unknown(name);
    return found;
  }

  /**
   * The server with its tools listed now (connecting it when it is not; a disabled server is
   * not). A server that cannot be listed answers its status, whose `last_error` says why.
   */
  async describe(name: string, signal?: AbortSignal): Promise<ToolServerDto> {
    const status = this.get(name);
    if (status.state !== 'disabled') await this.o.hub?.listTools(name, signal === undefined ? {} : { signal }).catch(() => undefined);
    return this.get(name);
  }

  /** Disables a server or tool on every process: its calls fail fast with `tool_disabled` until it is enabled. */
  disable(caller: Caller, name: string, reason: string): Promise<ToolServerDto> {
    const text = reason.trim();
    return this.o.audit.audited(
      caller,
      'tool.disable',
      `tool:${name}`,
      async () => {
        this.assertOperator(caller);
        const target = this.target(name);
        if (text === '') throw new AgentryError('invalid_request', 'give a reason (it is shown in tool_disabled errors and GET /v1/tools)');
        if (text.length > MAX_TOOL_REASON_LENGTH)
          throw new AgentryError('invalid_request', `the reason is ${text.length} characters long; at most ${MAX_TOOL_REASON_LENGTH}`);
        await this.o.store.disableTool({ ...target, reason: text, disabledAt: this.now(), disabledBy: caller.name });
        return this.synced(target.server);
      },
      () => ({ reason: text }),
    );
  }

  /** Enables a disabled server (also resets a used-up restart budget) or tool on every process. */
  enable(caller: Caller, name: string): Promise<ToolServerDto> {
    let was: string | null = null;
    return this.o.audit.audited(
      caller,
      'tool.enable',
      `tool:${name}`,
      async () => {
        this.assertOperator(caller);
        const target = this.target(name);
        was = (await this.o.store.enableTool(target.server, target.tool))?.reason ?? null;
        // Enabling an enabled server still resets a used-up restart budget here, as it always did.
        if (target.tool === null && was === null) this.o.hub?.enable(target.server);
        return this.synced(target.server);
      },
      () => ({ was_disabled: was !== null, ...(was === null ? {} : { reason: was }) }),
    );
  }

  private async synced(server: string): Promise<ToolServerDto> {
    if (this.o.hub !== undefined) await toolSwitchWatch(this.o.store, this.o.hub).sync();
    return this.get(server);
  }

  private assertOperator(caller: Caller): void {
    assertDeploymentCaller(caller, this.o.deploymentTenant, 'tool servers');
  }

  /** `crm` or `crm.delete_customer`, checked against the project; `not_found` otherwise. */
  private target(name: string): SwitchTarget {
    const dot = name.indexOf('.');
    const server = dot === -1 ? name : name.slice(0, dot);
    const tool = dot === -1 ? null : name.slice(dot + 1);
    const status = this.get(server);
    if (tool === '') throw new AgentryError('invalid_request', `'${name}' names no tool: use ${server} for the server or ${server}.<tool> for one tool`);
    if (tool !== null && this.o.hub?.allows(status.name, tool) === false) {
      throw new AgentryError('not_found', `tool server '${server}' has no tool '${tool}' (it is not in its allow list)`, { details: { server, tool } });
    }
    return { server, tool };
  }

  private unknown(name: string): AgentryError {
    const known = this.o.hub?.servers() ?? [];
    return new AgentryError(
      'not_found',
      `no tool server named '${name}' (${known.length === 0 ? 'this project has no tools/*.yaml' : `servers: ${known.join(', ')}`})`,
      { details: { server: name } },
    );
  }
}
