/**
 * The gateway's usage ledger over the store, with budgets checked against leases held in
 * memory. A lease is one budget reservation in the store (a check-and-reserve like any other,
 * atomic across processes) that a process takes for a set of budget scopes and then admits calls
 * against in memory, each holding its worst case in the lease while it runs and what it used once
 * recorded. When a lease has no room left for a call the process takes another, twice as big as
 * the one before while calls keep coming (1, 2, 4 … 64 worst cases; the first is exactly one
 * call's worst case), falling back to exactly the call's worst case when a bigger slice does not
 * fit; a call that does not fit even so is refused as before.
 *
 * The store sees a lease as a reservation, so every process's checks count it: processes together
 * never spend more than a budget (beyond what calls use over their estimated worst case, as
 * without leases). What it costs: a call may be refused while part of the budget sits unused in a
 * lease another process holds. A lease is dropped with the ledger batch that follows the moment it
 * has no call in flight (`ledger-writer.ts`), so idle leases hold nothing for longer than a batch
 * takes; and its records take what they used off it in the same transaction that counts them.
 */
import { newId } from '../lib/ids.js';
import type { UsageLedger } from '../gateway/ledger.js';
import type { Store } from '../store/store.js';
import type { BudgetReservation, BudgetState, CallRecord, Spend } from '../types.js';
import type { LedgerWriter } from './ledger-writer.js';

/** How often a process deletes expired reservations and long-unused budget counters (housekeeping: neither counts). */
const PRUNE_EVERY_MS = 3_600_000;
/** The biggest lease, in worst cases of the call that takes it. */
const MAX_SLICE = 64;

interface Lease {
  id: string;
  /** The scopes it was taken for (JSON of the reservation's scopes). */
  key: string;
  capacity: Spend;
  /** Worst cases of the calls in flight on it, then what they used once recorded. */
  held: Spend;
  calls: number;
  expiresAt: number;
  /** No new call goes on it (it ran out of room); dropped once its calls are recorded. */
  retired: boolean;
  states: BudgetState[];
}

const fits = (room: Spend, amount: Spend) => room.tokens >= amount.tokens && room.costUsd >= amount.costUsd - 1e-12;
const plus = (a: Spend, b: Spend): Spend => ({ tokens: a.tokens + b.tokens, costUsd: a.costUsd + b.costUsd });
const minus = (a: Spend, b: Spend): Spend => ({ tokens: a.tokens - b.tokens, costUsd: a.costUsd - b.costUsd });
const times = (a: Spend, n: number): Spend => ({ tokens: a.tokens * n, costUsd: a.costUsd * n });

export class LeasingLedger implements UsageLedger {
  readonly #store: Store;
  readonly #writer: LedgerWriter;
  readonly #now: () => number;
  /** The lease new calls of a scope set go on. */
  readonly #open = new Map<string, Lease>();
  /** Every lease held, by id. */
  readonly #leases = new Map<string, Lease>();
  /** Calls in flight: their lease and worst case. */
  readonly #calls = new Map<string, { lease: Lease; amount: Spend }>();
  /** Calls refused by a budget, until their record is written. */
  readonly #refused = new Set<string>();
  /** The size of the next lease of a scope set, in worst cases. */
  readonly #slice = new Map<string, number>();
  #nextPrune = 0;

  constructor(store: Store, writer: LedgerWriter, now: () => number = Date.now) {
    this.#store = store;
    this.#writer = writer;
    this.#now = now;
    writer.releases = () => this.#idle();
  }

  /**
   * Calls no budget applies to are written behind (the caller goes on at once); a budgeted call,
   * admitted or refused, returns once its record is in the store with its lease settled (and, when
   * the lease has no other call in flight, dropped): what a budget shows is exact when a call returns.
   */
  record(record: CallRecord): Promise<void> {
    const call = this.#calls.get(record.id);
    if (call === undefined) {
      if (this.#refused.delete(record.id)) return this.#writer.commit(record);
      // Every reservation of this process is a lease: a call on none held nothing to settle.
      this.#writer.add(record, true);
      return Promise.resolve();
    }
    this.#calls.delete(record.id);
    const { lease, amount } = call;
    lease.calls--;
    lease.held = plus(minus(lease.held, amount), { tokens: record.inputTokens + record.outputTokens, costUsd: record.costUsd });
    return this.#writer.commit(record, lease.id);
  }

  spent(query: Parameters<Store['spent']>[0]): Promise<Spend> {
    return this.#store.spent(query);
  }

