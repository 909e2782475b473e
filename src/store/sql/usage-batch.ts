/**
 * Many call records in one transaction (the gateway's batched ledger writer): the keys of every
 * record are locked first, all together and in key order (so two processes flushing batches
 * never wait on each other in a cycle); the records go in with one multi-row insert, and what the
 * new ones used is added to each counter and taken off each lease once. Recording a call id again
 * changes nothing, as with `recordCall`. A record admitted against a budget lease takes what it
 * used off the lease's rows, so a check sees it either in the lease or in the counters, never both
 * and never neither; a record without a lease settles its own reservation. Released leases are
 * dropped last.
 */
import { sql } from 'kysely';
import { utcDay } from '../../lib/time.js';
import type { CallRecord, LedgerBatch, Spend } from '../../types.js';
import { lockKeys, recordScopes, scopeKey } from './budgets.js';
import type { Db, SqlDialect } from './dialect.js';
import { rows } from './values.js';

/** Rows per insert statement: 16 parameters each stays far below SQLite's limit of 32,766. */
const ROWS_PER_INSERT = 500;

export async function recordCalls(trx: Db, dialect: SqlDialect, batch: LedgerBatch, now: number): Promise<void> {
  const keyed = batch.records.map((item) => ({ ...item, keys: recordScopes(item.record).map(scopeKey) }));
  await lockKeys(
    trx,
    dialect,
    keyed.flatMap((item) => item.keys),
  );
  const inserted = new Set<string>();
  for (let i = 0; i < keyed.length; i += ROWS_PER_INSERT) {
    for (const id of await insertCalls(
      trx,
      keyed.slice(i, i + ROWS_PER_INSERT).map((item) => item.record),
    ))
      inserted.add(id);
  }
  const counters = new Map<string, Spend>();
  const leases = new Map<string, Spend>();
  const settled: string[] = [];
  for (const { record, lease, unreserved, keys } of keyed) {
    const isNew = inserted.delete(record.id);
    const used = { tokens: record.inputTokens + record.outputTokens, costUsd: record.costUsd };
    if (isNew) for (const key of new Set(keys)) add(counters, key, used);
    if (unreserved === true) continue;
    if (lease === undefined) settled.push(record.id);
    else if (isNew) add(leases, lease, used);
  }
  for (const [key, used] of counters) {
    await sql`UPDATE budget_counters SET spent_tokens = spent_tokens + ${used.tokens}, spent_usd = spent_usd + ${used.costUsd}, updated_at = ${now}
      WHERE scope_key = ${key}`.execute(trx);
  }
  for (const [lease, used] of leases) {
    await sql`UPDATE budget_reservations
      SET tokens = CASE WHEN tokens > ${used.tokens} THEN tokens - ${used.tokens} ELSE 0 END,
        cost_usd = CASE WHEN cost_usd > ${used.costUsd} THEN cost_usd - ${used.costUsd} ELSE 0 END
      WHERE id = ${lease}`.execute(trx);
  }
  if (settled.length > 0) await sql`DELETE FROM budget_reservations WHERE id IN (${sql.join(settled)})`.execute(trx);
  if (batch.release.length > 0) await sql`DELETE FROM budget_reservations WHERE id IN (${sql.join(batch.release)})`.execute(trx);
}

/** Inserts the records (those already in the ledger are left as they are); the ids of the new ones. */
async function insertCalls(trx: Db, records: readonly CallRecord[]): Promise<string[]> {
  if (records.length === 0) return [];
  const values = records.map(
    (r) =>
      sql`(${r.id}, ${r.tenantId}, ${r.runId}, ${r.stepId}, ${r.workflow}, ${r.group}, ${r.provider}, ${r.model},
        ${r.inputTokens}, ${r.outputTokens}, ${r.cachedTokens ?? 0}, ${r.reasoningTokens ?? 0}, ${r.costUsd}, ${r.latencyMs}, ${r.outcome},
        ${r.errorCode ?? null}, ${r.cacheHit === true ? 1 : 0}, ${utcDay(r.at)}, ${r.at})`,
  );
  const out = await rows(
    trx,
    sql`INSERT INTO llm_calls (id, tenant_id, run_id, step_id, workflow, model_group, provider, model,
        input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, outcome, error_code, cache_hit, day, at)
      VALUES ${sql.join(values)}
      ON CONFLICT (id) DO NOTHING RETURNING id`,
  );
  return out.map((row) => row.id as string);
}

function add(sums: Map<string, Spend>, key: string, used: Spend): void {
  const sum = sums.get(key);
  if (sum === undefined) sums.set(key, { ...used });
  else {
    sum.tokens += used.tokens;
    sum.costUsd += used.costUsd;
  }
}
