/**
 * Schedules, one per workflow. Schedulers advance a schedule past a tick with a
 * compare-and-set on `next_at`, so that of several schedulers one starts each tick.
 */
import { sql } from 'kysely';
import type { ScheduleRecord } from '../../types.js';
import type { Db } from './dialect.js';
import { changed, fromJson, num, numOrNull, rows, type Row } from './values.js';

/** The fields `advanceSchedule` moves. */
export type ScheduleAdvance = Pick<ScheduleRecord, 'nextAt'> & Partial<Pick<ScheduleRecord, 'lastTickAt' | 'lastRunId'>>;

function scheduleFromRow(r: Row): ScheduleRecord {
  return {
    workflow: r.workflow as string,
    tenantId: r.tenant_id as string,
    cron: r.cron as string,
    timezone: r.timezone as string,
    input: fromJson(r.input),
    overlap: r.overlap as ScheduleRecord['overlap'],
    catchUp: r.catch_up as ScheduleRecord['catchUp'],
    paused: Boolean(num(r.paused)),
    nextAt: numOrNull(r.next_at),
    lastTickAt: numOrNull(r.last_tick_at),
    lastRunId: (r.last_run_id as string | null) ?? null,
    updatedAt: num(r.updated_at),
  };
}

export async function listSchedules(db: Db): Promise<ScheduleRecord[]> {
  return (await rows(db, sql`SELECT * FROM schedules ORDER BY workflow`)).map(scheduleFromRow);
}

export async function getSchedule(db: Db, workflow: string): Promise<ScheduleRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM schedules WHERE workflow = ${workflow}`);
  return row ? scheduleFromRow(row) : undefined;
}

/** Inserts or replaces a schedule's definition (keeps `paused`, `last_*` of an existing row). */
export async function saveSchedule(db: Db, s: ScheduleRecord): Promise<void> {
  await sql`INSERT INTO schedules (workflow, tenant_id, cron, timezone, input, overlap, catch_up, paused, next_at,
                                   last_tick_at, last_run_id, updated_at)
    VALUES (${s.workflow}, ${s.tenantId}, ${s.cron}, ${s.timezone}, ${JSON.stringify(s.input ?? null)}, ${s.overlap}, ${s.catchUp},
            ${s.paused ? 1 : 0}, ${s.nextAt}, ${s.lastTickAt}, ${s.lastRunId}, ${s.updatedAt})
    ON CONFLICT (workflow) DO UPDATE SET tenant_id = ${s.tenantId}, cron = ${s.cron}, timezone = ${s.timezone},
      input = ${JSON.stringify(s.input ?? null)}, overlap = ${s.overlap}, catch_up = ${s.catchUp}, next_at = ${s.nextAt},
      updated_at = ${s.updatedAt}`.execute(db);
}

export async function deleteSchedule(db: Db, workflow: string): Promise<void> {
  await sql`DELETE FROM schedules WHERE workflow = ${workflow}`.execute(db);
}

/** Moves a schedule past the tick `expectedNextAt`; false when another scheduler moved it first. */
export function advanceSchedule(db: Db, workflow: string, expectedNextAt: number, patch: ScheduleAdvance, now: number): Promise<boolean> {
  const sets = [sql`next_at = ${patch.nextAt}`, sql`updated_at = ${now}`];
  if (patch.lastTickAt !== undefined) sets.push(sql`last_tick_at = ${patch.lastTickAt}`);
  if (patch.lastRunId !== undefined) sets.push(sql`last_run_id = ${patch.lastRunId}`);
  return changed(db, sql`UPDATE schedules SET ${sql.join(sets)} WHERE workflow = ${workflow} AND next_at = ${expectedNextAt}`);
}

export function setSchedulePaused(db: Db, workflow: string, paused: boolean, nextAt: number | null, now: number): Promise<boolean> {
  return changed(db, sql`UPDATE schedules SET paused = ${paused ? 1 : 0}, next_at = ${nextAt}, updated_at = ${now} WHERE workflow = ${workflow}`);
}
