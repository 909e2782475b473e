/**
 * Events committed by this process, as they happen, for the server's event streams: they wake
 * at once (instead of at the next poll). Fed by the engine's committed-transition hook (`feed.attach(engine)`), which
 * reports each committed transaction's events once, never a rolled-back attempt's. Events
 * written by other processes are still found by polling.
 */
import type { CommittedEvent, Engine } from '../engine/engine.js';

export type { CommittedEvent } from '../engine/engine.js';

const MAX_TRACKED_RUNS = 10_000;
/** Run-level commits whose earliest event time is kept (`earliestRunChangeSince`). */
const MAX_TRACKED_RUN_CHANGES = 1_000;

export class EventFeed {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Waiters for any run-level event (`run.*`): the tenant-wide run stream. */
  private readonly runChangeWaiters = new Set<() => void>();
  /** How many transactions with a run-level event this feed has published. */
  private runChanges = 0;
  /** The earliest run-level event time of each of the latest run-level commits, by `runChanges` after it. */
  private readonly runChangeTimes: { version: number; at: number }[] = [];
  /** Highest event seq published per run (bounded: the oldest runs are forgotten first). */
  private readonly latest = new Map<string, number>();

  /** Publishes the events of every transaction `engine` commits; returns the function that stops it. */
  attach(engine: Pick<Engine, 'onCommitted'>): () => void {
    return engine.onCommitted((events) => this.publish(events));
  }

  /** Resolves when the run gets a new event here, after `ms`, or when `signal` aborts. */
  wait(runId: string, ms: number, signal?: AbortSignal, afterSeq?: number): Promise<void> {
    // An event published between the caller's read and this wait must not be slept through.
    if (afterSeq !== undefined && (this.latest.get(runId) ?? 0) > afterSeq) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(runId);
      if (!set) this.waiters.set(runId, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const current = this.waiters.get(runId);
        current?.delete(done);
        if (current?.size === 0) this.waiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** What `waitForRunChange` compares with: read it before reading the store. */
  get runChangeVersion(): number {
    return this.runChanges;
  }

  /**
   * Resolves when this process commits a run-level event (`run.*`, of any run) after
   * `runChangeVersion` was `afterVersion`, after `ms`, or when `signal` aborts.
   */
  waitForRunChange(ms: number, signal: AbortSignal | undefined, afterVersion: number): Promise<void> {
    if (this.runChanges > afterVersion) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.runChangeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.runChangeWaiters.add(done);
    });
  }

  /**
   * The earliest time of the run-level events committed here after `runChangeVersion` was
   * `afterVersion` (undefined: none, or too many since to tell): a transaction's events carry the
   * time they were made, before its COMMIT, so a reader of the time index that looked in between
   * goes back to it.
   */
  earliestRunChangeSince(afterVersion: number): number | undefined {
    const since = this.runChangeTimes.filter((c) => c.version > afterVersion);
    if (since.length === 0 || since.length < this.runChanges - afterVersion) return undefined;
    return Math.min(...since.map((c) => c.at));
  }

  publish(events: readonly CommittedEvent[]): void {
    if (events.length === 0) return;
    for (const { event } of events) {
      if (event.seq > (this.latest.get(event.runId) ?? 0)) {
        this.latest.delete(event.runId);
        this.latest.set(event.runId, event.seq);
      }
    }
    while (this.latest.size > MAX_TRACKED_RUNS) this.latest.delete(this.latest.keys().next().value!);
    for (const runId of new Set(events.map((e) => e.event.runId))) {
      for (const wake of [...(this.waiters.get(runId) ?? [])]) wake();
    }
    const runLevel = events.filter((e) => e.event.type.startsWith('run.'));
    if (runLevel.length > 0) {
      this.runChanges++;
      this.runChangeTimes.push({ version: this.runChanges, at: Math.min(...runLevel.map((e) => e.event.at)) });
      if (this.runChangeTimes.length > MAX_TRACKED_RUN_CHANGES) this.runChangeTimes.shift();
      for (const wake of [...this.runChangeWaiters]) wake();
    }
  }
}
