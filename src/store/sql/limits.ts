/**
 * Rate-limit token buckets and per-tenant run quotas (`app/limits.ts` says what is limited).
 *
 * A bucket is one row; a take is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` that refills
 * the bucket for the time since its last take, takes a token when there is one, and returns
 * what it did. The row is locked for the statement only, so API processes sharing a PostgreSQL
 * database share the bucket without a read-then-write race. `full_at` (when the bucket is full
 * again) lets idle rows be deleted: a missing row and a full bucket are the same thing.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { RateTake, RateTakeResult, RunQuota, TenantRunUsage } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Query } from './values.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

function real(value: number): Query {
  return sql`CAST(${value} AS DOUBLE PRECISION)`;
}

/** Takes one token from a bucket (created full on its first take). */
export async function takeRateToken(db: Db, take: RateTake, now: number): Promise<RateTakeResult> {
  const capacity = real(take.capacity);
  const perMs = real(take.perMs);
  // The level before this take: the stored tokens plus the refill since the last take (never
  // negative, should another process's clock be behind), at most the capacity.
  const refilled = sql`rate_buckets.tokens + CASE WHEN ${now} > rate_buckets.updated_at THEN (${now} - rate_buckets.updated_at) * ${perMs} ELSE 0 END`;
  const level = sql`CASE WHEN ${refilled} > ${capacity} THEN ${capacity} ELSE ${refilled} END`;
  const after = sql`CASE WHEN ${level} >= 1 THEN ${level} - 1 ELSE ${level} END`;
  const [row] = await rows(
    db,
    sql`INSERT INTO rate_buckets (bucket, tokens, updated_at, full_at, taken)
        VALUES (${take.bucket}, ${real(take.capacity - 1)}, ${now}, ${now + Math.ceil(1 / take.perMs)}, 1)
        ON CONFLICT (bucket) DO UPDATE SET
          tokens = ${after},
          taken = CASE WHEN ${level} >= 1 THEN 1 ELSE 0 END,
          updated_at = CASE WHEN ${now} > rate_buckets.updated_at THEN ${now} ELSE rate_buckets.updated_at END,
          full_at = CAST(${now} + (${capacity} - (${after})) / ${perMs} AS BIGINT)
        RETURNING tokens, taken, full_at`,
  );
  if (!row) throw new AgentryError('internal', `rate bucket ${take.bucket} returned no row`);
  return { allowed: num(row.taken) === 1, tokens: num(row.tokens), fullAt: num(row.full_at) };
}

