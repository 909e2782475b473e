/**
 * Events committed by this process, as they happen. `wrap(store)` returns the same store
 * whose run transactions also report the events they appended once they commit; the server
 * uses it to wake event streams at once (instead of at the next poll) and to count runs and
 * steps for `/metrics`. Events written by other processes are still found by polling.
 */
import type { RunTx, Store } from '../store/store.js';
import type { EventRecord, RunRecord } from '../types.js';

export interface CommittedEvent {
  event: EventRecord;
  run: RunRecord;
}

const MAX_TRACKED_RUNS = 10_000;

export type FeedListener = (events: readonly CommittedEvent[]) => void;

export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Highest event seq published per run (bounded: the oldest runs are forgotten first). */
  private readonly latest = new Map<string, number>();

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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

  publish(events: readonly CommittedEvent[]): void {
    if (events.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // A listener's failure (a metric) must never fail the transaction's caller.
      }
    }
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
  }

  /** The store, reporting the events of each committed run transaction to this feed. */
  wrap(store: Store): Store {
    const record = (tx: RunTx, sink: CommittedEvent[]): RunTx =>
      new Proxy(tx, {
        get(target, prop, receiver) {
          if (prop === 'appendEvent') {
            return async (...args: Parameters<RunTx['appendEvent']>) => {
              const event = await target.appendEvent(...args);
              sink.push({ event, run: target.run });
              return event;
            };
          }
          if (prop === 'createRun' || prop === 'lockRun') {
            // Another run changed in the same transaction (a child started or cancelled): its events count too.
            const open = (target[prop] as (...a: unknown[]) => Promise<RunTx | undefined>).bind(target);
            return async (...args: unknown[]) => {
              const other = await open(...args);
              return other && record(other, sink);
            };
          }
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        if (prop === 'createRun') {
          const createRun: Store['createRun'] = async (run, steps, fn, idempotency) => {
            const sink: CommittedEvent[] = [];
            const result = await target.createRun(run, steps, (tx) => fn(record(tx, sink)), idempotency);
            this.publish(sink);
            return result;
          };
          return createRun;
        }
        if (prop === 'withRun') {
          const withRun: Store['withRun'] = async (runId, fn, options) => {
            const sink: CommittedEvent[] = [];
            const result = await target.withRun(runId, (tx) => fn(record(tx, sink)), options);
            this.publish(sink);
            return result;
          };
          return withRun;
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
