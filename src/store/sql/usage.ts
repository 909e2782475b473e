/**
 * The gateway's call ledger (what each LLM call cost, reported by tenant, workflow, group, model
 * and day; recording and budget sums are `budgets.ts`) and the steps' journals (what a step already did).
 */
import { sql } from 'kysely';
import type { CallOutcome, CallRecord, JournalEntry, StoredJournalEntry } from '../../types.js';
import { AgentryError } from '../../lib/errors.js';
import type { CallListQuery, CallPage, UsageQuery, UsageRow } from '../store-types.js';
import type { Db } from './dialect.js';
import { daysSpanMs } from '../../lib/time.js';
import { fromJson, rows, type Query, type Row } from './values.js';

/** `at >= from`, when `from` is a time (a day that does not parse leaves the `day` bound alone). */
function atLeast(from: number): Query[] {
  return Number.isFinite(from) ? [sql`at >= ${from}`] : [];
}

/** `at < until`, when `until` is a time. */
function atMost(until: number): Query[] {
  return Number.isFinite(until) ? [sql`at < ${until}`] : [];
}

function usageFromRow(r: Row): UsageRow {
  return {
    tenantId: r.tenant_id as string,
    workflow: (r.workflow as string | null) ?? null,
    group: r.model_group as string,
    model: r.model as string,
    day: r.day as string,
    calls: Number(r.calls),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    cachedTokens: Number(r.cached_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costUsd: Number(r.cost),
  };
}

/** Tokens, cost and calls grouped by tenant, workflow, model group, model and UTC day. */
export async function usage(db: Db, q: UsageQuery): Promise<UsageRow[]> {
  const where: Query[] = [sql`1 = 1`];
  if (q.tenantId !== undefined) where.push(sql`tenant_id = ${q.tenantId}`);
  if (q.runId !== undefined) where.push(sql`run_id = ${q.runId}`);
  if (q.workflow !== undefined) where.push(sql`workflow = ${q.workflow}`);
  // The days as a time range too: the ledger's indexes are by tenant (and workflow) and time, not day.
  if (q.fromDay !== undefined) where.push(sql`day >= ${q.fromDay}`, ...atLeast(daysSpanMs(q.fromDay, q.fromDay).from));
  if (q.toDay !== undefined) where.push(sql`day <= ${q.toDay}`, ...atMost(daysSpanMs(q.toDay, q.toDay).until));
  const result = await rows(
    db,
    sql`SELECT tenant_id, workflow, model_group, model, day,
        COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
        SUM(cached_tokens) AS cached_tokens, SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_usd) AS cost
      FROM llm_calls WHERE ${sql.join(where, sql` AND `)}
      GROUP BY tenant_id, workflow, model_group, model, day
      ORDER BY day, tenant_id, workflow, model_group, model`,
  );
  return result.map(usageFromRow);
}

/** The ledger's records of one step of a run (every attempt of every call: failed ones too), oldest first. */
export async function stepCalls(db: Db, runId: string, stepId: string): Promise<CallRecord[]> {
  const result = await rows(db, sql`SELECT * FROM llm_calls WHERE run_id = ${runId} AND step_id = ${stepId} ORDER BY at, id`);
  return result.map(callFromRow);
}

function encodeCallCursor(record: CallRecord): string {
  return Buffer.from(`${record.at}:${record.id}`).toString('base64url');
}

function decodeCallCursor(cursor: string): { at: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const sep = text.indexOf(':');
  const at = Number(text.slice(0, sep));
  if (sep <= 0 || !Number.isSafeInteger(at) || text.length - sep - 1 === 0) throw new AgentryError('invalid_request', 'cursor is not valid');
  return { at, id: text.slice(sep + 1) };
}

/**
 * The ledger's call records, newest first (`at DESC, id DESC`), a keyset page at a time: the
 * cursor is the last record's key. `llm_calls_by_tenant_at` bounds the scan of a tenant's page.
 */
export async function listCalls(db: Db, q: CallListQuery): Promise<CallPage> {
  const where: Query[] = [sql`1 = 1`];
  if (q.tenantId !== undefined) where.push(sql`tenant_id = ${q.tenantId}`);
  if (q.runId !== undefined) where.push(sql`run_id = ${q.runId}`);
  if (q.workflow !== undefined) where.push(sql`workflow = ${q.workflow}`);
  if (q.group !== undefined) where.push(sql`model_group = ${q.group}`);
  if (q.outcome !== undefined) where.push(sql`outcome = ${q.outcome}`);
  if (q.after !== undefined) where.push(sql`at >= ${q.after}`);
  if (q.before !== undefined) where.push(sql`at < ${q.before}`);
  if (q.cursor !== undefined) {
    const c = decodeCallCursor(q.cursor);
    where.push(sql`(at < ${c.at} OR (at = ${c.at} AND id < ${c.id}))`);
  }
  const fetched = (await rows(db, sql`SELECT * FROM llm_calls WHERE ${sql.join(where, sql` AND `)} ORDER BY at DESC, id DESC LIMIT ${q.limit + 1}`)).map(
    callFromRow,
  );
  const items = fetched.slice(0, q.limit);
  const last = items[items.length - 1];
  return { items, nextCursor: fetched.length > q.limit && last !== undefined ? encodeCallCursor(last) : null };
}

function callFromRow(r: Row): CallRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    runId: (r.run_id as string | null) ?? null,
    stepId: (r.step_id as string | null) ?? null,
    workflow: (r.workflow as string | null) ?? null,
    group: r.model_group as string,
    provider: r.provider as string,
    model: r.model as string,
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    ...(Number(r.cached_tokens) > 0 ? { cachedTokens: Number(r.cached_tokens) } : {}),
    ...(Number(r.reasoning_tokens) > 0 ? { reasoningTokens: Number(r.reasoning_tokens) } : {}),
    costUsd: Number(r.cost_usd),
    latencyMs: Number(r.latency_ms),
    outcome: r.outcome as CallOutcome,
    ...(r.error_code === null || r.error_code === undefined ? {} : { errorCode: r.error_code as string }),
    ...(Number(r.cache_hit ?? 0) === 1 ? { cacheHit: true } : {}),
    at: Number(r.at),
  };
}

/** A step's journal entries in the order they were recorded. */
export async function loadJournal(db: Db, runId: string, stepId: string): Promise<StoredJournalEntry[]> {
  const result = await rows(db, sql`SELECT key, data, at FROM step_journal WHERE run_id = ${runId} AND step_id = ${stepId} ORDER BY at, key`);
  return result.map((r) => ({ key: r.key as string, data: fromJson(r.data), at: Number(r.at) }));
}

/** Records a journal entry; a key already recorded keeps its first value. */
export async function appendJournal(db: Db, runId: string, stepId: string, entry: JournalEntry, at: number): Promise<void> {
  await sql`INSERT INTO step_journal (run_id, step_id, key, data, at)
    VALUES (${runId}, ${stepId}, ${entry.key}, ${JSON.stringify(entry.data ?? null)}, ${at})
    ON CONFLICT (run_id, step_id, key) DO NOTHING`.execute(db);
}
