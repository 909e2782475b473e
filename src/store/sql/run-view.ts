/**
 * A run as `GET /v1/runs/{id}` shows it, read with one statement: the run row (with its LLM
 * usage totals and whether it has child runs) and its top-level steps, as the two branches of
 * a `UNION ALL` padded to the same columns; whether it has artifacts too, so that a run without
 * any (most) costs no second statement. Plain SQL valid in SQLite and PostgreSQL; the
 * branches share the columns runs and steps both have (status, output, error, times).
 */
import { sql } from 'kysely';
import type { ErrorInfo } from '../../lib/errors.js';
import type { StepMeta } from '../../types.js';
import type { RunView, StepView } from '../store-types.js';
import type { Db } from './dialect.js';
import { runFromRow } from './runs.js';
import { fixedQuery, fromJson, num, numOrNull, type Row } from './values.js';

/** Output columns and what each branch selects for them (absent: NULL). */
const COLUMNS: ReadonlyArray<readonly [name: string, run: string | null, step: string | null]> = [
  ['part', '0', '1'],
  ['id', 'r.id', null],
  ['tenant_id', 'r.tenant_id', null],
  ['workflow', 'r.workflow', null],
  ['spec_hash', 'r.spec_hash', null],
  ['spec', 'r.spec', null],
  ['input', 'r.input', null],
  ['priority', 'r.priority', null],
  ['created_at', 'r.created_at', null],
  ['deadline_at', 'r.deadline_at', null],
  ['event_seq', 'r.event_seq', null],
  ['parent_run_id', 'r.parent_run_id', null],
  ['parent_step_id', 'r.parent_step_id', null],
  ['retry_of', 'r.retry_of', null],
  ['concurrency_key', 'r.concurrency_key', null],
  ['created_by', 'r.created_by', null],
  ['trace_context', 'r.trace_context', null],
  ['metadata', 'r.metadata', null],
  ['overrides', 'r.overrides', null],
  ['adhoc', 'r.adhoc', null],
  ['usage_calls', 'u.calls', null],
  ['usage_input_tokens', 'u.input_tokens', null],
  ['usage_output_tokens', 'u.output_tokens', null],
  ['usage_cost', 'u.cost', null],
  ['has_children', 'CASE WHEN EXISTS (SELECT 1 FROM runs c WHERE c.parent_run_id = r.id) THEN 1 ELSE 0 END', null],
  ['has_artifacts', 'CASE WHEN EXISTS (SELECT 1 FROM run_artifacts a WHERE a.run_id = r.id) THEN 1 ELSE 0 END', null],
  ['status', 'r.status', 's.status'],
  ['output', 'r.output', 's.output'],
  ['error', 'r.error', 's.error'],
  ['started_at', 'r.started_at', 's.started_at'],
  ['finished_at', 'r.finished_at', 's.finished_at'],
  ['updated_at', 'r.updated_at', 's.updated_at'],
  ['step_id', null, 's.step_id'],
  ['kind', null, 's.kind'],
  ['attempt', null, 's.attempt'],
  ['available_at', null, 's.available_at'],
  ['meta', null, 's.meta'],
];

const select = (branch: 1 | 2): string => COLUMNS.map((c) => `${c[branch] ?? 'NULL'} AS ${c[0]}`).join(', ');
const RUN_COLUMNS = sql.raw(select(1));
const STEP_COLUMNS = sql.raw(select(2));

/** The one statement (its text compiled once: `fixedQuery`). */
const viewRows = fixedQuery(
  (id: string) =>
    sql`SELECT ${RUN_COLUMNS} FROM runs r
          CROSS JOIN (SELECT COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost
                      FROM llm_calls WHERE run_id = ${id}) u
          WHERE r.id = ${id}
        UNION ALL
        SELECT ${STEP_COLUMNS} FROM steps s WHERE s.run_id = ${id} AND s.parent_step IS NULL
        ORDER BY part, step_id`,
  (id) => [id, id, id],
);

/** The run with its top-level steps (by step id), usage totals and whether it has children; undefined for no such run. */
export async function runView(db: Db, id: string): Promise<RunView | undefined> {
  const result = await viewRows(db, id);
  const [first] = result;
  if (first === undefined || num(first.part) !== 0) return undefined;
  const steps: StepView[] = [];
  for (let i = 1; i < result.length; i++) steps.push(stepFromViewRow(id, result[i]!));
  return {
    run: runFromRow(first),
    steps,
    usage: {
      calls: num(first.usage_calls),
      inputTokens: num(first.usage_input_tokens ?? 0),
      outputTokens: num(first.usage_output_tokens ?? 0),
      costUsd: num(first.usage_cost ?? 0),
    },
    hasChildren: num(first.has_children) === 1,
    hasArtifacts: num(first.has_artifacts) === 1,
  };
}

function stepFromViewRow(runId: string, r: Row): StepView {
  return {
    runId,
    stepId: r.step_id as string,
    kind: r.kind as string,
    status: r.status as StepView['status'],
    attempt: num(r.attempt),
    availableAt: numOrNull(r.available_at),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    meta: fromJson<StepMeta | null>(r.meta),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    updatedAt: num(r.updated_at),
  };
}
