/**
 * Reading rows and writing values: the helpers every SQL module uses. Rows come back
 * snake_case with JSON as text (SQLite) and BIGINT as numbers (see `../postgres.ts`).
 */
import { CompiledQuery, sql, type RawBuilder } from 'kysely';
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

/**
 * A query whose text never changes, only its parameters (a hot read: `GET /v1/runs/{id}`): built
 * and compiled once per database handle, then sent as that same string. Compiling a `sql`
 * template walks it on every call, and the SQLite store's statement cache (`sqlite-statements.ts`)
 * then hashes the fresh string to find its statement; the one string is hashed once.
 * `parameters` gives the values in the order the template uses them (checked on the first call).
 */
export function fixedQuery<A extends unknown[]>(build: (...args: A) => Query, parameters: (...args: A) => unknown[]): (db: Db, ...args: A) => Promise<Row[]> {
  const texts = new WeakMap<Db, string>();
  return async (db, ...args) => {
    const values = parameters(...args);
    let text = texts.get(db);
    if (text === undefined) {
      const compiled = build(...args).compile(db);
      const same = compiled.parameters.length === values.length && compiled.parameters.every((value, i) => value === values[i]);
      if (!same) throw new AgentryError('internal', 'a fixed query was given its parameters in another order than its text uses them');
      texts.set(db, (text = compiled.sql));
    }
    const result = await db.executeQuery<Row>(CompiledQuery.raw(text, values));
    return result.rows;
  };
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

/** A multi-row INSERT's parts: kept with the statement made of them (`insertRowsQuery`), so a dialect can write it its own way. */
export interface InsertRows {
  /** Table and column names come from the code, never from input. */
  table: string;
  columns: readonly string[];
  rows: readonly (readonly unknown[])[];
}

const insertParts = new WeakMap<Query, InsertRows>();

/**
 * `INSERT INTO table (columns) VALUES (…), (…), …` of `rows` (at least one): the statement, not
 * yet run. Its parts stay with it (`insertRowsOf`): PostgreSQL sends such a statement as one
 * prepared text for any row count (`postgres-recordset.ts`).
 */
export function insertRowsQuery(parts: InsertRows): Query {
  const q = new FlatSql().text(`INSERT INTO ${parts.table} (${parts.columns.join(', ')}) VALUES `);
  parts.rows.forEach((row, i) => (i === 0 ? q : q.text(', ')).list(row));
  const query = q.query();
  insertParts.set(query, parts);
  return query;
}

/** The parts of a statement made by `insertRowsQuery`; undefined for any other. */
export function insertRowsOf(query: Query): InsertRows | undefined {
  return insertParts.get(query);
}

/**
 * A statement written as one text with its values in order: a single `sql` node, so compiling
 * it appends the fragments and binds the values without walking nested fragments, joins and
 * column references (for the statements every step writes; Kysely's walk of those was a
 * measurable share of the worker's CPU). Identifiers are written by the caller, quoted, and
 * only ever come from the code (column maps), never from input.
 */
export class FlatSql {
  private readonly fragments: string[] = [''];
  private readonly values: unknown[] = [];

  /** Appends SQL text. */
  text(text: string): this {
    this.fragments[this.fragments.length - 1] += text;
    return this;
  }

  /** Appends a bound value (a placeholder in the text). */
  value(value: unknown): this {
    this.values.push(value);
    this.fragments.push('');
    return this;
  }

  /** Appends `(v1, v2, …)`. */
  list(values: readonly unknown[]): this {
    this.text('(');
    values.forEach((value, i) => (i === 0 ? this : this.text(', ')).value(value));
    return this.text(')');
  }

  /** Appends `"column" = value, …` for each defined field of `patch` (`assignments`' text). */
  assignments(patch: Record<string, unknown>, columns: Columns): this {
    let first = true;
    for (const key in patch) {
      const value = patch[key];
      if (value === undefined) continue;
      const column = columns[key];
      if (!column) throw new AgentryError('internal', `unknown column for ${key}`);
      const [name, isJson] = column;
      this.text(first ? `"${name}" = ` : `, "${name}" = `).value(isJson ? toJson(value) : value);
      first = false;
    }
    return this;
  }

  query(): Query {
    const strings = Object.assign([...this.fragments], { raw: this.fragments }) as unknown as TemplateStringsArray;
    return sql(strings, ...this.values);
  }
}

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
