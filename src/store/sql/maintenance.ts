/**
 * The fleet's maintenance mode: one row (`id = 1`) while it is on. Without `quiesce`, no worker
 * claims a step while it exists (`queue.ts`); the API keeps answering and runs started meanwhile
 * queue. With `quiesce`, workers claim as usual (the runs already accepted finish) and the API
 * refuses new runs (`app/runs.ts`).
 */
import { sql } from 'kysely';
import type { MaintenanceRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Row } from './values.js';

function fromRow(row: Row | undefined): MaintenanceRecord | null {
  if (row === undefined) return null;
  return {
    reason: (row.reason as string | null) ?? null,
    quiesce: Boolean(num(row.quiesce)),
    startedAt: num(row.started_at),
    startedBy: row.started_by as string,
  };
}

export async function getMaintenance(db: Db): Promise<MaintenanceRecord | null> {
  return fromRow((await rows(db, sql`SELECT reason, quiesce, started_at, started_by FROM maintenance WHERE id = 1`))[0]);
}

/** Turns it on (when already on, the reason and the mode change, not since when or by whom); returns what is in force. */
export async function startMaintenance(db: Db, m: MaintenanceRecord): Promise<MaintenanceRecord> {
  const [row] = await rows(
    db,
    sql`INSERT INTO maintenance (id, reason, quiesce, started_at, started_by) VALUES (1, ${m.reason}, ${m.quiesce ? 1 : 0}, ${m.startedAt}, ${m.startedBy})
    ON CONFLICT (id) DO UPDATE SET reason = ${m.reason}, quiesce = ${m.quiesce ? 1 : 0}
    RETURNING reason, quiesce, started_at, started_by`,
  );
  return fromRow(row)!;
}

/** Turns it off; returns what was in force (null: it was off). */
export async function endMaintenance(db: Db): Promise<MaintenanceRecord | null> {
  return fromRow((await rows(db, sql`DELETE FROM maintenance WHERE id = 1 RETURNING reason, quiesce, started_at, started_by`))[0]);
}
