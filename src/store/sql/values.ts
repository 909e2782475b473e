/**
 * Reading rows and writing values: the helpers every SQL module uses. Rows come back
 * snake_case with JSON as text (SQLite) and BIGINT as numbers (see `../postgres.ts`).
 */
import { sql, type RawBuilder } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { Db } from './dialect.js';

export type Row = Record<string, unknown>;
export type Query = RawBuilder<unknown>;

/** Runs `query` on `db` (a pool or a transaction) and returns its rows. */
export async function rows(db: Db, query: Query): Promise<Row[]> {
  const result = await query.execute(db);
  return result.rows as Row[];
}

/** Runs a write and tells whether it changed any row (a compare-and-set that held). */
export async function changed(db: Db, query: Query): Promise<boolean> {
  const result = await query.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T = unknown>(text: unknown): T {
  if (text === null || text === undefined) return null as T;
  return (typeof text === 'string' ? JSON.parse(text) : text) as T;
}

export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** `IN (…)` over a list of values. */
export function inList(values: readonly unknown[]): Query {
  return sql`(${sql.join(values.map((value) => sql`${value}`))})`;
}

/** Column name of each patchable field of a record, and whether the column holds JSON. */
export type Columns = Readonly<Record<string, readonly [string, boolean]>>;

/** `column = value` for each defined field of `patch`. */
export function assignments(patch: Record<string, unknown>, columns: Columns): Query[] {
  const parts: Query[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const column = columns[key];
    if (!column) throw new AgentryError('internal', `unknown column for ${key}`);
    const [name, isJson] = column;
    parts.push(sql`${sql.ref(name)} = ${isJson ? toJson(value) : value}`);
  }
  return parts;
}
