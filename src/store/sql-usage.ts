/** The gateway's call ledger and the steps' journal, in SQL valid on both dialects. */
import { sql, type RawBuilder } from 'kysely';
import { utcDay } from '../lib/time.js';
import type { CallRecord, JournalEntry, Spend, SpendQuery } from '../types.js';
import { fromJson, type Row } from './rows.js';
import type { UsageQuery, UsageRow } from './store.js';

type Query = RawBuilder<unknown>;

export function insertCall(r: CallRecord): Query {
  return sql`INSERT INTO llm_calls (id, tenant_id, run_id, step_id, workflow, model_group, provider, model,
      input_tokens, output_tokens, cost_usd, latency_ms, outcome, error_code, day, at)
    VALUES (${r.id}, ${r.tenantId}, ${r.runId}, ${r.stepId}, ${r.workflow}, ${r.group}, ${r.provider}, ${r.model},
      ${r.inputTokens}, ${r.outputTokens}, ${r.costUsd}, ${r.latencyMs}, ${r.outcome}, ${r.errorCode ?? null}, ${utcDay(r.at)}, ${r.at})
    ON CONFLICT (id) DO NOTHING`;
}

export function spendQuery(q: SpendQuery): Query {
  const where =
    q.scope === 'run'
      ? sql`run_id = ${q.runId}`
      : q.scope === 'workflow'
        ? sql`tenant_id = ${q.tenantId} AND workflow = ${q.workflow} AND day = ${q.day}`
        : sql`tenant_id = ${q.tenantId} AND day = ${q.day}`;
  return sql`SELECT COALESCE(SUM(input_tokens + output_tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost FROM llm_calls WHERE ${where}`;
}

export function spendFromRows(rows: Row[]): Spend {
  return { tokens: Number(rows[0]?.tokens ?? 0), costUsd: Number(rows[0]?.cost ?? 0) };
}

/** Tokens, cost and calls grouped by tenant, workflow, model group, model and UTC day. */
export function usageQuery(q: UsageQuery): Query {
  const where: Query[] = [sql`1 = 1`];
  if (q.tenantId !== undefined) where.push(sql`tenant_id = ${q.tenantId}`);
  if (q.runId !== undefined) where.push(sql`run_id = ${q.runId}`);
  if (q.workflow !== undefined) where.push(sql`workflow = ${q.workflow}`);
  if (q.fromDay !== undefined) where.push(sql`day >= ${q.fromDay}`);
  if (q.toDay !== undefined) where.push(sql`day <= ${q.toDay}`);
  return sql`SELECT tenant_id, workflow, model_group, model, day,
      COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost
    FROM llm_calls WHERE ${sql.join(where, sql` AND `)}
    GROUP BY tenant_id, workflow, model_group, model, day
    ORDER BY day, tenant_id, workflow, model_group, model`;
}

export function usageFromRow(r: Row): UsageRow {
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

export function journalQuery(runId: string, stepId: string): Query {
  return sql`SELECT key, data FROM step_journal WHERE run_id = ${runId} AND step_id = ${stepId} ORDER BY at, key`;
}

export function journalFromRow(r: Row): JournalEntry {
  return { key: r.key as string, data: fromJson(r.data) };
}

export function insertJournal(runId: string, stepId: string, entry: JournalEntry, at: number): Query {
  return sql`INSERT INTO step_journal (run_id, step_id, key, data, at)
    VALUES (${runId}, ${stepId}, ${entry.key}, ${JSON.stringify(entry.data ?? null)}, ${at})
    ON CONFLICT (run_id, step_id, key) DO NOTHING`;
}
