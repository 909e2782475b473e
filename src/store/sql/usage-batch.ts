/**
 * Many call records in one transaction (the gateway's batched ledger writer): the keys of every
 * record are locked first, all together and in key order (so two processes flushing batches
 * never wait on each other in a cycle), then each record is added as `recordCall` adds one.
 * A record admitted against a budget lease takes what it used off the lease's rows, so a check
 * sees what it used either in the lease or in the counters, never both and never neither; a
 * record without a lease settles its own reservation. Released leases are dropped last.
 */
import { sql } from 'kysely';
import type { LedgerBatch } from '../../types.js';
import { insertCall, lockKeys, recordScopes, scopeKey } from './budgets.js';
import type { Db, SqlDialect } from './dialect.js';

export async function recordCalls(trx: Db, dialect: SqlDialect, batch: LedgerBatch, now: number): Promise<void> {
  const keyed = batch.records.map((item) => ({ ...item, keys: recordScopes(item.record).map(scopeKey) }));
  await lockKeys(
    trx,
    dialect,
    keyed.flatMap((item) => item.keys),
  );
  for (const { record, lease, unreserved, keys } of keyed) {
    const inserted = await insertCall(trx, record, keys, now);
    if (unreserved === true) continue;
    if (lease === undefined) {
      await sql`DELETE FROM budget_reservations WHERE id = ${record.id}`.execute(trx);
    } else if (inserted) {
      const tokens = record.inputTokens + record.outputTokens;
      await sql`UPDATE budget_reservations
        SET tokens = CASE WHEN tokens > ${tokens} THEN tokens - ${tokens} ELSE 0 END,
          cost_usd = CASE WHEN cost_usd > ${record.costUsd} THEN cost_usd - ${record.costUsd} ELSE 0 END
        WHERE id = ${lease}`.execute(trx);
    }
  }
  if (batch.release.length > 0) await sql`DELETE FROM budget_reservations WHERE id IN (${sql.join(batch.release)})`.execute(trx);
}
