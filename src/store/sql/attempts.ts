/** Attempts: one row per try of a step, with what it was given and what it produced. */
import { sql } from 'kysely';
import type { ErrorInfo } from '../../lib/errors.js';
import type { AttemptRecord } from '../../types.js';
import type { AttemptPatch } from '../store-types.js';
import type { Db } from './dialect.js';
import { FlatSql, assignments, fromJson, insertRowsQuery, num, numOrNull, rows, toJson, type Query, type Row } from './values.js';

const ATTEMPT_INSERT_COLUMNS = ['run_id', 'step_id', 'attempt', 'status', 'worker_id', 'input', 'output', 'error', 'started_at', 'finished_at'];

const ATTEMPT_COLUMNS = {
  status: ['status', false],
  output: ['output', true],
  error: ['error', true],
  finishedAt: ['finished_at', false],
} as const;

function attemptFromRow(r: Row): AttemptRecord {
  return {
    runId: r.run_id as string,
    stepId: r.step_id as string,
    attempt: num(r.attempt),
    status: r.status as AttemptRecord['status'],
    workerId: (r.worker_id as string | null) ?? null,
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    startedAt: num(r.started_at),
    finishedAt: numOrNull(r.finished_at),
  };
}

/** Inserts attempt rows (of one run or of several) in one multi-row INSERT: the statement, not yet run. */
export function insertAttemptsQuery(records: readonly AttemptRecord[]): Query {
  return insertRowsQuery({
    table: 'attempts',
    columns: ATTEMPT_INSERT_COLUMNS,
    rows: records.map((a) => [
      a.runId,
      a.stepId,
      a.attempt,
      a.status,
      a.workerId,
      toJson(a.input),
      toJson(a.output),
      toJson(a.error),
      a.startedAt,
      a.finishedAt,
    ]),
  });
}

/** Applies `patch` to an attempt; returns when the attempt started (undefined: no such attempt). */
export async function updateAttempt(db: Db, runId: string, stepId: string, attempt: number, patch: AttemptPatch): Promise<number | undefined> {
  const sets = assignments(patch, ATTEMPT_COLUMNS);
  const where = sql`WHERE run_id = ${runId} AND step_id = ${stepId} AND attempt = ${attempt}`;
  const [row] =
    sets.length === 0
      ? await rows(db, sql`SELECT started_at FROM attempts ${where}`)
      : await rows(db, sql`UPDATE attempts SET ${sql.join(sets)} ${where} RETURNING started_at`);
  return row === undefined ? undefined : num(row.started_at);
}

/** The UPDATE of an attempt's row with `patch` (at least one field), not yet run. */
export function updateAttemptQuery(runId: string, stepId: string, attempt: number, patch: AttemptPatch): Query {
  return new FlatSql()
    .text('UPDATE attempts SET ')
    .assignments(patch, ATTEMPT_COLUMNS)
    .text(' WHERE run_id = ')
    .value(runId)
    .text(' AND step_id = ')
    .value(stepId)
    .text(' AND attempt = ')
    .value(attempt)
    .query();
}

/** How many of a step's attempts ended in `status`. */
export async function countAttempts(db: Db, runId: string, stepId: string, status: AttemptRecord['status']): Promise<number> {
  const [row] = await rows(db, sql`SELECT count(*) AS n FROM attempts WHERE run_id = ${runId} AND step_id = ${stepId} AND status = ${status}`);
  return num(row?.n);
}

/** The run's attempts (of one step when given), by step and attempt number. */
export async function listAttempts(db: Db, runId: string, stepId?: string): Promise<AttemptRecord[]> {
  const byStep = stepId === undefined ? sql`` : sql`AND step_id = ${stepId}`;
  return (await rows(db, sql`SELECT * FROM attempts WHERE run_id = ${runId} ${byStep} ORDER BY step_id, attempt`)).map(attemptFromRow);
}
