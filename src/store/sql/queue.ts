/**
 * The queue over the step rows: which steps are due, when the next one is, and the leases
 * workers hold on running attempts (renewed while they run, reclaimed once they lapse).
 */
import { sql } from 'kysely';
import type { AttemptKey } from '../../types.js';
import type { DueStep, ExpiredLease, QueueStats } from '../store-types.js';
import type { Db, SqlDialect } from './dialect.js';
import { changed, num, numOrNull, rows, type Query } from './values.js';

/**
 * Whether a worker may claim at all: not while the fleet is in maintenance mode (quiesce
 * excepted: then workers finish the accepted runs), nor once a drain of this worker was requested. Part of the claim loop's own queries, so it holds from
 * the commit of `maintenance on` or `workers drain` on, at no extra round trip.
 */
function mayClaim(workerId: string | undefined): Query {
  const draining = workerId === undefined ? sql`` : sql` AND NOT EXISTS (SELECT 1 FROM workers WHERE id = ${workerId} AND drain_requested_at IS NOT NULL)`;
  return sql`NOT EXISTS (SELECT 1 FROM maintenance WHERE quiesce = 0)${draining}`;
}

/**
 * Steps that are queued or waiting and due at `now`, best first; none while `workerId` may not
 * claim (`mayClaim`). Queued and waiting steps are read apart, each from its own index
 * (`steps_queued_due` in priority order, `steps_waiting_due` by due time), so that steps parked
 * on timers and people are never walked to find the due ones.
 */
export async function dueSteps(db: Db, now: number, limit: number, workerId?: string, dialect?: SqlDialect): Promise<DueStep[]> {
  // The status is written into the text, not bound: a partial index is only used for a literal.
  const due = (status: 'queued' | 'waiting') =>
    sql`SELECT * FROM (SELECT run_id, step_id, priority, available_at FROM steps
        WHERE status = ${sql.lit(status)} AND available_at <= ${now}
        ORDER BY priority DESC, available_at LIMIT ${limit}) AS ${sql.raw(status)}`;
  // No outer LIMIT: with one, SQLite (3.53) spent 7–9× the CPU on this statement (380–510 µs
  // against 53–57 with 1,300–3,000 steps queued); the union holds 2 × `limit` rows at most, cut here.
  const query = sql`SELECT run_id, step_id, priority FROM (${due('queued')} UNION ALL ${due('waiting')}) AS due
        WHERE ${mayClaim(workerId)}
        ORDER BY priority DESC, available_at`;
  // A claim loop's every poll: through `readMany` where the dialect has it (PostgreSQL prepares it once per connection).
  const result = dialect?.readMany ? ((await dialect.readMany(db, [query]))[0] ?? []) : await rows(db, query);
  return result.slice(0, limit).map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, priority: Number(r.priority) }));
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

/** Earliest `available_at` among queued or waiting steps, or null (also while `workerId` may not claim: it has nothing to wait for). */
export async function nextDueAt(db: Db, workerId?: string): Promise<number | null> {
  const [row] = await rows(
    db,
    sql`SELECT available_at AS due FROM steps WHERE status IN ('queued', 'waiting') AND available_at IS NOT NULL AND ${mayClaim(workerId)}
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

/** How many running steps each worker holds a lease on (workers holding none are absent). */
export async function leaseCounts(db: Db): Promise<Map<string, number>> {
  const result = await rows(db, sql`SELECT lease_owner, count(*) AS n FROM steps WHERE status = 'running' AND lease_owner IS NOT NULL GROUP BY lease_owner`);
  return new Map(result.map((r) => [r.lease_owner as string, num(r.n)]));
}

/** Attempts `workerId` holds leases on. */
export async function leasesOf(db: Db, workerId: string): Promise<AttemptKey[]> {
  const result = await rows(db, sql`SELECT run_id, step_id, attempt FROM steps WHERE status = 'running' AND lease_owner = ${workerId}`);
  return result.map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, attempt: Number(r.attempt) }));
}
