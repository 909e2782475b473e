/** The embedded store: one SQLite file in WAL mode, for a single host. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Db, SqlDialect } from './sql/dialect.js';
import { SqlStore } from './sql-store.js';
import { withStatementCache } from './sqlite-statements.js';
import { artifactsDirOf } from './artifacts.js';
import type { StoreObserver } from './store-types.js';

const sqliteDialect: SqlDialect = {
  kind: 'sqlite',
  lockSuffix: '',
  skipLockedSuffix: '',
  // The host's clock as SQLite reads it (the same host as the process: a skew shows a broken clock source).
  clockSql: sql`SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER) AS t`,
  // One connection (Kysely serialises its use); BEGIN IMMEDIATE takes the write lock up
  // front so a transaction never fails half-way upgrading a read lock.
  //
  // Each transaction starts on a turn of the event loop of its own, once it has the connection.
  // better-sqlite3 answers synchronously and Kysely hands the connection to the next waiter
  // through a promise, so without this the transactions queued behind each other (a worker pool busy with a large
  // `for_each`) would run back to back as one chain of microtasks, holding off timers and
  // sockets (HTTP requests, heartbeats, lease renewals) until the queue ran dry.
  async transaction(db, fn) {
    return db.connection().execute(async (conn) => {
      await nextTurn();
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (error) {
        // SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR): then ROLLBACK
        // fails with "no transaction is active", and the error to report is still the first.
        await sql`ROLLBACK`.execute(conn).catch((rollbackError: unknown) => {
          if (!/no transaction is active/.test((rollbackError as Error).message)) throw rollbackError;
        });
        throw error;
      }
    });
  },
  // BEGIN IMMEDIATE in each migration's transaction already serialises writers.
  withMigrationLock(db, fn) {
    return fn(db);
  },
  // One host: the process that makes work due is the one that runs it (its in-process
  // notifier already woke); there is nobody else to tell.
  publishWake() {
    return Promise.resolve();
  },
  subscribeWake() {
    return () => undefined;
  },
  close(db) {
    return db.destroy();
  },
};

export interface SqliteOptions {
  /** Milliseconds to wait for another process's write lock before failing. */
  busyTimeoutMs?: number;
  now?: () => number;
  /** Told how each write transaction ends (the process's metrics). */
  observer?: StoreObserver;
}

export function openSqliteStore(file: string, options: SqliteOptions = {}): SqlStore {
  const path = file === ':memory:' ? file : resolve(file);
  // A folder it creates (`.agentry/` by default) is the service user's alone: the database holds
  // runs' inputs and outputs. An existing folder keeps its mode (the image's /data is 0750).
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  const db: Db = new Kysely({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  // Artifacts beside the database (`.agentry/artifacts/` by default); an in-memory store keeps them in its table.
  const artifacts = path === ':memory:' ? undefined : artifactsDirOf(path);
  return new SqlStore(db, sqliteDialect, `sqlite:${path}`, options.now, options.observer, artifacts);
}
