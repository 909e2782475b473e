/**
 * Events across runs, for diagnosis (`GET /v1/events`): a time window of the whole events table,
 * narrowed by tenant, owner, workflow, type, run and step, in time order (`at`, run id, seq).
 *
 * The events table has no tenant or workflow: those are the run's, so a page joins each event to
 * its run. What bounds the work of a page is the `events_by_time` index (at, run_id, seq): a page
 * walks it from the cursor (or the window's start) over at most `scanLimit` events, and keeps
 * those whose run and type match. A narrow filter on a wide window therefore gives short pages
 * (even empty ones) with a cursor to go on from, never a scan of the whole table in one request.
 * The walk is a subquery with its own LIMIT, and the join a CROSS JOIN (SQLite keeps its left
 * side as the outer loop; PostgreSQL plans it as an inner join), so that neither database turns
 * the join around and walks a tenant's or a workflow's runs instead.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { EventQuery, EventQueryPage, WorkflowEvent } from '../store-types.js';
import type { Db } from './dialect.js';
import { eventFromRow } from './events.js';
import { inList, num, rows, type Query, type Row } from './values.js';

/** An event's place in the time order. */
interface EventKey {
  at: number;
  runId: string;
  seq: number;
}

function encodeCursor(key: EventKey): string {
  return Buffer.from(`${key.at}:${key.seq}:${key.runId}`).toString('base64url');
}

function decodeCursor(cursor: string): EventKey {
  const match = /^(\d{1,16}):(\d{1,15}):(.+)$/s.exec(Buffer.from(cursor, 'base64url').toString());
  const at = Number(match?.[1]);
  const seq = Number(match?.[2]);
  if (!match?.[3] || !Number.isSafeInteger(at) || !Number.isSafeInteger(seq)) throw new AgentryError('invalid_request', 'cursor is not valid');
  return { at, runId: match[3], seq };
}

const afterKey = (key: EventKey): Query => sql`(at, run_id, seq) > (${key.at}, ${key.runId}, ${key.seq})`;
const upToKey = (key: EventKey): Query => sql`(at, run_id, seq) <= (${key.at}, ${key.runId}, ${key.seq})`;

/**
 * Where the walk starts: after the cursor, or at the window's start, whichever is later. One
 * bound, never both: given `at >= ?` beside the row comparison, SQLite starts the index range
 * at the window's start and filters its way to the cursor.
 */
function walkStart(query: EventQuery): Query | undefined {
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (cursor && (query.from === undefined || cursor.at >= query.from)) return afterKey(cursor);
  return query.from === undefined ? undefined : sql`at >= ${query.from}`;
}

/** The part of the index a page walks: from its start, up to `end` (or the window's end), of the run if one is named. */
function walkConditions(query: EventQuery, end?: EventKey): Query[] {
  const where: Query[] = [sql`1 = 1`];
  const start = walkStart(query);
  if (start) where.push(start);
  if (end) where.push(upToKey(end));
  else if (query.to !== undefined) where.push(sql`at < ${query.to}`);
  if (query.runId !== undefined) where.push(sql`run_id = ${query.runId}`);
  return where;
}

/** What an event and its run must match to be kept. */
function matchConditions(query: EventQuery): Query[] {
  const where: Query[] = [sql`1 = 1`];
  if (query.tenantId !== undefined) where.push(sql`r.tenant_id = ${query.tenantId}`);
  if (query.createdBy !== undefined) where.push(sql`r.created_by = ${query.createdBy}`);
  if (query.workflow !== undefined) where.push(sql`r.workflow = ${query.workflow}`);
  if (query.types !== undefined) where.push(query.types.length === 0 ? sql`1 = 0` : sql`e.type IN ${inList(query.types)}`);
  if (query.stepId !== undefined) where.push(sql`e.step_id = ${query.stepId}`);
  return where;
}

function workflowEventFromRow(r: Row): WorkflowEvent {
  return { ...eventFromRow(r), workflow: r.workflow as string };
}

/**
 * The last event this page may look at: the `scanLimit`-th of the walk (read from the index
 * alone), or none when the walk ends before it. Found first, so that the page looks at exactly
 * the events up to it, however many are appended meanwhile.
 */
async function walkEnd(db: Db, query: EventQuery): Promise<EventKey | undefined> {
  const [row] = await rows(
    db,
    sql`SELECT at, run_id, seq FROM events WHERE ${sql.join(walkConditions(query), sql` AND `)}
        ORDER BY at, run_id, seq LIMIT 1 OFFSET ${query.scanLimit - 1}`,
  );
  return row ? { at: num(row.at), runId: row.run_id as string, seq: num(row.seq) } : undefined;
}

/** A page of the events matching `query`, in time order, and the cursor of the next one. */
export async function queryEvents(db: Db, query: EventQuery): Promise<EventQueryPage> {
  const end = await walkEnd(db, query);
  const walk = walkConditions(query, end);
  const fetched = (
    await rows(
      db,
      sql`SELECT e.run_id, e.seq, e.type, e.step_id, e.data, e.at, r.workflow
        FROM (SELECT run_id, seq, type, step_id, data, at FROM events WHERE ${sql.join(walk, sql` AND `)}
              ORDER BY at, run_id, seq LIMIT ${query.scanLimit}) e
        CROSS JOIN runs r
        WHERE r.id = e.run_id AND ${sql.join(matchConditions(query), sql` AND `)}
        ORDER BY e.at, e.run_id, e.seq LIMIT ${query.limit + 1}`,
    )
  ).map(workflowEventFromRow);
  const items = fetched.slice(0, query.limit);
  const last = items.at(-1);
  if (fetched.length > query.limit && last) return { items, nextCursor: encodeCursor(last) };
  // Every event up to the walk's end was looked at: the next page starts after it.
  return { items, nextCursor: end ? encodeCursor(end) : null };
}