  async reserve(reservation: BudgetReservation, admit: (states: BudgetState[]) => boolean): Promise<{ admitted: boolean; states: BudgetState[] }> {
    const key = JSON.stringify(reservation.scopes);
    const open = this.#open.get(key);
    if (open !== undefined && !open.retired && fits(minus(open.capacity, open.held), reservation.amount)) {
      // The call's own budgets are checked too, against what the database showed when the lease was
      // taken plus what the lease holds now (calls of one scope set may carry different run budgets).
      if (admit(open.states.map((s) => ({ spent: s.spent, reserved: plus(s.reserved, open.held) })))) {
        if (open.expiresAt < reservation.expiresAt) this.#extend(open, reservation);
        return { admitted: true, states: this.#hold(open, reservation) };
      }
      // Refused on that snapshot: the database decides, for this call's worst case alone; the lease stays open.
      const alone = await this.#take(key, reservation, 1, admit, false);
      if (!alone.admitted) this.#refused.add(reservation.id);
      return alone;
    }
    if (open !== undefined) {
      open.retired = true;
      this.#open.delete(key);
    }
    // A scope set whose lease ran out before it went idle gets a bigger slice; one whose lease went idle (and was dropped) starts again at one call.
    const slice = open !== undefined ? Math.min(MAX_SLICE, (this.#slice.get(key) ?? 1) * 2) : 1;
    this.#slice.set(key, slice);
    let result = slice > 1 ? await this.#take(key, reservation, slice, admit, true) : undefined;
    if (result === undefined || !result.admitted) {
      this.#slice.set(key, 1);
      result = await this.#take(key, reservation, 1, admit, true);
    }
    if (!result.admitted) this.#refused.add(reservation.id);
    this.#prune();
    return result;
  }

  renew(id: string, expiresAt: number): Promise<boolean> {
    const call = this.#calls.get(id);
    if (call === undefined) return this.#store.renewBudgetReservation(id, expiresAt);
    if (call.lease.expiresAt >= expiresAt) return Promise.resolve(true);
    call.lease.expiresAt = expiresAt;
    return this.#store.renewBudgetReservation(call.lease.id, expiresAt);
  }

  /** Takes a lease of `slice` worst cases for the scopes, and the call on it when admitted; `open`: later calls of the scopes go on it. */
  async #take(
    key: string,
    reservation: BudgetReservation,
    slice: number,
    admit: (states: BudgetState[]) => boolean,
    open: boolean,
  ): Promise<{ admitted: boolean; states: BudgetState[] }> {
    const capacity = times(reservation.amount, slice);
    const extra = times(reservation.amount, slice - 1);
    const id = newId('lease', reservation.at);
    // The budget check sees the slice beyond this call as reserved by others: it admits the lease only if all of it fits.
    const { admitted, states } = await this.#store.reserveBudget({ ...reservation, id, amount: capacity }, (seen) =>
      admit(seen.map((s) => ({ spent: s.spent, reserved: plus(s.reserved, extra) }))),
    );
    if (!admitted) return { admitted, states };
    const lease: Lease = { id, key, capacity, held: { tokens: 0, costUsd: 0 }, calls: 0, expiresAt: reservation.expiresAt, retired: false, states };
    this.#leases.set(id, lease);
    if (open) this.#open.set(key, lease);
    return { admitted: true, states: this.#hold(lease, reservation) };
  }

  /** Keeps a lease alive as long as its newest call may run (and as long again), so it is renewed about once per call timeout. */
  #extend(lease: Lease, reservation: BudgetReservation): void {
    lease.expiresAt = reservation.expiresAt + (reservation.expiresAt - reservation.at);
    this.#store.renewBudgetReservation(lease.id, lease.expiresAt).then(
      (alive) => {
        // Gone (it expired in the store while the process stalled): no new call goes on it.
        if (!alive) lease.retired = true;
      },
      () => undefined,
    );
  }

  #hold(lease: Lease, reservation: BudgetReservation): BudgetState[] {
    lease.calls++;
    lease.held = plus(lease.held, reservation.amount);
    this.#calls.set(reservation.id, { lease, amount: reservation.amount });
    return lease.states;
  }

  /** The leases with no call in flight, which the next ledger batch drops (no longer used from here on). */
  #idle(): string[] {
    const out: string[] = [];
    for (const lease of this.#leases.values()) {
      if (lease.calls > 0) continue;
      out.push(lease.id);
      this.#leases.delete(lease.id);
      if (this.#open.get(lease.key) === lease) {
        this.#open.delete(lease.key);
        this.#slice.delete(lease.key);
      }
    }
    return out;
  }

  #prune(): void {
    const t = this.#now();
    if (t < this.#nextPrune) return;
    this.#nextPrune = t + PRUNE_EVERY_MS;
    void this.#store.pruneBudgets(t).catch(() => undefined);
  }
}
