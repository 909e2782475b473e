/** What the application services are built on: the engine, its store, and an optional event waker. */
import type { Engine } from '../engine/engine.js';
import type { Store } from '../store/store.js';
import type { PluginService } from './plugin-service.js';
import type { RunStartLimits } from './run-start.js';

/**
 * Wakes readers waiting for a run's next event as soon as this process commits one (the
 * server's `EventFeed`). Events committed by other processes are found by polling, so a
 * waker only makes waits shorter; without one, readers poll.
 */
export interface RunEventWaker {
  /** Resolves when the run gets an event after `afterSeq`, after `ms`, or when `signal` aborts. */
  wait(runId: string, ms: number, signal?: AbortSignal, afterSeq?: number): Promise<void>;
  /** A counter of the run-level events (`run.*`, any run) committed here; read before reading the store. */
  readonly runChangeVersion?: number;
  /** Resolves when a run-level event is committed here after `runChangeVersion` was `afterVersion`, after `ms`, or when `signal` aborts. */
  waitForRunChange?(ms: number, signal: AbortSignal | undefined, afterVersion: number): Promise<void>;
  /** The earliest time of the run-level events committed here after `afterVersion` (undefined: none, or unknown). */
  earliestRunChangeSince?(afterVersion: number): number | undefined;
}

export interface ServiceDeps {
  engine: Engine;
  /** The store the engine writes. */
  store: Store;
  waker?: RunEventWaker | undefined;
  /** What a run start may carry (`AGENTRY_MAX_*_BYTES`); default `DEFAULT_RUN_START_LIMITS`. */
  runLimits?: RunStartLimits | undefined;
  /** The project's plugins: a run start whose workflow uses a disabled one is refused. */
  plugins?: PluginService | undefined;
}
