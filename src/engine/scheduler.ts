/**
 * The scheduler's periodic sweeps: leases that lapsed (a worker died or hung) and runs
 * past their deadline. Safe to run in several processes at once: each fix is a guarded
 * transition that applies once.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { RunTransitions } from './run-transitions.js';

export interface SchedulerOptions {
  store: Store;
  transitions: RunTransitions;
  logger: Logger;
  intervalMs: number;
  now: () => number;
  /** Workers whose heartbeat is older than this are forgotten. */
  workerTtlMs: number;
}

const BATCH = 100;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly outage: OutageLog;

  constructor(private readonly o: SchedulerOptions) {
    this.outage = new OutageLog(o.logger, 'scheduler sweep');
  }

  start(): void {
    const tick = () => {
      // While the database is down each tick fails; the outage is logged once, and the
      // sweeps resume on their own when it is back.
      this.sweeping = this.sweep()
        .then(
          () => this.outage.ok(),
          (error: unknown) => this.outage.failed(error),
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** One pass over lapsed leases and overdue runs. */
  async sweep(): Promise<{ expired: number; timedOut: number }> {
    const { store, transitions, now } = this.o;
    await this.forgetDeadWorkers();
    let expired = 0;
    for (const lease of await store.expiredLeases(now(), BATCH)) {
      if (await transitions.expireLease(lease)) {
        expired++;
        this.o.logger.warn({ run_id: lease.runId, step_id: lease.stepId, worker: lease.leaseOwner }, 'lease expired');
      }
    }
    let timedOut = 0;
    for (const runId of await store.overdueRuns(now(), BATCH)) {
      if (await transitions.timeout(runId)) {
        timedOut++;
        this.o.logger.warn({ run_id: runId }, 'run timed out');
      }
    }
    return { expired, timedOut };
  }

  /**
   * A worker on this host whose process is gone cannot renew its leases: expire them now
   * instead of waiting out the lease TTL. Workers silent for longer than the TTL are removed.
   */
  private async forgetDeadWorkers(): Promise<void> {
    const { store, now } = this.o;
    const host = hostname();
    for (const worker of await store.listWorkers()) {
      const deadHere = worker.host === host && worker.pid !== process.pid && !processAlive(worker.pid);
      if (deadHere) {
        const leases = await store.leasesOf(worker.id);
        for (const key of leases) await this.o.transitions.expireLease(key, true);
        this.o.logger.warn({ worker: worker.id, pid: worker.pid, leases: leases.length }, 'worker process gone; its leases were released');
      }
      // A silent worker elsewhere: forget it; its leases lapse on their own.
      if (deadHere || worker.heartbeatAt < now() - this.o.workerTtlMs) await store.removeWorker(worker.id);
    }
  }
}
