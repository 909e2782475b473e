/**
 * Who an engine tells what it did: the listeners of its committed transactions' events (after
 * the run log, `run-log.ts`) and of the runs it refused for a tenant's quota. The transaction
 * has committed by then, so a listener that throws is logged and never fails its caller.
 */
import type { Logger } from 'pino';
import type { CommittedEvent } from './context.js';
import type { QuotaRefusal } from './run-transitions-types.js';
import { logCommitted } from './run-log.js';

/** Called with the events of each committed transaction of this engine, in order, each once. */
export type CommittedListener = (events: readonly CommittedEvent[]) => void;

export class EngineListeners {
  private readonly committedListeners = new Set<CommittedListener>();
  private readonly quotaListeners = new Set<(refusal: QuotaRefusal) => void>();

  /** `logRuns`: log each run's story from the committed events first (`EngineOptions.logRuns`). */
  constructor(
    private readonly logger: Logger,
    private readonly logRuns: boolean,
  ) {}

  /** Adds a listener of committed events; returns the unsubscribe function. */
  onCommitted(listener: CommittedListener): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  /** Adds a listener of quota refusals; returns the unsubscribe function. */
  onQuotaExceeded(listener: (refusal: QuotaRefusal) => void): () => void {
    this.quotaListeners.add(listener);
    return () => this.quotaListeners.delete(listener);
  }

  /** Logs the run story of a committed transaction's events, then tells each listener. */
  committed(events: readonly CommittedEvent[]): void {
    if (this.logRuns) {
      try {
        logCommitted(this.logger, events);
      } catch {
        // The transaction committed: a log line that could not be written must not fail its caller.
      }
    }
    for (const listener of this.committedListeners) {
      try {
        listener(events);
      } catch (error) {
        // The transaction committed: a listener's failure must not fail its caller.
        this.logger.warn({ err: error }, 'a committed-event listener failed');
      }
    }
  }

  quotaExceeded(refusal: QuotaRefusal): void {
    for (const listener of this.quotaListeners) {
      try {
        listener(refusal);
      } catch (error) {
        this.logger.warn({ err: error }, 'a quota listener failed');
      }
    }
  }
}
