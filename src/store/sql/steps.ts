/**
 * Step rows: the top-level steps of a run (a map step's items are in `items.ts`), their
 * guarded updates, and the wake-ups that make a waiting or queued step due now.
 */
import { sql } from 'kysely';
import type { ErrorInfo } from '../../lib/errors.js';
import type { StepMeta, StepRecord } from '../../types.js';
import type { NewStep, StepGuard, StepPatch } from '../store-types.js';
import type { Db } from './dialect.js';
import { FlatSql, changed, fromJson, inList, num, numOrNull, rows, type Query, type Row } from './values.js';

const STEP_COLUMNS = {
  status: ['status', false],
  attempt: ['attempt', false],
  availableAt: ['available_at', false],
  leaseOwner: ['lease_owner', false],
  leaseExpiresAt: ['lease_expires_at', false],
  input: ['input', true],
  output: ['output', true],
  error: ['error', true],
  state: ['state', true],
  meta: ['meta', true],
  startedAt: ['started_at', false],
  finishedAt: ['finished_at', false],
} as const;

/** The JSON columns of a step row, parsed. */
export function stepJsonFromRow(r: Row): Pick<StepRecord, 'input' | 'output' | 'error' | 'state' | 'meta'> {
  return {
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    state: fromJson(r.state),
    meta: fromJson<StepMeta | null>(r.meta),
  };
}

export function stepFromRow(r: Row): StepRecord {
  return {
    runId: r.run_id as string,
    stepId: r.step_id as string,
    kind: r.kind as string,
    status: r.status as StepRecord['status'],
    attempt: num(r.attempt),
    availableAt: numOrNull(r.available_at),
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    state: fromJson(r.state),
    meta: fromJson<StepMeta | null>(r.meta),
    parentStep: (r.parent_step as string | null) ?? null,
    itemIndex: numOrNull(r.item_index),
    item: fromJson(r.item),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    updatedAt: num(r.updated_at),
  };
}

