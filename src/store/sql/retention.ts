/**
 * Retention: ended runs deleted (with every row that references them, through the foreign
 * keys' `ON DELETE CASCADE`: steps and items, attempts, events, tasks, signals, the step
 * journal, idempotency keys), events of ended runs deleted, idempotency keys expired. Never a
 * run that has not ended, nor one whose parent or a child has not. The LLM call ledger
 * (`llm_calls`) has no foreign key and is kept: usage history outlives the runs.
 */
import { sql, type RawBuilder } from 'kysely';
import type { RunPruneQuery, EventPruneQuery } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows } from './values.js';

const ACTIVE = sql`('queued', 'running', 'waiting')`;

/** The runs `q` selects, as a condition on `r`. */
function runCondition(q: RunPruneQuery): RawBuilder<unknown> {
  const windows = Object.entries(q.before).flatMap(([status, before]) =>
    before === undefined ? [] : [sql`(r.status = ${status} AND r.finished_at < ${before})`],
  );
  const parts: RawBuilder<unknown>[] = [
    windows.length === 0 ? sql`1 = 0` : sql`(${sql.join(windows, sql` OR `)})`,
    sql`NOT EXISTS (SELECT 1 FROM runs c WHERE c.parent_run_id = r.id AND c.status IN ${ACTIVE})`,
    sql`NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = r.parent_run_id AND p.status IN ${ACTIVE})`,
    ...workflowConditions(q),
  ];
  return sql.join(parts, sql` AND `);
}

function workflowConditions(q: { workflow?: string; excludeWorkflows?: readonly string[] }): RawBuilder<unknown>[] {
  const parts: RawBuilder<unknown>[] = [];
  if (q.workflow !== undefined) parts.push(sql`r.workflow = ${q.workflow}`);
  if (q.excludeWorkflows !== undefined && q.excludeWorkflows.length > 0) parts.push(sql`r.workflow NOT IN (${sql.join(q.excludeWorkflows)})`);
  return parts;
}

/** How many runs `q` selects now (no limit). */
export async function countPrunableRuns(db: Db, q: RunPruneQuery): Promise<number> {
  const [row] = await rows(db, sql`SELECT COUNT(*) AS n FROM runs r WHERE ${runCondition(q)}`);
  return num(row?.n);
}

/** Deletes at most `q.limit` runs `q` selects, oldest ended first; returns their ids. */
export async function pruneRuns(db: Db, q: RunPruneQuery): Promise<string[]> {
  const ids = (await rows(db, sql`SELECT r.id FROM runs r WHERE ${runCondition(q)} ORDER BY r.finished_at, r.id LIMIT ${q.limit}`)).map(
    (row) => row.id as string,
  );
  if (ids.length === 0) return [];
  const deleted = await rows(
    db,
    sql`DELETE FROM runs WHERE id IN (${sql.join(ids)}) AND id IN (SELECT r.id FROM runs r WHERE ${runCondition(q)}) RETURNING id`,
  );
  return deleted.map((row) => row.id as string);
}

function eventCondition(q: EventPruneQuery): RawBuilder<unknown> {
  return sql.join([sql`e.at < ${q.before}`, sql`r.status NOT IN ${ACTIVE}`, ...workflowConditions(q)], sql` AND `);
}

/** How many events `q` selects now (no limit). */
export async function countPrunableEvents(db: Db, q: EventPruneQuery): Promise<number> {
  const [row] = await rows(db, sql`SELECT COUNT(*) AS n FROM events e JOIN runs r ON r.id = e.run_id WHERE ${eventCondition(q)}`);
  return num(row?.n);
}

/** Deletes at most `q.limit` events older than `q.before` of ended runs; returns how many. */
export async function pruneEvents(db: Db, q: EventPruneQuery): Promise<number> {
  const result = await sql`DELETE FROM events WHERE (run_id, seq) IN (
    SELECT e.run_id, e.seq FROM events e JOIN runs r ON r.id = e.run_id WHERE ${eventCondition(q)} LIMIT ${q.limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Deletes at most `limit` idempotency keys (run starts, schedule ticks, task decisions) recorded before `before`. */
export async function expireIdempotencyKeys(db: Db, before: number, limit: number, dryRun: boolean): Promise<number> {
  if (dryRun) return num((await rows(db, sql`SELECT COUNT(*) AS n FROM idempotency_keys WHERE created_at < ${before}`))[0]?.n);
  const result = await sql`DELETE FROM idempotency_keys WHERE (tenant_id, principal, key) IN (
    SELECT tenant_id, principal, key FROM idempotency_keys WHERE created_at < ${before} LIMIT ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
