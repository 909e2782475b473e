/**
 * This process's heartbeat: its row in the store's `workers` table (host, pid, roles,
 * concurrency), written when the engine starts and every third of the lease TTL after. Readiness and the
 * metrics count the workers whose heartbeat is recent, the scheduler forgets those that went
 * silent, and readiness asks when this process's last one reached the store. A store outage
 * is logged once, and its end.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { EngineRole } from './engine-options.js';

export interface HeartbeatOptions {
  store: Store;
  logger: Logger;
  workerId: string;
  concurrency: number;
  leaseTtlMs: number;
  now: () => number;
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
    await this.o.store
      .upsertWorker({
        id: this.o.workerId,
        host: hostname(),
        pid: process.pid,
        roles: [...this.roles],
        concurrency: this.o.concurrency,
        startedAt: this.startedAt,
        heartbeatAt: beatAt,
      })
      .then(
        () => {
          this.lastBeatAt = beatAt;
          this.outage.ok();
        },
        (error: unknown) => this.outage.failed(error),
      );
  }
}
