/**
 * The fleet of worker processes, as an operator runs it: which workers there are and what they
 * hold (`agentry workers list`), a drain of one (`agentry workers drain <id>`: it claims no more
 * steps, finishes the running ones within its shutdown grace, hands back the rest and exits),
 * and the maintenance mode (`agentry maintenance on|off`: no worker claims a step while the API
 * keeps answering; runs started meanwhile queue. `on --quiesce` instead: the API refuses new runs
 * and `/readyz` of every API process answers 503, while workers finish the runs already
 * accepted). Drains and the switch are audited. These are
 * the deployment's, not a tenant's: like the credential inventory, only system admins and
 * callers of the deployment's own tenant reach them (a single-tenant deployment: every caller
 * with the scope).
 */
import { AgentryError } from '../lib/errors.js';
import type { MaintenanceRecord, Store } from '../store/store.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { maintenanceDto, workerDto, type MaintenanceDto, type WorkerDto, type WorkerListDto } from './dto/fleet.js';

/** Longest reason kept with the maintenance mode. */
export const MAX_REASON_LENGTH = 500;

export interface FleetServiceOptions {
  store: Store;
  audit: AuditService;
  /** A worker whose heartbeat is older than this is `stale` (3 × the lease TTL). */
  staleAfterMs: number;
  /** The deployment's tenant (`AGENTRY_TENANT`): its callers are the deployment's operators. */
  deploymentTenant: string;
  now?: () => number;
}

/**
 * `forbidden` for a caller of another tenant than the deployment's (`what` names what it may not
 * reach): system admins, the local user and callers of the deployment's tenant are its operators.
 */
export function assertDeploymentCaller(caller: Caller, deploymentTenant: string, what: string): void {
  if (caller.systemAdmin === true || caller.tenantId === undefined || caller.tenantId === deploymentTenant) return;
  throw new AgentryError('forbidden', `${what} are the deployment's: callers of tenant ${caller.tenantId} may not reach them (docs/operations/maintenance.md)`);
}

export class FleetService {
  private readonly now: () => number;

  constructor(private readonly o: FleetServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  private assertDeploymentCaller(caller: Caller): void {
    assertDeploymentCaller(caller, this.o.deploymentTenant, 'the worker processes and the maintenance mode');
  }

  /** Every registered worker process, oldest first, with the steps it holds now. */
  async list(caller: Caller): Promise<WorkerListDto> {
    this.assertDeploymentCaller(caller);
    return this.workers();
  }

  private async workers(): Promise<WorkerListDto> {
    const [workers, leases] = await Promise.all([this.o.store.listWorkers(), this.o.store.leaseCounts()]);
    const now = this.now();
    return { items: workers.map((w) => workerDto(w, leases.get(w.id) ?? 0, now, this.o.staleAfterMs)) };
  }

  /** One worker; `not_found` naming the registered ones when there is none by that id. */
  private async worker(id: string): Promise<WorkerDto> {
    const { items } = await this.workers();
    const found = items.find((w) => w.id === id);
    if (found) return found;
    const known = items.map((w) => w.id);
    throw new AgentryError(
      'not_found',
      `no worker '${id}' (${known.length === 0 ? 'no worker is registered' : `workers: ${known.join(', ')}`}; see agentry workers list)`,
      {
        details: { worker: id },
      },
    );
  }

  /**
   * Asks a worker to drain. From the commit on it claims nothing; at its next heartbeat (a
   * third of the lease TTL) it stops: running steps finish within its shutdown grace, the rest
   * are handed back, and the process exits 0. Draining a draining worker changes nothing.
   */
  drain(caller: Caller, id: string): Promise<WorkerDto> {
    return this.o.audit.audited(
      caller,
      'worker.drain',
      `worker:${id}`,
      async () => {
        this.assertDeploymentCaller(caller);
        if (!(await this.o.store.requestDrain(id, this.now()))) await this.worker(id);
        return this.worker(id);
      },
      (w) => ({ host: w.host, pid: w.pid, current_steps: w.current_steps }),
    );
  }

  async maintenance(caller: Caller): Promise<MaintenanceDto> {
    this.assertDeploymentCaller(caller);
    return maintenanceDto(await this.o.store.getMaintenance());
  }

  /**
   * Turns maintenance mode on (on already: the reason and the mode change). `quiesce`: the API
   * refuses new runs while workers finish the accepted ones, rather than workers claiming nothing.
   */
  startMaintenance(caller: Caller, reason?: string, quiesce = false): Promise<MaintenanceDto> {
    const text = reason?.trim() === '' ? undefined : reason?.trim();
    return this.o.audit.audited(
      caller,
      'maintenance.on',
      'maintenance',
      async () => {
        this.assertDeploymentCaller(caller);
        if (text !== undefined && text.length > MAX_REASON_LENGTH)
          throw new AgentryError('invalid_request', `the reason is ${text.length} characters long; at most ${MAX_REASON_LENGTH}`);
        return maintenanceDto(await this.o.store.startMaintenance({ reason: text ?? null, quiesce, startedAt: this.now(), startedBy: caller.name }));
      },
      (m) => ({ reason: m.reason, quiesce: m.quiesce }),
    );
  }

  /** Turns maintenance mode off (off already: changes nothing); workers claim again at their next poll. */
  endMaintenance(caller: Caller): Promise<MaintenanceDto> {
    let ended: MaintenanceRecord | null = null;
    return this.o.audit.audited(
      caller,
      'maintenance.off',
      'maintenance',
      async () => {
        this.assertDeploymentCaller(caller);
        ended = await this.o.store.endMaintenance();
        return maintenanceDto(null);
      },
      () =>
        ended === null
          ? { was_on: false }
          : { was_on: true, quiesce: ended.quiesce, since: new Date(ended.startedAt).toISOString(), by: ended.startedBy, reason: ended.reason },
    );
  }
}
