/**
 * The gateway's upstream limits shared by every process on the database (`gateway/throttle.ts`
 * says what a lane is). A lane is one row: `tat`, when everything handed out on it so far has
 * drained (epoch ms; a missing row is a drained lane). A call's slot is taken on all of its
 * lanes in one transaction with their rows locked (`FOR UPDATE` on PostgreSQL; SQLite's writer
 * is single), so two processes never hand out the same slot.
 */
import { sql } from 'kysely';
import type { LaneMove, LaneTake, LaneTakeResult } from '../store-types.js';
import type { Db } from './dialect.js';
import { inList, num, rows } from './values.js';

const real = (value: number) => sql`CAST(${value} AS DOUBLE PRECISION)`;

/**
 * Takes a slot on every lane of `take` at the same time: the earliest start (at or after `now`)
 * at which each lane has room for its units. When it comes by `take.deadline` each lane moves
 * past it and the start is returned; else nothing changes and `refusedUntil` says when it would
 * have come. Run it in a write transaction.
 */
export async function takeUpstreamSlot(db: Db, take: LaneTake, lockSuffix: string): Promise<LaneTakeResult> {
  const keys = take.lanes.map((lane) => lane.key);
  await sql`INSERT INTO upstream_lanes (lane, tat) VALUES ${sql.join(keys.map((key) => sql`(${key}, ${real(0)})`))}
    ON CONFLICT (lane) DO NOTHING`.execute(db);
  const found = await rows(db, sql`SELECT lane, tat FROM upstream_lanes WHERE lane IN ${inList(keys)} ORDER BY lane ${sql.raw(lockSuffix)}`);
  const tats = new Map(found.map((row) => [String(row.lane), num(row.tat)]));
  const tatOf = (key: string) => tats.get(key) ?? 0;
  // A lane has room for `units` once what it handed out has drained to `capacity - units` (a call
  // larger than the capacity waits for the lane to drain completely).
  const start = Math.max(take.now, ...take.lanes.map((lane) => tatOf(lane.key) - (lane.capacity - Math.min(lane.units, lane.capacity)) / lane.perMs));
  if (start > take.deadline) return { refusedUntil: start };
  for (const lane of take.lanes) {
    await sql`UPDATE upstream_lanes SET tat = ${real(Math.max(tatOf(lane.key), start) + lane.units / lane.perMs)} WHERE lane = ${lane.key}`.execute(db);
  }
  return { start };
}

/** Moves lanes by units they no longer hold (negative) or held beyond their estimate (positive). */
export async function moveUpstreamLanes(db: Db, moves: readonly LaneMove[]): Promise<void> {
  for (const move of moves) {
    await sql`UPDATE upstream_lanes SET tat = tat + ${real(move.units / move.perMs)} WHERE lane = ${move.key}`.execute(db);
  }
}
