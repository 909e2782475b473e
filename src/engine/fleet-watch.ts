/**
 * What an engine does with what its heartbeat reads back from the store (`heartbeat.ts`):
 * a drain an operator requested of this process (`agentry workers drain`) stops the engine —
 * the claim loop already claims nothing from the request's commit on, running steps get the
 * shutdown grace to finish and the rest are handed back (`release.ts`) — and then tells the
 * process, which exits; the maintenance mode (`agentry maintenance on|off`) is logged when it
 * turns on or off, and remembered for readiness.
 */
import type { Logger } from 'pino';
import type { MaintenanceRecord } from '../store/store.js';
import type { FleetState } from './heartbeat.js';

export interface FleetWatchOptions {
  logger: Logger;
  workerId: string;
  shutdownGraceMs: number;
  /** Stops the engine (claims, sweeps, heartbeat; running steps within the grace). */
  stop: () => Promise<void>;
  /** Attempts running now, for the log line. */
  running: () => number;
}

export class FleetWatch {
  /** Set once a beat found a drain requested: the stop it started. */
  private drain: Promise<void> | undefined;
  private readonly drainedListeners = new Set<() => void>();
  private maintenanceSeen: MaintenanceRecord | null | undefined;

  constructor(private readonly o: FleetWatchOptions) {}

  get draining(): boolean {
    return this.drain !== undefined;
  }

  get maintenance(): MaintenanceRecord | null | undefined {
    return this.maintenanceSeen;
  }

  onDrained(listener: () => void): () => void {
    this.drainedListeners.add(listener);
    return () => this.drainedListeners.delete(listener);
  }

  /** What a heartbeat of the running engine read back. */
  heard(state: FleetState): void {
    if (state.maintenance !== undefined) this.maintenanceChanged(state.maintenance);
    if (state.drainRequestedAt !== null && this.drain === undefined) this.startDrain();
  }

  private maintenanceChanged(now: MaintenanceRecord | null): void {
    const before = this.maintenanceSeen;
    this.maintenanceSeen = now;
    const { logger, workerId } = this.o;
    if (now !== null && (before === undefined || before === null || before.quiesce !== now.quiesce)) {
      logger.warn(
        {
          event: 'maintenance.on',
          worker: workerId,
          quiesce: now.quiesce,
          reason: now.reason,
          since: new Date(now.startedAt).toISOString(),
          by: now.startedBy,
        },
        now.quiesce
          ? 'maintenance mode on (quiesce): the API refuses new runs; this worker keeps claiming steps so the accepted runs finish'
          : 'maintenance mode on: this worker claims no step until it is turned off (agentry maintenance off)',
      );
    } else if (now === null && before !== undefined && before !== null) {
      logger.info({ event: 'maintenance.off', worker: workerId }, 'maintenance mode off: claiming steps again');
    }
  }

  private startDrain(): void {
    const { logger, workerId } = this.o;
    logger.warn(
      { event: 'worker.drain', worker: workerId, running: this.o.running(), graceMs: this.o.shutdownGraceMs },
      'drain requested: claiming no more steps; the running ones may finish within the shutdown grace (the rest are handed back), then this engine stops',
    );
    this.drain = this.o.stop().then(
      () => this.drained(),
      (error: unknown) => {
        logger.error({ err: error, worker: workerId }, 'stopping for a drain failed');
        this.drained();
      },
    );
  }

  private drained(): void {
    this.o.logger.info({ event: 'worker.drained', worker: this.o.workerId }, 'drained: the engine has stopped');
    for (const listener of this.drainedListeners) {
      try {
        listener();
      } catch (error) {
        this.o.logger.warn({ err: error }, 'a drain listener failed');
      }
    }
  }
}
