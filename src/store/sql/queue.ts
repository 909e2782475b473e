/**
 * The queue over the step rows: which steps are due, when the next one is, and the leases
 * workers hold on running attempts (renewed while they run, reclaimed once they lapse).
 */
import { sql } from 'kysely';
import type { AttemptKey } from '../../types.js';
import type { DueStep, ExpiredLease, QueueStats } from '../store-types.js';
import type { Db } from './dialect.js';
import { changed, num, numOrNull, rows } from './values.js';

/** Steps that are queued or waiting and due at `now`, best first. */
export async function dueSteps(db: Db, now: number, limit: number): Promise<DueStep[]> {
  const result = await rows(
    db,
    sql`SELECT run_id, step_id, priority FROM steps
        WHERE status IN ('queued', 'waiting') AND available_at <= ${now}
        ORDER BY priority DESC, available_at
        LIMIT ${limit}`,
  );
  return result.map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, priority: Number(r.priority) }));
}

/** How many steps are due at `now` and unclaimed, and the earliest due time among them (one range scan of `steps_next_due`). */
export async function queueStats(db: Db, now: number): Promise<QueueStats> {
  const [row] = await rows(
    db,
    sql`SELECT count(*) AS depth, min(available_at) AS oldest FROM steps
        WHERE status IN ('queued', 'waiting') AND available_at <= ${now}`,
  );
  return { depth: num(row?.depth ?? 0), oldestDueAt: numOrNull(row?.oldest) };
}

/** Earliest `available_at` among queued or waiting steps, or null. */
export async function nextDueAt(db: Db): Promise<number | null> {
  const [row] = await rows(
    db,
    sql`SELECT available_at AS due FROM steps WHERE status IN ('queued', 'waiting') AND available_at IS NOT NULL
        ORDER BY available_at LIMIT 1`,
  );
  const due = row?.due;
  return due === null || due === undefined ? null : Number(due);
}

/**
 * Extends the leases `workerId` still holds, one UPDATE per key (call it in a transaction;
 * a dialect with a batch form, `SqlDialect.renewLeases`, uses that instead). Returns the held ones.
 */
export async function renewLeasesOneByOne(db: Db, workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]> {
  const held: AttemptKey[] = [];
  for (const key of keys) {
    const renewed = await changed(
      db,
      sql`UPDATE steps SET lease_expires_at = ${expiresAt}
        WHERE run_id = ${key.runId} AND step_id = ${key.stepId} AND attempt = ${key.attempt}
          AND status = 'running' AND lease_owner = ${workerId}`,
    );
    if (renewed) held.push(key);
  }
  return held;
}

export async function expiredLeases(db: Db, now: number, limit: number): Promise<ExpiredLease[]> {
  const result = await rows(
    db,
    sql`SELECT run_id, step_id, attempt, lease_owner FROM steps
        WHERE status = 'running' AND lease_expires_at < ${now}
        ORDER BY lease_expires_at LIMIT ${limit}`,
  );
  return result.map((r) => ({
    runId: r.run_id as string,
    stepId: r.step_id as string,
    attempt: Number(r.attempt),
    leaseOwner: r.lease_owner as string,
  }));
}

/** Attempts `workerId` holds leases on. */
export async function leasesOf(db: Db, workerId: string): Promise<AttemptKey[]> {
  const result = await rows(db, sql`SELECT run_id, step_id, attempt FROM steps WHERE status = 'running' AND lease_owner = ${workerId}`);
  return result.map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, attempt: Number(r.attempt) }));
}
