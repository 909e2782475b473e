/**
 * Many call records in one transaction (the gateway's batched ledger writer): the keys of every
 * record are locked first, all together and in key order (so two processes flushing batches
 * never wait on each other in a cycle); the records go in with one multi-row insert, and what the
 * new ones used is added to each counter and taken off each lease once. Recording a call id again
 * changes nothing, as with `recordCall`. A record admitted against a budget lease takes what it
 * used off the lease's rows, so a check sees it either in the lease or in the counters, never both
 * and never neither; a record without a lease settles its own reservation. Released leases are
 * dropped last.
 *
 * The insert and the counters' update are one statement each per batch, and their texts depend
 * only on the dialect and the number of rows or counters: each text is built once and sent again
 * as the same string (no template walked per record, one cached prepared statement per size on
 * SQLite), the values passed as a flat list.
 */
import { CompiledQuery, sql, type RawBuilder } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import { utcDay } from '../../lib/time.js';
import type { CallRecord, LedgerBatch, Spend } from '../../types.js';
import { lockKeys, recordScopes, scopeKey } from './budgets.js';
import type { Db, SqlDialect } from './dialect.js';
import type { Row } from './values.js';

/** Rows per insert statement: 19 parameters each stays far below SQLite's limit of 32,766. */
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
      dialect,
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
  if (counters.size > 0) await addToCounters(trx, dialect, counters, now);
  for (const [lease, used] of leases) {
    await sql`UPDATE budget_reservations
      SET tokens = CASE WHEN tokens > ${used.tokens} THEN tokens - ${used.tokens} ELSE 0 END,
        cost_usd = CASE WHEN cost_usd > ${used.costUsd} THEN cost_usd - ${used.costUsd} ELSE 0 END
      WHERE id = ${lease}`.execute(trx);
  }
  if (settled.length > 0) await sql`DELETE FROM budget_reservations WHERE id IN (${sql.join(settled)})`.execute(trx);
  if (batch.release.length > 0) await sql`DELETE FROM budget_reservations WHERE id IN (${sql.join(batch.release)})`.execute(trx);
}

/** Statement texts by dialect, statement and size (rows or counters), kept for sizes up to `KEPT_SIZES` (the writer's largest batch). */
const texts = new Map<string, string>();
const KEPT_SIZES = 256;

/** Runs the statement `build(size)` compiles to (built once per dialect and size) with `values`. */
async function fixedSize(
  trx: Db,
  dialect: SqlDialect,
  name: string,
  size: number,
  build: (size: number) => RawBuilder<unknown>,
  values: unknown[],
): Promise<Row[]> {
  const key = `${dialect.kind}:${name}:${size}`;
  let text = texts.get(key);
  if (text === undefined) {
    const compiled = build(size).compile(trx);
    if (compiled.parameters.length !== values.length)
      throw new AgentryError('internal', `${name}: ${values.length} values for ${compiled.parameters.length} parameters`);
    text = compiled.sql;
    if (size <= KEPT_SIZES) texts.set(key, text);
  }
  const result = await trx.executeQuery<Row>(CompiledQuery.raw(text, values));
  return result.rows;
}

/** `(?, ?, …)` with `count` parameters, `times` times, comma-separated. */
function placeholders(count: number, times: number): RawBuilder<unknown> {
  const row = sql`(${sql.join(Array.from({ length: count }, () => sql`${null}`))})`;
  return sql.join(Array.from({ length: times }, () => row));
}

const CALL_COLUMNS = 19;

function insertCallsQuery(size: number): RawBuilder<unknown> {
  return sql`INSERT INTO llm_calls (id, tenant_id, run_id, step_id, workflow, model_group, provider, model,
      input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, outcome, error_code, cache_hit, day, at)
    VALUES ${placeholders(CALL_COLUMNS, size)}
    ON CONFLICT (id) DO NOTHING RETURNING id`;
}

/** Inserts the records (those already in the ledger are left as they are); the ids of the new ones. */
async function insertCalls(trx: Db, dialect: SqlDialect, records: readonly CallRecord[]): Promise<string[]> {
  if (records.length === 0) return [];
  const values: unknown[] = [];
  for (const r of records) {
    values.push(
      r.id,
      r.tenantId,
      r.runId,
      r.stepId,
      r.workflow,
      r.group,
      r.provider,
      r.model,
      r.inputTokens,
      r.outputTokens,
      r.cachedTokens ?? 0,
      r.reasoningTokens ?? 0,
      r.costUsd,
      r.latencyMs,
      r.outcome,
      r.errorCode ?? null,
      r.cacheHit === true ? 1 : 0,
      utcDay(r.at),
      r.at,
    );
  }
  const out = await fixedSize(trx, dialect, 'insert-calls', records.length, insertCallsQuery, values);
  return out.map((row) => row.id as string);
}

/**
 * One update for every counter of the batch: each counter's sums picked by its key. The casts
 * give PostgreSQL the parameters' types (a `CASE` of bare parameters would be text).
 */
function addToCountersQuery(size: number): RawBuilder<unknown> {
  const whens = (type: RawBuilder<unknown>) =>
    sql.join(
      Array.from({ length: size }, () => sql`WHEN ${null} THEN CAST(${null} AS ${type})`),
      sql` `,
    );
  return sql`UPDATE budget_counters
    SET spent_tokens = spent_tokens + CASE scope_key ${whens(sql`BIGINT`)} END,
      spent_usd = spent_usd + CASE scope_key ${whens(sql`DOUBLE PRECISION`)} END,
      updated_at = ${null}
    WHERE scope_key IN ${placeholders(size, 1)}`;
}

async function addToCounters(trx: Db, dialect: SqlDialect, counters: Map<string, Spend>, now: number): Promise<void> {
  const tokens: unknown[] = [];
  const usd: unknown[] = [];
  for (const [key, used] of counters) {
    tokens.push(key, used.tokens);
    usd.push(key, used.costUsd);
  }
  await fixedSize(trx, dialect, 'add-to-counters', counters.size, addToCountersQuery, [...tokens, ...usd, now, ...counters.keys()]);
}

function add(sums: Map<string, Spend>, key: string, used: Spend): void {
  const sum = sums.get(key);
  if (sum === undefined) sums.set(key, { ...used });
  else {
    sum.tokens += used.tokens;
    sum.costUsd += used.costUsd;
  }
}
