/**
 * The gateway's ledger writes, off the request path. A call's record is queued and the caller
 * goes on; the queue is written in one transaction (`Store.recordCalls`) `flushMs` after its
 * first record, or at once when `maxRows` are waiting, and always before the store is closed.
 * Records queued while a batch is being written go in the next one.
 *
 * Reads stay exact in this process: the store `withLedgerWriter` returns writes the queue before
 * every read of usage or budgets (`usage`, `spent`, `budgetState`, `stepCalls`, `listCalls`, `reserveBudget`).
 * Other processes see a record at most `flushMs` (plus one transaction) late, and a process killed
 * with SIGKILL loses the records of that window, no more (a graceful stop writes them).
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { CallRecord, LedgerBatch } from '../types.js';

export interface LedgerWriterOptions {
  logger: Logger;
  /** How long the first queued record waits for others to join its batch (default 2 ms). */
  flushMs?: number;
  /** A batch is written at once when this many records wait (default 256). */
  maxRows?: number;
}

export class LedgerWriter {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #flushMs: number;
  readonly #maxRows: number;
  #queue: LedgerBatch['records'] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  /** Asked, when a batch empties the queue, which budget leases to drop with it (`budget-leases.ts`). */
  releases: () => string[] = () => [];

  constructor(store: Store, options: LedgerWriterOptions) {
    this.#store = store;
    this.#logger = options.logger;
    this.#flushMs = options.flushMs ?? 2;
    this.#maxRows = options.maxRows ?? 256;
  }

  /** Queues a record; `unreserved`: its call held no reservation (no budget applied), nothing to settle. */
  add(record: CallRecord, unreserved = false): void {
    this.#queue.push(unreserved ? { record, unreserved } : { record });
    this.schedule();
  }

  /**
   * Queues a record and resolves once it is in the store (group commit: records queued while a
   * batch is being written share the next transaction). For the records of budgeted calls.
   */
  commit(record: CallRecord, lease?: string): Promise<void> {
    this.#queue.push(lease === undefined ? { record } : { record, lease });
    return this.flush();
  }

  /** Makes sure a batch is written soon (records are queued, or leases may be released). */
  schedule(): void {
    if (this.#flushing !== undefined) return;
    if (this.#queue.length >= this.#maxRows) {
      void this.flush();
      return;
    }
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Writes everything queued so far (and what is queued while that runs); resolves once it is in the store. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#flushing === undefined) {
      const release = this.#queue.length === 0 ? this.releases() : [];
      if (this.#queue.length === 0 && release.length === 0) return Promise.resolve();
      this.#flushing = this.#drain(release).finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.schedule();
      });
    }
    return this.#flushing;
  }

  async #drain(release: string[]): Promise<void> {
    if (release.length > 0) await this.#write({ records: [], release });
    while (this.#queue.length > 0) {
      const records = this.#queue.length <= this.#maxRows ? this.#queue : this.#queue.slice(0, this.#maxRows);
      this.#queue = this.#queue.length <= this.#maxRows ? [] : this.#queue.slice(this.#maxRows);
      // Leases are dropped with the batch that empties the queue: after every record charged to them.
      await this.#write({ records, release: this.#queue.length === 0 ? this.releases() : [] });
    }
  }

  async #write(batch: LedgerBatch): Promise<void> {
    try {
      await this.#store.recordCalls(batch);
    } catch (error) {
      // The calls happened; the store already retried transient failures. Logged like a lost single record was.
      this.#logger.error(
        { calls: batch.records.length, call_ids: batch.records.slice(0, 20).map((r) => r.record.id), err: { message: (error as Error).message } },
        'gateway could not record a batch of calls',
      );
    }
  }
}

/** Read methods that write the queue first, so a process always reads its own calls. */
const READS = ['usage', 'spent', 'budgetState', 'stepCalls', 'listCalls', 'reserveBudget', 'pruneBudgets'] as const;

/**
 * The store with the gateway's records going through `writer`: `recordCall` queues, the usage
 * and budget reads write the queue first, and `close` writes it before closing the store.
 */
export function withLedgerWriter(store: Store, writer: LedgerWriter): Store {
  const overrides = new Map<PropertyKey, unknown>();
  overrides.set('recordCall', (record: CallRecord) => {
    writer.add(record);
    return Promise.resolve();
  });
  for (const name of READS) {
    overrides.set(name, async (...args: unknown[]) => {
      await writer.flush();
      return (store[name] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
    });
  }
  overrides.set('close', async () => {
    await writer.flush();
    return store.close();
  });
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (overrides.has(prop)) return overrides.get(prop);
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn === undefined) bound.set(prop, (fn = (value as (...args: unknown[]) => unknown).bind(target)));
      return fn;
    },
  });
}
