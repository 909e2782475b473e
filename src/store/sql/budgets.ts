/**
 * LLM budgets across processes: check-and-reserve, settle, expiry.
 *
 * Every budget scope and period (a run; a workflow's or a tenant's UTC day or month) has a key
 * (`scopeKey`). `budget_counters` holds, per key, what the ledger (`llm_calls`) holds for it: the
 * row is created from the ledger's sum the first time a budget checks that key, and every call
 * recorded afterwards adds to it. `budget_reservations` holds the worst cases of attempts in
 * flight, one row per attempt and key, until the attempt is recorded or the row expires.
 *
 * Both a check-and-reserve and a recording take the keys' locks (PostgreSQL: transaction
 * advisory locks, in key order so two transactions never wait on each other in a cycle; SQLite:
 * `BEGIN IMMEDIATE` already serialises writers), so a check sees every call recorded and every
 * reservation made before it, and the next check sees its reservation. Expired reservations
 * never count: a process that died mid-call holds budget until its reservation expires, no longer.
 */
import { sql } from 'kysely';
import { daysSpanMs, monthDays, utcDay, utcMonth } from '../../lib/time.js';
import type { BudgetReservation, BudgetState, CallRecord, Spend, SpendQuery } from '../../types.js';
import type { Db, SqlDialect } from './dialect.js';
import { changed, num, rows } from './values.js';

/** How long a counter no call changed is kept; a pruned counter is rebuilt from the ledger when a budget needs it again. */
const COUNTER_KEEP_MS = 40 * 86_400_000;

/**
 * The key of a scope and period. Tenant ids are URI-encoded (they hold no `:` then), periods
 * have fixed shapes, and the workflow name, the one free-form part, comes last: keys of
 * different scopes never collide.
 */
export function scopeKey(q: SpendQuery): string {
  if (q.scope === 'run') return `run:${q.runId}`;
  const period = q.day !== undefined ? `day:${q.day}` : `month:${q.month}`;
  const tenant = encodeURIComponent(q.tenantId);
  return q.scope === 'tenant' ? `tenant:${tenant}:${period}` : `workflow:${tenant}:${period}:${q.workflow}`;
}

/** Every scope a call record counts in: its tenant's day and month, its workflow's day and month, its run. */
export function recordScopes(r: CallRecord): SpendQuery[] {
  const day = utcDay(r.at);
  const month = utcMonth(r.at);
  const scopes: SpendQuery[] = [
    { scope: 'tenant', tenantId: r.tenantId, day },
    { scope: 'tenant', tenantId: r.tenantId, month },
  ];
  if (r.workflow !== null) {
    scopes.push(
      { scope: 'workflow', tenantId: r.tenantId, workflow: r.workflow, day },
      { scope: 'workflow', tenantId: r.tenantId, workflow: r.workflow, month },
    );
  }
  if (r.runId !== null) scopes.push({ scope: 'run', runId: r.runId });
  return scopes;
}

/** Tokens (input + output) and cost of the ledger's records in a scope: a run, or a tenant's (or one of its workflows') UTC day or month. */
export async function ledgerSpent(db: Db, q: SpendQuery): Promise<Spend> {
  let where;
  if (q.scope === 'run') where = sql`run_id = ${q.runId}`;
  else {
    const days = q.day !== undefined ? { first: q.day, last: q.day } : monthDays(q.month);
    // By `at` (the UTC day a record's `day` names is its `at`'s): the ledger's indexes are by tenant (and workflow) and time.
    const span = daysSpanMs(days.first, days.last);
    const period = sql`at >= ${span.from} AND at < ${span.until}`;
    where = q.scope === 'workflow' ? sql`tenant_id = ${q.tenantId} AND workflow = ${q.workflow} AND ${period}` : sql`tenant_id = ${q.tenantId} AND ${period}`;
  }
  const [row] = await rows(
    db,
    sql`SELECT COALESCE(SUM(input_tokens + output_tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost FROM llm_calls WHERE ${where}`,
  );
  return { tokens: num(row?.tokens ?? 0), costUsd: num(row?.cost ?? 0) };
}

/** Takes the budget locks of `keys` (each once, in key order) until the transaction ends. */
export async function lockKeys(trx: Db, dialect: SqlDialect, keys: readonly string[]): Promise<void> {
  if (!dialect.keyLock) return;
  for (const key of [...new Set(keys)].sort()) await dialect.keyLock(`budget:${key}`).execute(trx);
}

/** What the counter of `key` holds, creating it from the ledger when there is none (call with the key's lock held). */
async function counter(trx: Db, q: SpendQuery, key: string, now: number): Promise<Spend> {
  const [row] = await rows(trx, sql`SELECT spent_tokens, spent_usd FROM budget_counters WHERE scope_key = ${key}`);
  if (row) return { tokens: num(row.spent_tokens), costUsd: num(row.spent_usd) };
  const spent = await ledgerSpent(trx, q);
  await sql`INSERT INTO budget_counters (scope_key, spent_tokens, spent_usd, updated_at)
    VALUES (${key}, ${spent.tokens}, ${spent.costUsd}, ${now}) ON CONFLICT (scope_key) DO NOTHING`.execute(trx);
  return spent;
}

