/** Runs: inserting one with its steps, locking and patching its row, and the run listings. */
import { sql } from 'kysely';
import type { ErrorInfo } from '../../lib/errors.js';
import type { RunOverrides, RunRecord } from '../../types.js';
import type { ActiveRunCounts, NewRun, NewStep, RunListQuery, RunPage, RunPatch } from '../store-types.js';
import type { Db } from './dialect.js';
import { afterCursor, toPage } from './page.js';
import { FlatSql, fromJson, inList, num, numOrNull, rows, toJson, type Query, type Row } from './values.js';

/** Column names of the patchable fields, and whether each holds JSON. */
const RUN_COLUMNS = {
  status: ['status', false],
  output: ['output', true],
  error: ['error', true],
  startedAt: ['started_at', false],
  finishedAt: ['finished_at', false],
  deadlineAt: ['deadline_at', false],
  priority: ['priority', false],
  traceContext: ['trace_context', false],
} as const;

export function runFromRow(r: Row): RunRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    workflow: r.workflow as string,
    specHash: r.spec_hash as string,
    spec: fromJson(r.spec),
    status: r.status as RunRecord['status'],
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    priority: num(r.priority),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    deadlineAt: numOrNull(r.deadline_at),
    parentRunId: (r.parent_run_id as string | null) ?? null,
    parentStepId: (r.parent_step_id as string | null) ?? null,
    retryOf: (r.retry_of as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    concurrencyKey: (r.concurrency_key as string | null) ?? null,
    traceContext: (r.trace_context as string | null) ?? null,
    metadata: fromJson<Record<string, string> | null>(r.metadata ?? null),
    overrides: fromJson<RunOverrides | null>(r.overrides ?? null),
    adhoc: num(r.adhoc ?? 0) === 1,
    updatedAt: num(r.updated_at),
    eventSeq: num(r.event_seq),
  };
}

/** Inserts a run and its steps (one multi-row INSERT); returns the run as stored. */
export async function insertRun(db: Db, run: NewRun, steps: NewStep[], now: number): Promise<RunRecord> {
  await sql`INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, output, error, priority,
                              created_at, started_at, finished_at, deadline_at, parent_run_id, parent_step_id, retry_of,
                              concurrency_key, created_by, trace_context, metadata, overrides, adhoc, updated_at, event_seq)
    VALUES (${run.id}, ${run.tenantId}, ${run.workflow}, ${run.specHash}, ${JSON.stringify(run.spec)}, ${run.status},
            ${JSON.stringify(run.input ?? null)}, ${toJson(run.output)}, ${toJson(run.error)}, ${run.priority},
            ${run.createdAt}, ${run.startedAt}, ${run.finishedAt}, ${run.deadlineAt}, ${run.parentRunId}, ${run.parentStepId},
            ${run.retryOf}, ${run.concurrencyKey}, ${run.createdBy}, ${run.traceContext ?? null}, ${toJson(run.metadata ?? null)},
            ${toJson(run.overrides ?? null)}, ${run.adhoc === true ? 1 : 0}, ${now}, 0)`.execute(db);
  if (steps.length > 0) {
    const values = steps.map(
      (step) =>
        sql`(${step.runId}, ${step.stepId}, ${step.kind}, ${step.status}, 0, ${run.priority}, ${toJson(step.output ?? null)},
             ${toJson(step.meta ?? null)}, ${step.startedAt ?? null}, ${step.finishedAt ?? null}, ${now})`,
    );
    await sql`INSERT INTO steps (run_id, step_id, kind, status, attempt, priority, output, meta, started_at, finished_at, updated_at)
      VALUES ${sql.join(values)}`.execute(db);
  }
  return {
    ...run,
    traceContext: run.traceContext ?? null,
    metadata: run.metadata ?? null,
    overrides: run.overrides ?? null,
    adhoc: run.adhoc ?? false,
    updatedAt: now,
    eventSeq: 0,
  };
}

/** Reads a run and locks its row until the transaction ends (`lockSuffix` is the dialect's `FOR UPDATE …`). */
export async function lockRun(db: Db, id: string, lockSuffix: string): Promise<RunRecord | undefined> {
  const [row] = await rows(db, lockRunQuery(id, lockSuffix));
  return row ? runFromRow(row) : undefined;
}

/** The SELECT of `lockRun`, not yet run; `known`: without the columns that never change (`spec`, `input`), which the caller has. */
export function lockRunQuery(id: string, lockSuffix: string, known = false): Query {
  return known
    ? sql`SELECT ${sql.raw(RUN_COLUMNS_BUT_SPEC_AND_INPUT)} FROM runs WHERE id = ${id} ${sql.raw(lockSuffix)}`
    : sql`SELECT * FROM runs WHERE id = ${id} ${sql.raw(lockSuffix)}`;
}

/** `lockRunQuery` of several runs at once, for a dialect whose transaction locks the whole database (SQLite: no row locks). */
export function readRunsQuery(ids: readonly string[], known: boolean): Query {
  return new FlatSql()
    .text(`SELECT ${known ? RUN_COLUMNS_BUT_SPEC_AND_INPUT : '*'} FROM runs WHERE id IN `)
    .list(ids)
    .query();
}

/** Every column of `runs` but the two a run never changes. */
const RUN_COLUMNS_BUT_SPEC_AND_INPUT = `id, tenant_id, workflow, spec_hash, status, output, error, priority, created_at, started_at, finished_at,
  deadline_at, updated_at, event_seq, parent_run_id, parent_step_id, retry_of, concurrency_key, created_by, trace_context, metadata, overrides, adhoc`;

