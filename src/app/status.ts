/**
 * The deployment at a glance (`GET /v1/admin/status`, `agentry status`): the answering process
 * (version, roles, store), the readiness checks of its roles, the worker processes, and the
 * queue (due steps, runs and steps by status) — what an operator looks at first in an incident,
 * in one answer. Deployment-wide, like the fleet: only system admins and callers of the
 * deployment's tenant reach it. The CLI without a server asks the same of the project's store
 * with no roles (then the checks are the database's and the migrations').
 */
import type { Store } from '../store/store.js';
import type { AdminService, ProcessFacts } from './admin.js';
import type { Caller } from './caller.js';
import { iso } from './dto/common.js';
import type { StatusDto } from './dto/status.js';
import type { FleetService } from './fleet.js';
import { CHECK_NAMES, type ReadinessRole, type ReadinessService } from './readiness.js';

export interface StatusServiceOptions {
  store: Store;
  admin: AdminService;
  fleet: FleetService;
  readiness: ReadinessService;
  now?: () => number;
}

export class StatusService {
  private readonly now: () => number;

  constructor(private readonly o: StatusServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** `facts.roles` names the process; `readinessRoles` the checks to run (those of `/readyz`). */
  async status(caller: Caller, facts: ProcessFacts, readinessRoles: ReadonlySet<ReadinessRole>): Promise<StatusDto> {
    // The info and fleet reads check the caller is the deployment's before anything else is read.
    const info = await this.o.admin.info(caller, facts);
    const [workers, readiness, queue, counts] = await Promise.all([
      this.o.fleet.list(caller),
      this.o.readiness.check(readinessRoles),
      this.o.store.queueStats(this.now()),
      this.o.store.statusCounts(),
    ]);
    return {
      process: info,
      ready: readiness.ready,
      checks: CHECK_NAMES.flatMap((name) => {
        const check = readiness.checks[name];
        return check === undefined ? [] : [{ name, status: check.status, detail: check.detail }];
      }),
      maintenance: readiness.maintenance ?? null,
      workers: workers.items,
      queue: { due_steps: queue.depth, oldest_due_at: iso(queue.oldestDueAt), runs: counts.runs, steps: counts.steps },
    };
  }
}
