/**
 * This process's MCP tool servers: their status, and the operator's disable/enable switch.
 * The switch acts on this process's `ToolHub` only and lives in memory: each API or worker
 * process holds its own state (a known limit; docs/tools.md).
 */
import { AgentryError } from '../lib/errors.js';
import type { ToolHub } from '../tools/hub.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import type { ToolServerDto } from './dto/tools.js';

export class ToolService {
  /** `hub` is undefined when the project has no tools/*.yaml. */
  constructor(
    private readonly hub: ToolHub | undefined,
    private readonly audit: AuditService,
  ) {}

  list(): ToolServerDto[] {
    return this.hub?.status() ?? [];
  }

  /** The server's status; `not_found` naming the known servers when there is none by that name. */
  get(name: string): ToolServerDto {
    const status = this.hub?.status().find((s) => s.name === name);
    if (status === undefined) {
      const known = this.hub?.servers() ?? [];
      throw new AgentryError(
        'not_found',
        `no tool server named '${name}' (${known.length === 0 ? 'this project has no tools/*.yaml' : `servers: ${known.join(', ')}`})`,
        {
          details: { server: name },
        },
      );
    }
    return status;
  }

  /** Its calls fail fast with `tool_disabled` until it is enabled. */
  disable(caller: Caller, name: string, reason: string): Promise<ToolServerDto> {
    return this.audit.audited(
      caller,
      'tool.disable',
      `tool:${name}`,
      () => {
        this.get(name);
        this.hub?.disable(name, reason);
        return Promise.resolve(this.get(name));
      },
      () => ({ reason }),
    );
  }

  /** Enables a disabled server (also resets a used-up restart budget). */
  enable(caller: Caller, name: string): Promise<ToolServerDto> {
    return this.audit.audited(caller, 'tool.enable', `tool:${name}`, () => {
      this.get(name);
      this.hub?.enable(name);
      return Promise.resolve(this.get(name));
    });
  }
}
