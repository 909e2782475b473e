/** A run's event log: appended in batches at the end of each transaction, read in sequence order. */
import { sql } from 'kysely';
import type { EventRecord } from '../../types.js';
import type { Db } from './dialect.js';
import { fromJson, insertRowsQuery, num, rows, type Query, type Row } from './values.js';

const EVENT_COLUMNS = ['run_id', 'seq', 'type', 'step_id', 'data', 'at'];

/** An `events` row as its record (also the event query's rows, which add the run's workflow). */
export function eventFromRow(r: Row): EventRecord {
  return {
    runId: r.run_id as string,
    seq: num(r.seq),
    type: r.type as EventRecord['type'],
    stepId: (r.step_id as string | null) ?? null,
    data: fromJson<Record<string, unknown>>(r.data),
    at: num(r.at),
  };
}

/** Inserts `events` (at least one) in one multi-row INSERT: the statement, not yet run. */
export function insertEventsQuery(events: readonly EventRecord[]): Query {
  return insertRowsQuery({
    table: 'events',
    columns: EVENT_COLUMNS,
    rows: events.map((e) => [e.runId, e.seq, e.type, e.stepId, JSON.stringify(e.data), e.at]),
  });
}

/** Up to `limit` events of the run after sequence number `afterSeq`. */
export async function listEvents(db: Db, runId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
  return (await rows(db, sql`SELECT * FROM events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`)).map(eventFromRow);
}
