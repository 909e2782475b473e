/**
 * The usage ledger: where the gateway records every attempt and holds budget reservations.
 * A process backs it with the store (`app/budget-leases.ts`, records written in batches by
 * `app/ledger-writer.ts`), which makes check-and-reserve atomic across processes; `InMemoryUsageLedger` is the same contract in one process, for tests
 * and embedding.
 */
import { utcDay, utcMonth } from '../lib/time.js';
import type { BudgetReservation, BudgetState, CallRecord, Spend, SpendQuery } from '../types.js';

export interface UsageLedger {
  /**
   * Records one attempt and, in the same step, settles its budget reservation (the one whose id
   * is the record's id): from then on the attempt counts with what it used, not its worst case.
   */
  record(record: CallRecord): Promise<void>;
  /** Tokens (input + output) and cost of every record in the scope. */
  spent(query: SpendQuery): Promise<Spend>;
  /**
   * Check-and-reserve as one atomic step: reads every scope's state (records + live
   * reservations), and when `admit` accepts the states, reserves `reservation.amount` on every
   * scope until `reservation.expiresAt`. `admit` may be called more than once; it must be pure.
   */
  reserve(reservation: BudgetReservation, admit: (states: BudgetState[]) => boolean): Promise<{ admitted: boolean; states: BudgetState[] }>;
  /** Extends a live reservation (an attempt still running); false when it is gone. */
  renew(id: string, expiresAt: number): Promise<boolean>;
}

const ZERO: Spend = { tokens: 0, costUsd: 0 };

function inScope(r: CallRecord, q: SpendQuery): boolean {
  if (q.scope === 'run') return r.runId === q.runId;
  if (r.tenantId !== q.tenantId || (q.scope === 'workflow' && r.workflow !== q.workflow)) return false;
  return q.day !== undefined ? utcDay(r.at) === q.day : utcMonth(r.at) === q.month;
}

function keyOf(q: SpendQuery): string {
  if (q.scope === 'run') return JSON.stringify(['run', q.runId]);
  return JSON.stringify([q.scope, q.tenantId, q.scope === 'workflow' ? q.workflow : null, q.day ?? null, q.month ?? null]);
}

function add(a: Spend, b: Spend): Spend {
  return { tokens: a.tokens + b.tokens, costUsd: a.costUsd + b.costUsd };
}

/** A ledger in memory, for tests and single-process embedding. */
export class InMemoryUsageLedger implements UsageLedger {
  readonly records: CallRecord[] = [];
  /** Live reservations by attempt id. */
  readonly reservations = new Map<string, { keys: string[]; amount: Spend; expiresAt: number }>();

  record(record: CallRecord): Promise<void> {
    if (!this.records.some((r) => r.id === record.id)) this.records.push({ ...record });
    this.reservations.delete(record.id);
    return Promise.resolve();
  }

  spent(query: SpendQuery): Promise<Spend> {
    return Promise.resolve(this.#spent(query));
  }

  reserve(reservation: BudgetReservation, admit: (states: BudgetState[]) => boolean): Promise<{ admitted: boolean; states: BudgetState[] }> {
    // Nothing here awaits: concurrent calls of this process see each other's reservations.
    for (const [id, held] of this.reservations) if (held.expiresAt <= reservation.at) this.reservations.delete(id);
    const keys = reservation.scopes.map(keyOf);
    const states = reservation.scopes.map((query, i) => {
      let reserved = ZERO;
      for (const held of this.reservations.values()) if (held.keys.includes(keys[i]!)) reserved = add(reserved, held.amount);
      return { spent: this.#spent(query), reserved };
    });
    const admitted = admit(states);
    if (admitted) this.reservations.set(reservation.id, { keys, amount: reservation.amount, expiresAt: reservation.expiresAt });
    return Promise.resolve({ admitted, states });
  }

  renew(id: string, expiresAt: number): Promise<boolean> {
    const held = this.reservations.get(id);
    if (held) held.expiresAt = expiresAt;
    return Promise.resolve(held !== undefined);
  }

  #spent(query: SpendQuery): Spend {
    let spent = ZERO;
    for (const r of this.records) if (inScope(r, query)) spent = add(spent, { tokens: r.inputTokens + r.outputTokens, costUsd: r.costUsd });
    return spent;
  }
}