/** The worst cases live reservations of `key` hold at `at`. */
async function reservedOn(db: Db, key: string, at: number): Promise<Spend> {
  const [row] = await rows(
    db,
    sql`SELECT COALESCE(SUM(tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost
      FROM budget_reservations WHERE scope_key = ${key} AND expires_at > ${at}`,
  );
  return { tokens: num(row?.tokens ?? 0), costUsd: num(row?.cost ?? 0) };
}

/**
 * Check-and-reserve, inside one write transaction: locks the scopes' keys, drops their expired
 * reservations, reads each scope's state and, when `admit` accepts the states, reserves
 * `r.amount` on every scope until `r.expiresAt`.
 */
export async function reserve(
  trx: Db,
  dialect: SqlDialect,
  r: BudgetReservation,
  admit: (states: BudgetState[]) => boolean,
): Promise<{ admitted: boolean; states: BudgetState[] }> {
  const keys = r.scopes.map(scopeKey);
  await lockKeys(trx, dialect, keys);
  if (keys.length > 0) await sql`DELETE FROM budget_reservations WHERE scope_key IN (${sql.join(keys)}) AND expires_at <= ${r.at}`.execute(trx);
  const states: BudgetState[] = [];
  for (const [i, key] of keys.entries()) {
    states.push({ spent: await counter(trx, r.scopes[i]!, key, r.at), reserved: await reservedOn(trx, key, r.at) });
  }
  if (!admit(states)) return { admitted: false, states };
  for (const key of new Set(keys)) {
    await sql`INSERT INTO budget_reservations (id, scope_key, tokens, cost_usd, created_at, expires_at)
      VALUES (${r.id}, ${key}, ${r.amount.tokens}, ${r.amount.costUsd}, ${r.at}, ${r.expiresAt})`.execute(trx);
  }
  return { admitted: true, states };
}

/**
 * Records one attempt of an LLM call and settles its reservation, inside one write transaction:
 * the record is added to the counters of its scopes and its reservation (same id) is dropped,
 * so a check sees either the reservation or the record, never both, never neither. Recording
 * the same call id again changes nothing.
 */
export async function recordCall(trx: Db, dialect: SqlDialect, r: CallRecord, now: number): Promise<void> {
  const keys = recordScopes(r).map(scopeKey);
  await lockKeys(trx, dialect, keys);
  await insertCall(trx, r, keys, now);
  await sql`DELETE FROM budget_reservations WHERE id = ${r.id}`.execute(trx);
}

/**
 * Adds a call record to the ledger and, when it is new, to the counters of its scopes (`keys`,
 * whose locks the caller holds); true when it was new. Recording the same call id again changes nothing.
 */
export async function insertCall(trx: Db, r: CallRecord, keys: readonly string[], now: number): Promise<boolean> {
  const inserted = await changed(
    trx,
    sql`INSERT INTO llm_calls (id, tenant_id, run_id, step_id, workflow, model_group, provider, model,
        input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, outcome, error_code, cache_hit, day, at)
      VALUES (${r.id}, ${r.tenantId}, ${r.runId}, ${r.stepId}, ${r.workflow}, ${r.group}, ${r.provider}, ${r.model},
        ${r.inputTokens}, ${r.outputTokens}, ${r.cachedTokens ?? 0}, ${r.reasoningTokens ?? 0}, ${r.costUsd}, ${r.latencyMs}, ${r.outcome},
        ${r.errorCode ?? null}, ${r.cacheHit === true ? 1 : 0}, ${utcDay(r.at)}, ${r.at})
      ON CONFLICT (id) DO NOTHING`,
  );
  if (inserted) {
    await sql`UPDATE budget_counters
      SET spent_tokens = spent_tokens + ${r.inputTokens + r.outputTokens}, spent_usd = spent_usd + ${r.costUsd}, updated_at = ${now}
      WHERE scope_key IN (${sql.join(keys)})`.execute(trx);
  }
  return inserted;
}

/** Keeps a live reservation for longer (an attempt still running); false when it is gone (settled, or expired and dropped). */
export function renewReservation(db: Db, id: string, expiresAt: number): Promise<boolean> {
  return changed(db, sql`UPDATE budget_reservations SET expires_at = ${expiresAt} WHERE id = ${id}`);
}

/**
 * Deletes expired reservations and counters no call changed for 40 days (a counter is rebuilt
 * from the ledger when a budget needs it again, so dropping one is always safe).
 */
export async function pruneBudgets(db: Db, now: number): Promise<{ reservations: number; counters: number }> {
  const reservations = await sql`DELETE FROM budget_reservations WHERE expires_at <= ${now}`.execute(db);
  const counters = await sql`DELETE FROM budget_counters WHERE updated_at < ${now - COUNTER_KEEP_MS}`.execute(db);
  return { reservations: Number(reservations.numAffectedRows ?? 0), counters: Number(counters.numAffectedRows ?? 0) };
}

/** A scope's state for display: what the ledger holds and what live reservations hold (no locks: a snapshot). */
export async function budgetState(db: Db, q: SpendQuery, at: number): Promise<BudgetState> {
  return { spent: await ledgerSpent(db, q), reserved: await reservedOn(db, scopeKey(q), at) };
}
