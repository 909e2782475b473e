/**
 * The gateway's call ledger (what each LLM call cost, reported by tenant, workflow, group, model
 * and day; recording and budget sums are `budgets.ts`) and the steps' journals (what a step already did).
 */
import { sql } from 'kysely';
import type { CallOutcome, CallRecord, JournalEntry, StoredJournalEntry } from '../../types.js';
import type { UsageQuery, UsageRow } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, rows, type Query, type Row } from './values.js';

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
  if (q.fromDay !== undefined) where.push(sql`day >= ${q.fromDay}`);
  if (q.toDay !== undefined) where.push(sql`day <= ${q.toDay}`);
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
