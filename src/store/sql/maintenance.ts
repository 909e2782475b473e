/**
 * The fleet's maintenance mode: one row (`id = 1`) while it is on. No worker claims a step
 * while it exists (`queue.ts`); the API keeps answering and runs started meanwhile queue.
 */
import { sql } from 'kysely';
import type { MaintenanceRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Row } from './values.js';

function fromRow(row: Row | undefined): MaintenanceRecord | null {
  if (row === undefined) return null;
  return { reason: (row.reason as string | null) ?? null, startedAt: num(row.started_at), startedBy: row.started_by as string };
}

export async function getMaintenance(db: Db): Promise<MaintenanceRecord | null> {
  return fromRow((await rows(db, sql`SELECT reason, started_at, started_by FROM maintenance WHERE id = 1`))[0]);
}

/** Turns it on (when already on, only the reason changes); returns what is in force. */
export async function startMaintenance(db: Db, m: MaintenanceRecord): Promise<MaintenanceRecord> {
  const [row] = await rows(
    db,
    sql`INSERT INTO maintenance (id, reason, started_at, started_by) VALUES (1, ${m.reason}, ${m.startedAt}, ${m.startedBy})
    ON CONFLICT (id) DO UPDATE SET reason = ${m.reason}
    RETURNING reason, started_at, started_by`,
  );
  return fromRow(row)!;
}

/** Turns it off; returns what was in force (null: it was off). */
export async function endMaintenance(db: Db): Promise<MaintenanceRecord | null> {
  return fromRow((await rows(db, sql`DELETE FROM maintenance WHERE id = 1 RETURNING reason, started_at, started_by`))[0]);
}