/** Deletes buckets that are full again by `now` (as good as absent); returns how many. */
export async function pruneRateBuckets(db: Db, now: number): Promise<number> {
  const result = await sql`DELETE FROM rate_buckets WHERE full_at < ${now}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

function quotaExceeded(tenantId: string, quota: string, limit: number, current: number, what: string, retryAfterMs?: number): AgentryError {
  const wait = retryAfterMs === undefined ? '' : `; try again in ${Math.ceil(retryAfterMs / 1000)} s`;
  return new AgentryError('quota_exceeded', `tenant ${tenantId} has ${current} ${what}, its quota ${quota} is ${limit}${wait}`, {
    retryable: true,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    details: { tenant: tenantId, quota, limit, current },
  });
}

/**
 * Throws `quota_exceeded` when one more run of `tenantId` created at `now` would pass a quota.
 * Call it in the transaction that inserts the run, after taking the tenant's lock: the counts
 * then include every run committed before, and no other start of the tenant can commit between
 * the count and the insert.
 *
 * The counts come from the counters the `runs` triggers keep (migration 24), not from counting
 * runs: a start reads a few counter rows however many runs the tenant has.
 */
export async function checkRunQuota(db: Db, tenantId: string, quota: RunQuota, now: number): Promise<void> {
  const { maxConcurrentRuns, maxRunsPerHour } = quota;
  if (maxConcurrentRuns !== null) {
    const active = await activeRuns(db, tenantId);
    if (active >= maxConcurrentRuns) throw quotaExceeded(tenantId, 'max_concurrent_runs', maxConcurrentRuns, active, 'runs that have not ended');
  }
  if (maxRunsPerHour !== null) {
    const started = await runsStartedSince(db, tenantId, now - HOUR_MS, maxRunsPerHour);
    if (started >= maxRunsPerHour) {
      const since = now - HOUR_MS;
      // The window holds one run fewer than the quota once the (started - max + 1) oldest have left it.
      const [oldest] = await rows(
        db,
        sql`SELECT created_at FROM runs WHERE tenant_id = ${tenantId} AND created_at > ${since}
            ORDER BY created_at LIMIT 1 OFFSET ${started - maxRunsPerHour}`,
      );
      const retryAfterMs = oldest ? Math.max(1_000, num(oldest.created_at) + HOUR_MS - now + 1) : HOUR_MS;
      throw quotaExceeded(tenantId, 'max_runs_per_hour', maxRunsPerHour, started, 'runs started in the last hour', retryAfterMs);
    }
  }
}

/** Runs of the tenant not yet ended: the sum of its counter shards. */
async function activeRuns(db: Db, tenantId: string): Promise<number> {
  const [row] = await rows(db, sql`SELECT COALESCE(SUM(active), 0) AS n FROM tenant_run_counts WHERE tenant_id = ${tenantId}`);
  return num(row?.n ?? 0);
}

/**
 * Runs of the tenant created after `since`, exactly when the answer may reach `limit` (else a
 * count below it). The per-minute counters give the whole minutes after `since`; the minute that
 * `since` falls in is counted from its counter when even all of it stays under `limit`, and from
 * the runs themselves (at most one minute of them, by `runs_by_created`) otherwise.
 */
async function runsStartedSince(db: Db, tenantId: string, since: number, limit: number): Promise<number> {
  const edge = Math.floor(since / MINUTE_MS);
  const [row] = await rows(
    db,
    sql`SELECT COALESCE(SUM(CASE WHEN minute > ${edge} THEN n ELSE 0 END), 0) AS whole,
               COALESCE(SUM(CASE WHEN minute = ${edge} THEN n ELSE 0 END), 0) AS edge
        FROM tenant_run_starts WHERE tenant_id = ${tenantId} AND minute >= ${edge}`,
  );
  const whole = num(row?.whole ?? 0);
  const atMost = whole + num(row?.edge ?? 0);
  if (atMost < limit) return atMost;
  const [partial] = await rows(
    db,
    sql`SELECT COUNT(*) AS n FROM runs WHERE tenant_id = ${tenantId} AND created_at > ${since} AND created_at < ${(edge + 1) * MINUTE_MS}`,
  );
  return whole + num(partial?.n ?? 0);
}

/** Deletes per-minute start counters that left every quota's window before `now`; returns how many. */
export async function pruneRunStartCounters(db: Db, now: number): Promise<number> {
  const result = await sql`DELETE FROM tenant_run_starts WHERE minute < ${Math.floor((now - HOUR_MS) / MINUTE_MS)}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Runs not yet ended and runs created in the hour before `now`, per tenant (one tenant, or every tenant that has any). */
export async function tenantRunUsage(db: Db, now: number, tenantId?: string): Promise<TenantRunUsage[]> {
  const since = now - HOUR_MS;
  const edge = Math.floor(since / MINUTE_MS);
  const tenant = tenantId === undefined ? sql`` : sql`AND tenant_id = ${tenantId}`;
  const counted = await rows(
    db,
    sql`SELECT tenant_id, SUM(active) AS active, 0 AS whole FROM tenant_run_counts WHERE 1 = 1 ${tenant} GROUP BY tenant_id
        UNION ALL
        SELECT tenant_id, 0 AS active, SUM(n) AS whole FROM tenant_run_starts WHERE minute > ${edge} ${tenant} GROUP BY tenant_id
        UNION ALL
        SELECT tenant_id, 0 AS active, 0 AS whole FROM tenant_run_starts WHERE minute = ${edge} ${tenant} GROUP BY tenant_id`,
  );
  const usage = new Map<string, TenantRunUsage>();
  for (const row of counted) {
    const id = row.tenant_id as string;
    const entry = usage.get(id) ?? { tenantId: id, activeRuns: 0, runsLastHour: 0 };
    entry.activeRuns += num(row.active);
    entry.runsLastHour += num(row.whole);
    usage.set(id, entry);
  }
  for (const entry of usage.values()) {
    // The minute `since` falls in, counted from the runs themselves (by `runs_by_created`).
    const [partial] = await rows(
      db,
      sql`SELECT COUNT(*) AS n FROM runs WHERE tenant_id = ${entry.tenantId} AND created_at > ${since} AND created_at < ${(edge + 1) * MINUTE_MS}`,
    );
    entry.runsLastHour += num(partial?.n ?? 0);
  }
  return [...usage.values()]
    .filter((u) => u.activeRuns > 0 || u.runsLastHour > 0)
    .sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}
