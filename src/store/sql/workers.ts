/**
 * The worker registry: each worker process upserts its row as a heartbeat and removes it on
 * shutdown. An operator's drain request is a time on the row (`drain_requested_at`) that the
 * heartbeat keeps and reads back: the worker claims nothing from then on (`queue.ts`).
 */
import { sql } from 'kysely';
import type { WorkerInfo, WorkerRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { changed, fromJson, num, numOrNull, rows, type Row } from './values.js';

function workerFromRow(r: Row): WorkerRecord {
  return {
    id: r.id as string,
    host: r.host as string,
    pid: num(r.pid),
    roles: fromJson<string[]>(r.roles),
    concurrency: num(r.concurrency),
    startedAt: num(r.started_at),
    heartbeatAt: num(r.heartbeat_at),
    drainRequestedAt: numOrNull(r.drain_requested_at),
  };
}

/** Inserts a worker, or moves the heartbeat of one already registered; returns when its drain was requested (null: not). */
export async function upsertWorker(db: Db, w: WorkerInfo): Promise<number | null> {
  const [row] = await rows(
    db,
    sql`INSERT INTO workers (id, host, pid, roles, concurrency, started_at, heartbeat_at)
    VALUES (${w.id}, ${w.host}, ${w.pid}, ${JSON.stringify(w.roles)}, ${w.concurrency}, ${w.startedAt}, ${w.heartbeatAt})
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = ${w.heartbeatAt}
    RETURNING drain_requested_at`,
  );
  return numOrNull(row?.drain_requested_at);
}

export async function removeWorker(db: Db, id: string): Promise<void> {
  await sql`DELETE FROM workers WHERE id = ${id}`.execute(db);
}

export async function listWorkers(db: Db): Promise<WorkerRecord[]> {
  return (await rows(db, sql`SELECT * FROM workers ORDER BY started_at`)).map(workerFromRow);
}

/** Asks a worker to drain (a second request keeps the first one's time); false when there is no such worker. */
export async function requestDrain(db: Db, id: string, at: number): Promise<boolean> {
  return changed(db, sql`UPDATE workers SET drain_requested_at = COALESCE(drain_requested_at, ${at}) WHERE id = ${id}`);
}
