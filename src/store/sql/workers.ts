/** The worker registry: each worker process upserts its row as a heartbeat and removes it on shutdown. */
import { sql } from 'kysely';
import type { WorkerInfo } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, num, rows, type Row } from './values.js';

function workerFromRow(r: Row): WorkerInfo {
  return {
    id: r.id as string,
    host: r.host as string,
    pid: num(r.pid),
    roles: fromJson<string[]>(r.roles),
    concurrency: num(r.concurrency),
    startedAt: num(r.started_at),
    heartbeatAt: num(r.heartbeat_at),
  };
}

/** Inserts a worker, or moves the heartbeat of one already registered. */
export async function upsertWorker(db: Db, w: WorkerInfo): Promise<void> {
  await sql`INSERT INTO workers (id, host, pid, roles, concurrency, started_at, heartbeat_at)
    VALUES (${w.id}, ${w.host}, ${w.pid}, ${JSON.stringify(w.roles)}, ${w.concurrency}, ${w.startedAt}, ${w.heartbeatAt})
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = ${w.heartbeatAt}`.execute(db);
}

export async function removeWorker(db: Db, id: string): Promise<void> {
  await sql`DELETE FROM workers WHERE id = ${id}`.execute(db);
}

export async function listWorkers(db: Db): Promise<WorkerInfo[]> {
  return (await rows(db, sql`SELECT * FROM workers ORDER BY started_at`)).map(workerFromRow);
}