/** The records `insertRun` stores for `steps` (what reading them back would give), by step id. */
export function newStepRecords(steps: NewStep[], now: number): StepRecord[] {
  return steps
    .map((step) => ({
      attempt: 0,
      availableAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      input: null,
      output: null,
      error: null,
      state: null,
      meta: null,
      parentStep: null,
      itemIndex: null,
      item: null,
      startedAt: null,
      finishedAt: null,
      ...step,
      updatedAt: now,
    }))
    .sort((a, b) => (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
}

/** The run's top-level steps (no map items), by step id. */
export async function topLevelSteps(db: Db, runId: string): Promise<StepRecord[]> {
  return (await rows(db, sql`SELECT * FROM steps WHERE run_id = ${runId} AND parent_step IS NULL ORDER BY step_id`)).map(stepFromRow);
}

/**
 * The run's top-level steps (as `topLevelSteps`), each with when its current attempt started
 * (null: no attempt row), for a transaction that holds the run's lock.
 */
export async function topLevelStepsWithAttempts(db: Db, runId: string): Promise<StepWithAttempt[]> {
  return stepsWithAttempts(await rows(db, topLevelStepsWithAttemptsQuery(runId)));
}

export interface StepWithAttempt {
  step: StepRecord;
  attemptStartedAt: number | null;
}

/** The SELECT of `topLevelStepsWithAttempts`, not yet run. */
export function topLevelStepsWithAttemptsQuery(runId: string): Query {
  return sql`SELECT s.*, a.started_at AS attempt_started_at FROM steps s
    LEFT JOIN attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id AND a.attempt = s.attempt
    WHERE s.run_id = ${runId} AND s.parent_step IS NULL ORDER BY s.step_id`;
}

/**
 * `topLevelStepsWithAttemptsQuery` of several runs (ordered by run, then step), for a
 * transaction that keeps the runs' steps as they were at `knownAt` (run-cache.ts): the JSON
 * columns only of the steps changed since (`updated_at` at or after it), `has_json` saying
 * which rows carry them; every row carries them when `knownAt` is null.
 */
export function topLevelStepsOfRunsQuery(runIds: readonly string[], knownAt: number | null): Query {
  const q = new FlatSql().text(`SELECT s.run_id, s.step_id, s.kind, s.status, s.attempt, s.available_at, s.lease_owner, s.lease_expires_at,
      s.started_at, s.finished_at, s.updated_at, s.parent_step, s.item_index, `);
  if (knownAt === null) q.text('s.input, s.output, s.error, s.state, s.meta, 1 AS has_json');
  else {
    for (const column of JSON_COLUMNS) q.text('CASE WHEN s.updated_at >= ').value(knownAt).text(` THEN s.${column} END AS ${column}, `);
    q.text('CASE WHEN s.updated_at >= ').value(knownAt).text(' THEN 1 ELSE 0 END AS has_json');
  }
  return q
    .text(
      `, a.started_at AS attempt_started_at FROM steps s
    LEFT JOIN attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id AND a.attempt = s.attempt
    WHERE s.run_id IN `,
    )
    .list(runIds)
    .text(' AND s.parent_step IS NULL ORDER BY s.run_id, s.step_id')
    .query();
}

const JSON_COLUMNS = ['input', 'output', 'error', 'state', 'meta'] as const;

/** The JSON columns of some top-level steps of a run (those `topLevelStepsOfRunsQuery` left out and the cache did not have). */
export async function stepsJson(db: Db, runId: string, stepIds: readonly string[]): Promise<Map<string, Row>> {
  const found = await rows(db, sql`SELECT step_id, input, output, error, state, meta FROM steps WHERE run_id = ${runId} AND step_id IN ${inList(stepIds)}`);
  return new Map(found.map((r) => [r.step_id as string, r]));
}

/** The rows of `topLevelStepsWithAttemptsQuery` as records. */
export function stepsWithAttempts(result: readonly Row[]): StepWithAttempt[] {
  return result.map((r) => ({ step: stepFromRow(r), attemptStartedAt: numOrNull(r.attempt_started_at) }));
}

/** One step row by id: a top-level step or a map item. */
export async function getStep(db: Db, runId: string, stepId: string): Promise<StepRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM steps WHERE run_id = ${runId} AND step_id = ${stepId}`);
  return row ? stepFromRow(row) : undefined;
}

/** Applies `patch` when every field of `guard` matches (compare-and-set); false when it did not. */
export function updateStep(db: Db, runId: string, stepId: string, patch: StepPatch, guard: StepGuard, updatedAt: number): Promise<boolean> {
  return changed(db, updateStepQuery(runId, stepId, patch, guard, updatedAt));
}

/** The guarded UPDATE of `updateStep`, not yet run. */
export function updateStepQuery(runId: string, stepId: string, patch: StepPatch, guard: StepGuard, updatedAt: number): Query {
  const q = new FlatSql().text('UPDATE steps SET ').assignments(patch, STEP_COLUMNS);
  const any = Object.values(patch).some((value) => value !== undefined);
  q.text(any ? ', updated_at = ' : 'updated_at = ').value(updatedAt);
  q.text(' WHERE run_id = ').value(runId).text(' AND step_id = ').value(stepId);
  if (guard.status) q.text(' AND status IN ').list(guard.status);
  if (guard.attempt !== undefined) q.text(' AND attempt = ').value(guard.attempt);
  if (guard.leaseOwner !== undefined) q.text(' AND lease_owner = ').value(guard.leaseOwner);
  return q.query();
}

/** Makes a waiting step due now (a child run finished, a signal arrived). */
export async function wakeStep(db: Db, runId: string, stepId: string, now: number): Promise<void> {
  await sql`UPDATE steps SET available_at = ${now}, updated_at = ${now}
    WHERE run_id = ${runId} AND step_id = ${stepId} AND status = 'waiting'`.execute(db);
}

/**
 * Makes the queued steps of the first `limit` runs waiting on concurrency key `key` due now
 * (by priority, then age), leaving out run `exceptRunId` (the one making room).
 */
export async function wakeBlocked(db: Db, key: string, exceptRunId: string, limit: number, now: number): Promise<void> {
  await sql`UPDATE steps SET available_at = ${now}, updated_at = ${now}
    WHERE status = 'queued' AND available_at > ${now} AND run_id IN (
      SELECT id FROM runs WHERE concurrency_key = ${key} AND status = 'queued' AND id <> ${exceptRunId}
      ORDER BY priority DESC, created_at, id LIMIT ${limit})`.execute(db);
}
