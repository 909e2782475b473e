/** The store as the gateway's usage ledger: call records and budget reservations, atomic across processes. */
import type { UsageLedger } from '../gateway/ledger.js';
import type { Store } from '../store/store.js';

/** How often a process deletes expired reservations and long-unused budget counters (housekeeping: neither counts). */
const PRUNE_EVERY_MS = 3_600_000;

export function storeLedger(store: Store, now: () => number = Date.now): UsageLedger {
  let nextPrune = 0;
  return {
    record: (record) => store.recordCall(record),
    spent: (query) => store.spent(query),
    async reserve(reservation, admit) {
      const result = await store.reserveBudget(reservation, admit);
      const t = now();
      if (t >= nextPrune) {
        nextPrune = t + PRUNE_EVERY_MS;
        void store.pruneBudgets(t).catch(() => undefined);
      }
      return result;
    },
    renew: (id, expiresAt) => store.renewBudgetReservation(id, expiresAt),
  };
}
