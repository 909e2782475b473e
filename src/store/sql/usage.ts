/** The gateway's call ledger (what each LLM call cost) and the steps' journals (what a step already did). */
import { sql } from 'kysely';
import { utcDay } from '../../lib/time.js';
import type { CallRecord, JournalEntry, Spend, SpendQuery } from '../../types.js';
import type { UsageQuery, UsageRow } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, rows, type Query, type Row } from './values.js';

/** Records one attempt of an LLM call; recording the same call id again changes nothing. */
export async function insertCall(db: Db, r: CallRecord): Promise<void> {
  await sql`INSERT INTO llm_calls (id, tenant_id, run_id, step_id, workflow, model_group, provider, model,
      input_tokens, output_tokens, cost_usd, latency_ms, outcome, error_code, day, at)
    VALUES (${r.id}, ${r.tenantId}, ${r.runId}, ${r.stepId}, ${r.workflow}, ${r.group}, ${r.provider}, ${r.model},
      ${r.inputTokens}, ${r.outputTokens}, ${r.costUsd}, ${r.latencyMs}, ${r.outcome}, ${r.errorCode ?? null}, ${utcDay(r.at)}, ${r.at})
    ON CONFLICT (id) DO NOTHING`.execute(db);
}

/** Tokens and cost spent by a run, or by a tenant (or one of its workflows) on one UTC day. */
export async function spent(db: Db, q: SpendQuery): Promise<Spend> {
  const where =
    q.scope === 'run'
      ? sql`run_id = ${q.runId}`
      : q.scope === 'workflow'
        ? sql`tenant_id = ${q.tenantId} AND workflow = ${q.workflow} AND day = ${q.day}`
        : sql`tenant_id = ${q.tenantId} AND day = ${q.day}`;
  const [row] = await rows(
    db,
    sql`SELECT COALESCE(SUM(input_tokens + output_tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost FROM llm_calls WHERE ${where}`,
  );
  return { tokens: Number(row?.tokens ?? 0), costUsd: Number(row?.cost ?? 0) };
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
        COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost
      FROM llm_calls WHERE ${sql.join(where, sql` AND `)}
      GROUP BY tenant_id, workflow, model_group, model, day
      ORDER BY day, tenant_id, workflow, model_group, model`,
  );
  return result.map(usageFromRow);
}

/** A step's journal entries in the order they were recorded. */
export async function loadJournal(db: Db, runId: string, stepId: string): Promise<JournalEntry[]> {
  const result = await rows(db, sql`SELECT key, data FROM step_journal WHERE run_id = ${runId} AND step_id = ${stepId} ORDER BY at, key`);
  return result.map((r) => ({ key: r.key as string, data: fromJson(r.data) }));
}

/** Records a journal entry; a key already recorded keeps its first value. */
export async function appendJournal(db: Db, runId: string, stepId: string, entry: JournalEntry, at: number): Promise<void> {
  await sql`INSERT INTO step_journal (run_id, step_id, key, data, at)
    VALUES (${runId}, ${stepId}, ${entry.key}, ${JSON.stringify(entry.data ?? null)}, ${at})
    ON CONFLICT (run_id, step_id, key) DO NOTHING`.execute(db);
}
