/**
 * Counts for an operator's look at the whole deployment (the support bundle, `agentry status`): every run and
 * step by status, in every tenant, and the database server's version. Plain scans grouped by
 * status: run once per bundle, never on a hot path.
 */
import { sql } from 'kysely';
import type { StatusCounts, StoreKind } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows } from './values.js';

async function byStatus(db: Db, table: 'runs' | 'steps'): Promise<Record<string, number>> {
  const result = await rows(db, sql`SELECT status, count(*) AS n FROM ${sql.table(table)} GROUP BY status ORDER BY status`);
  return Object.fromEntries(result.map((r) => [r.status as string, num(r.n)]));
}

/** Runs and steps by status, in every tenant (statuses with none are absent). */
export async function statusCounts(db: Db): Promise<StatusCounts> {
  return { runs: await byStatus(db, 'runs'), steps: await byStatus(db, 'steps') };
}

/** The database engine's version: SQLite's library version, or the PostgreSQL server's. */
export async function databaseVersion(db: Db, kind: StoreKind): Promise<string> {
  const [row] = await rows(db, kind === 'sqlite' ? sql`SELECT sqlite_version() AS v` : sql`SELECT current_setting('server_version') AS v`);
  return typeof row?.v === 'string' ? row.v : 'unknown';
}
