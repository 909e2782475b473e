/**
 * This process's heartbeat: its row in the store's `workers` table (host, pid, roles,
 * concurrency), written when the engine starts and every third of the lease TTL after. Readiness and the
 * metrics count the workers whose heartbeat is recent, the scheduler forgets those that went
 * silent, and readiness asks when this process's last one reached the store. A store outage
 * is logged once, and its end.
 *
 * Each beat also reads back what operators asked of the fleet: a drain of this process
 * (`agentry workers drain`) and, for a worker pool, the maintenance mode (`agentry maintenance`).
 * The claim loop's own queries already honour both (`store/sql/queue.ts`); the engine acts on
 * what a beat learns — it stops when drained, and logs maintenance turning on and off.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { MaintenanceRecord, Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { EngineRole } from './engine-options.js';

export interface HeartbeatOptions {
  store: Store;
  logger: Logger;
  workerId: string;
  concurrency: number;
  leaseTtlMs: number;
  now: () => number;
  /** Told what each beat that reached the store learnt. Must not throw. */
  onBeat?: (state: FleetState) => void;
}

/** What a heartbeat reads back from the store. */
export interface FleetState {
  /** When an operator asked this process to drain; null: not asked. */
  drainRequestedAt: number | null;
  /** The maintenance mode in force (null: off); undefined in a process without a worker pool (not read). */
  maintenance: MaintenanceRecord | null | undefined;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private roles: readonly EngineRole[] = [];
  private lastBeatAt: number | undefined;
  private readonly startedAt: number;
  private readonly outage: OutageLog;

  constructor(private readonly o: HeartbeatOptions) {
    this.startedAt = o.now();
    this.outage = new OutageLog(o.logger, 'worker heartbeat');
  }

  /** When a heartbeat last reached the store; undefined before the first. */
  get lastAt(): number | undefined {
    return this.lastBeatAt;
  }

  /** Beats once (resolves when that beat is written or has failed), then keeps beating until `stop()`. */
  async start(roles: readonly EngineRole[]): Promise<void> {
    this.roles = roles;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.o.leaseTtlMs / 3)));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    const beatAt = this.o.now();
    const { store } = this.o;
    try {
      const drainRequestedAt = await store.upsertWorker({
        id: this.o.workerId,
        host: hostname(),
        pid: process.pid,
        roles: [...this.roles],
        concurrency: this.o.concurrency,
        startedAt: this.startedAt,
        heartbeatAt: beatAt,
      });
      this.lastBeatAt = beatAt;
      const maintenance = this.roles.includes('worker') ? await store.getMaintenance() : undefined;
      this.outage.ok();
      this.o.onBeat?.({ drainRequestedAt, maintenance });
    } catch (error) {
      this.outage.failed(error);
    }
  }
}