/** Writes a run's changes with its event counter (and `updated_at` when a field changed): the statement, not yet run. */
export function updateRunQuery(run: RunRecord, patch: RunPatch): Query {
  const q = new FlatSql().text('UPDATE runs SET ').assignments(patch, RUN_COLUMNS);
  const any = Object.values(patch).some((value) => value !== undefined);
  q.text(any ? ', event_seq = ' : 'event_seq = ').value(run.eventSeq);
  if (Object.keys(patch).length > 0) q.text(', updated_at = ').value(run.updatedAt);
  return q.text(' WHERE id = ').value(run.id).query();
}

export async function getRun(db: Db, id: string): Promise<RunRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM runs WHERE id = ${id}`);
  return row ? runFromRow(row) : undefined;
}

/** `text` as a LIKE pattern matching it anywhere, its `%`, `_` and backslash taken literally (escaped with a backslash). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Runs newest first, each with its LLM cost (a subselect per listed row on the ledger's
 * `llm_calls_by_run` index: one statement, however many runs the page holds); of one tenant
 * with `tenantId`, of every tenant without (the CLI on its own store). With labels, the first one's index (`run_labels_by_label`, migration 33) gives the
 * matching runs newest first, so the tenant's other runs are never read; each further label is
 * one primary-key probe of `run_labels` per run.
 */
const COST = sql`(SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c WHERE c.run_id = runs.id) AS cost_usd`;

export async function listRuns(db: Db, query: RunListQuery): Promise<RunPage> {
  const [first, ...more] = query.labels ?? [];
  const where: Query[] = [];
  // With a label, `l.tenant_id` scopes the listing (a label row has its run's tenant): a second
  // condition on `runs` would lead PostgreSQL to read the tenant's runs instead of the label's.
  if (query.tenantId !== undefined && first === undefined) where.push(sql`runs.tenant_id = ${query.tenantId}`);
  if (query.ids !== undefined) where.push(query.ids.length === 0 ? sql`1 = 0` : sql`runs.id IN ${inList(query.ids)}`);
  if (query.status?.length) where.push(sql`runs.status IN ${inList(query.status)}`);
  if (query.workflow) where.push(sql`runs.workflow = ${query.workflow}`);
  if (query.createdBy !== undefined) where.push(sql`runs.created_by = ${query.createdBy}`);
  if (query.createdAfter !== undefined) where.push(sql`runs.created_at >= ${query.createdAfter}`);
  if (query.createdBefore !== undefined) where.push(sql`runs.created_at < ${query.createdBefore}`);
  // Ids are lower case; SQLite's LIKE ignores ASCII case and PostgreSQL's does not, so the text is lowered for both.
  if (query.search !== undefined) where.push(sql`runs.id LIKE ${containsPattern(query.search.toLowerCase())} ESCAPE '\\'`);
  for (const [key, value] of more) where.push(sql`EXISTS (SELECT 1 FROM run_labels m WHERE m.run_id = runs.id AND m.key = ${key} AND m.value = ${value})`);
  let statement: Query;
  if (first === undefined) {
    if (query.cursor) where.push(afterCursor(query.cursor, ['runs.created_at', 'runs.id']));
    statement = sql`SELECT runs.*, ${COST} FROM runs WHERE ${where.length === 0 ? sql`1 = 1` : sql.join(where, sql` AND `)}
        ORDER BY runs.created_at DESC, runs.id DESC LIMIT ${query.limit + 1}`;
  } else {
    const [key, value] = first;
    const label = [sql`l.key = ${key}`, sql`l.value = ${value}`];
    if (query.tenantId !== undefined) label.push(sql`l.tenant_id = ${query.tenantId}`);
    if (query.cursor) label.push(afterCursor(query.cursor, ['l.created_at', 'l.run_id']));
    // CROSS JOIN: SQLite keeps the written order (the label's index outside, each run by its key).
    statement = sql`SELECT runs.*, ${COST} FROM run_labels l CROSS JOIN runs
        WHERE runs.id = l.run_id AND ${sql.join([...label, ...where], sql` AND `)}
        ORDER BY l.created_at DESC, l.run_id DESC LIMIT ${query.limit + 1}`;
  }
  return toPage(
    (await rows(db, statement)).map((r) => ({ ...runFromRow(r), costUsd: num(r.cost_usd) })),
    query.limit,
  );
}

/** Runs started by the steps of run `parentId`, oldest first. */
export async function childRuns(db: Db, parentId: string): Promise<RunRecord[]> {
  return (await rows(db, sql`SELECT * FROM runs WHERE parent_run_id = ${parentId} ORDER BY created_at, id`)).map(runFromRow);
}

/** Ids of unfinished runs whose deadline is past. */
export async function overdueRuns(db: Db, now: number, limit: number): Promise<string[]> {
  const result = await rows(
    db,
    sql`SELECT id FROM runs
        WHERE deadline_at IS NOT NULL AND deadline_at < ${now} AND status IN ('queued', 'running', 'waiting')
        ORDER BY deadline_at LIMIT ${limit}`,
  );
  return result.map((r) => r.id as string);
}

/** Runs not ended, by status, in every tenant (from the partial index `runs_active`). */
export async function activeRunCounts(db: Db): Promise<ActiveRunCounts> {
  const counts: ActiveRunCounts = { queued: 0, running: 0, waiting: 0 };
  const result = await rows(db, sql`SELECT status, count(*) AS n FROM runs WHERE status IN ('queued', 'running', 'waiting') GROUP BY status`);
  for (const r of result) counts[r.status as keyof ActiveRunCounts] = num(r.n);
  return counts;
}

/** Runs with concurrency key `key` that have started and not ended. */
export async function countActive(db: Db, key: string): Promise<number> {
  const [row] = await rows(db, sql`SELECT COUNT(*) AS n FROM runs WHERE concurrency_key = ${key} AND status IN ('running', 'waiting')`);
  return Number(row?.n ?? 0);
}
