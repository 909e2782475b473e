/**
 * The deployment's administration: which build, which database at which schema, and which roles
 * the answering process runs (`GET /v1/admin/info`, `agentry admin info`), and one pass of the
 * scheduler's sweeps forced now (`POST /v1/admin/sweep`, `agentry admin sweep --now`; audited
 * `admin.sweep`). Like the fleet, these are the deployment's: only system admins and callers of
 * the deployment's own tenant reach them.
 */
import type { Engine } from '../engine/engine.js';
import { VERSION } from '../lib/version.js';
import type { Store } from '../store/store.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { sweepDto, type AdminInfoDto, type SweepDto } from './dto/admin.js';
import { iso } from './dto/common.js';
import { assertDeploymentCaller } from './fleet.js';
import { storeInfo } from './migrations.js';

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
