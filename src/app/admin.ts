/**
 * The deployment's administration: which build, which database at which schema, and which roles
 * the answering process runs (`GET /v1/admin/info`, `agentry admin info`), and one pass of the
 * scheduler's sweeps forced now (`POST /v1/admin/sweep`, `agentry admin sweep --now`; audited
 * `admin.sweep`), and the routes the process serves with their owners (`GET /v1/routes`: the
 * server's core routes, and each plugin's own). Like the fleet, these are the deployment's: only system admins and callers of
 * the deployment's own tenant reach them.
 */
import type { Engine } from '../engine/engine.js';
import { VERSION } from '../lib/version.js';
import type { Store } from '../store/store.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { sweepDto, type AdminInfoDto, type SweepDto } from './dto/admin.js';
import { iso } from './dto/common.js';
import type { ApiRouteDto, ApiRouteListDto } from './dto/routes.js';
import { assertDeploymentCaller } from './fleet.js';
import { storeInfo } from './migrations.js';
import type { PluginService } from './plugin-service.js';

/** What the answering process is: known to the server (or the CLI), not to the store. */
export interface ProcessFacts {
  /** The process's roles (`api`, `worker`, `scheduler`, `gateway`); none for the CLI on the store. */
  roles: readonly string[];
  tenancy: 'single' | 'multi';
  startedAt: number;
}

export interface AdminServiceOptions {
  store: Store;
  engine: Engine;
  audit: AuditService;
  /** The process's plugins, whose routes `routes()` lists. */
  plugins?: PluginService | undefined;
  now?: () => number;
}

export class AdminService {
  private readonly now: () => number;

  constructor(private readonly o: AdminServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  async info(caller: Caller, facts: ProcessFacts): Promise<AdminInfoDto> {
    assertDeploymentCaller(caller, this.o.engine.tenant, 'the deployment’s build, database and roles');
    return {
      version: VERSION,
      node: process.versions.node,
      store: await storeInfo(this.o.store),
      roles: [...facts.roles].sort(),
      tenancy: { mode: facts.tenancy, tenant: this.o.engine.tenant },
      started_at: iso(facts.startedAt),
      uptime_s: Math.max(0, (this.now() - facts.startedAt) / 1000),
    };
  }

  /**
   * The routes the process serves: `core` (the server's, given) and each plugin's, from its
   * manifest, in place of the shared dispatch routes (`dispatch`: their operationId by method); a
   * disabled plugin's with `enabled: false`, an unavailable one's (no manifest) not at all.
   */
  routes(caller: Caller, core: readonly ApiRouteDto[], dispatch: ReadonlyMap<string, string>): ApiRouteListDto {
    assertDeploymentCaller(caller, this.o.engine.tenant, 'the routes of the deployment');
    const items = [...core];
    for (const plugin of this.o.plugins?.list() ?? []) {
      for (const route of plugin.routes) {
        const [method, path] = route.split(' ') as [ApiRouteDto['method'], string];
        const operationId = dispatch.get(method);
        if (operationId !== undefined) items.push({ method, path, operationId, owner: plugin.name, enabled: plugin.state === 'enabled' });
      }
    }
    items.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
    return { items };
  }

  /**
   * One pass of every sweep now, whether or not a scheduler runs (see `Engine.sweepNow`): what
   * each did is the answer and the audit entry's details.
   */
  sweep(caller: Caller): Promise<SweepDto> {
    return this.o.audit.audited(
      caller,
      'admin.sweep',
      'scheduler',
      async () => {
        assertDeploymentCaller(caller, this.o.engine.tenant, 'the scheduler’s sweeps');
        return sweepDto(await this.o.engine.sweepNow());
      },
      (report) => ({ ...report }),
    );
  }
}
