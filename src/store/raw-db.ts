/**
 * One plain connection to a database, outside any `Store`: what backups and restores work with.
 * A backup reads every table of a snapshot (a copy of an SQLite file, or one PostgreSQL
 * transaction) and a restore writes every table in one transaction, table by table, which the
 * row-by-row `Store` interface has no use for. Statements are raw SQL; `param(i)` spells the
 * i-th (1-based) parameter the way the dialect wants it (`?` or `$i`).
 *
 *   const db = await openRawPostgres(url);
 *   const rows = await db.rows(`SELECT id FROM runs WHERE status = ${db.param(1)}`, ['queued']);
 *   await db.close();
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { AgentryError } from '../lib/errors.js';
import { resolvePostgresSettings, typeOverrides } from './postgres.js';
import type { StoreKind } from './store-types.js';
import { storeUnavailable } from './transient.js';

export interface RawDb {
  readonly kind: StoreKind;
  /** Where it is, safe to print (no password). */
  readonly location: string;
  /** The placeholder of parameter `i` (1-based). */
  param(i: number): string;
  /** Rows as objects keyed by column name. */
  all(text: string, params?: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Rows as arrays, in the order of the statement's columns. */
  rows(text: string, params?: readonly unknown[]): Promise<unknown[][]>;
  /** Runs a statement that returns no rows; resolves with how many rows it changed. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

/** `"name"`: table and column names are quoted the same way in both dialects. */
export function quoteName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AgentryError('invalid_request', `'${name}' is not a table or column name Agentry uses`);
  return `"${name}"`;
}

/**
 * Opens the SQLite file `file` (which must exist unless `create`). better-sqlite3 is synchronous:
 * each call runs to completion before the promise it returns settles.
 */
export function openRawSqlite(file: string, options: { create?: boolean; busyTimeoutMs?: number } = {}): RawDb {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: options.create !== true });
  } catch (error) {
    throw new AgentryError('store_unavailable', `cannot open sqlite:${file}: ${(error as Error).message}`, { cause: error });
  }
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.pragma('foreign_keys = ON');
  const cache = new Map<string, Database.Statement>();
  const statement = (text: string): Database.Statement => {
    let stmt = cache.get(text);
    if (!stmt) {
      stmt = db.prepare(text);
      // Statements are few and repeated (one SELECT and one INSERT per table and batch size).
      if (cache.size < 200) cache.set(text, stmt);
    }
    return stmt;
  };
  const values = (params: readonly unknown[] | undefined) => (params ?? []) as unknown[];
  return {
    kind: 'sqlite',
    location: `sqlite:${file}`,
    param: () => '?',
    all: (text, params) =>
      Promise.resolve(
        statement(text)
          .raw(false)
          .all(...values(params)) as Array<Record<string, unknown>>,
      ),
    rows: (text, params) =>
      Promise.resolve(
        statement(text)
          .raw(true)
          .all(...values(params)) as unknown[][],
      ),
    run: (text, params) => {
      // A schema change leaves cached statements on the old schema: prepare afresh after one.
      if (/^\s*(CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b/i.test(text)) {
        cache.clear();
        return Promise.resolve(db.prepare(text).run(...values(params)).changes);
      }
      return Promise.resolve(statement(text).run(...values(params)).changes);
    },
    close: () => {
      cache.clear();
      db.close();
      return Promise.resolve();
    },
  };
}

/** Connects one client to the PostgreSQL database at `url` (Agentry's query parameters, such as `pool_size`, are ignored). */
export async function openRawPostgres(url: string): Promise<RawDb> {
  const settings = resolvePostgresSettings(url);
  const client = new pg.Client({
    connectionString: settings.connectionString,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: `${settings.applicationName}-backup`,
    types: typeOverrides(),
  });
  // A connection lost between statements: the next statement fails with the reason.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw storeUnavailable(error, settings.location);
  }
  return {
    kind: 'postgres',
    location: settings.location,
    param: (i) => `$${i}`,
    all: async (text, params) => (await client.query(text, params as unknown[] | undefined)).rows as Array<Record<string, unknown>>,
    rows: async (text, params) => (await client.query({ text, values: params as unknown[] | undefined, rowMode: 'array' })).rows as unknown[][],
    run: async (text, params) => (await client.query(text, params as unknown[] | undefined)).rowCount ?? 0,
    close: () => client.end(),
  };
}
