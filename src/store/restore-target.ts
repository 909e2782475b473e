/**
 * The store a backup is restored into: what it holds now, dropping Agentry's tables from it,
 * and loading a backup's rows into it in one transaction (all or nothing).
 *
 * A restored store continues as if every process of the old one had crashed at the moment of
 * the backup: the `workers` rows (processes that are not running here) and `schema_migrations`
 * (the target keeps its own history) are not loaded, and the lease of every step that was
 * running lapses at the restore, so the first scheduler sweep after it hands each such step
 * out again as a new attempt — what it does when a worker dies (`engine/failure.ts`).
 *
 * An SQLite target is held with the server lock while it is restored (a server running on it
 * is refused, and none can start meanwhile); a PostgreSQL one with workers that beat recently
 * is refused (`liveWorkers`), and one restore at a time holds it (a session advisory lock).
 */
import { hostname } from 'node:os';
import { AgentryError } from '../lib/errors.js';
import { dataRowCounts, describeAgentryTables, presentAgentryTables, type TableInfo } from './backup-tables.js';
import type { DatabaseLocation } from './database-url.js';
import { openRawPostgres, openRawSqlite, quoteName, type RawDb } from './raw-db.js';
import { acquireSqliteServerLock, type SqliteServerLock } from './sqlite-server-lock.js';
import type { StoreKind } from './store-types.js';
import { processRunning } from '../lib/process-alive.js';

/** Tables a restore does not load, and why. */
export const NOT_RESTORED: Readonly<Record<string, string>> = {
  schema_migrations: 'the restored store keeps its own migration history',
  workers: 'the processes they name do not run on the restored store',
  step_item_counts: "derived from the map items: the steps table's triggers recount them as its rows are loaded",
  tenant_run_counts: "derived from the runs: the runs table's triggers recount them as its rows are loaded",
  tenant_run_starts: "derived from the runs: the runs table's triggers recount them as its rows are loaded",
  run_labels: "derived from the runs' metadata: the runs table's trigger enters each run's labels as its rows are loaded",
};

/** Key of the PostgreSQL session advisory lock a restore holds (any constant bigint other than the migrations'). */
const RESTORE_LOCK_KEY = 4_216_734_003;
/** A worker whose heartbeat is this recent may still be running. */
const LIVE_WORKER_MS = 60_000;
/** Rows per INSERT (and at most this many parameters in one). */
const MAX_BATCH = 500;
const MAX_PARAMS = 30_000;

export interface LiveWorker {
  id: string;
  host: string;
  pid: number;
  heartbeatAt: number;
}

export interface TargetState {
  /** The last migration applied (0: none, an empty database). */
  schemaVersion: number;
  /** Agentry tables present, in creation order. */
  tables: string[];
  /** Rows of user data by table (empty: nothing would be lost by restoring over it). */
  data: Record<string, number>;
  /** Workers that beat in the last minute (PostgreSQL; an SQLite target is guarded by its lock). */
  liveWorkers: LiveWorker[];
}

/** What a load did besides inserting rows. */
export interface LoadReport {
  /** Steps that were running (under a worker's lease): their lease lapses at the restore. */
  runningSteps: number;
}

/** Inserts rows inside the load's transaction. */
export interface TableLoader {
  /** The target's Agentry tables (at the schema version it was migrated to). */
  readonly tables: readonly TableInfo[];
  /** Inserts rows of `table` (values in the order of `columns`). */
  insert(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /** Rows per `insert` call that fit one statement for this many columns. */
  batchSize(columns: number): number;
}

export interface RestoreTarget {
  readonly kind: StoreKind;
  readonly location: string;
  inspect(now: number): Promise<TargetState>;
  /** Drops every Agentry table (other tables stay), in one transaction; returns their names. */
  dropAgentryTables(): Promise<string[]>;
  /**
   * In one transaction: deletes every row of the Agentry tables (a freshly migrated store has
   * bookkeeping rows the backup replaces), lets `fn` insert the backup's rows, makes the lease of
   * every running step lapse at `now`. Any error rolls everything back.
   */
  load(now: number, fn: (loader: TableLoader) => Promise<void>): Promise<LoadReport>;
  close(): Promise<void>;
}

async function liveWorkers(db: RawDb, tables: readonly string[], now: number): Promise<LiveWorker[]> {
  if (db.kind === 'sqlite' || !tables.includes('workers')) return [];
  const rows = await db.all(`SELECT id, host, pid, heartbeat_at FROM workers WHERE heartbeat_at > ${db.param(1)} ORDER BY heartbeat_at DESC`, [
    now - LIVE_WORKER_MS,
  ]);
  const here = hostname();
  return rows
    .map((r) => ({ id: String(r.id), host: String(r.host), pid: Number(r.pid), heartbeatAt: Number(r.heartbeat_at) }))
    .filter((w) => w.host !== here || processRunning(w.pid));
}

async function inTransaction<T>(db: RawDb, fn: () => Promise<T>): Promise<T> {
  await db.run(db.kind === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  try {
    const result = await fn();
    await db.run('COMMIT');
    return result;
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function loaderOf(db: RawDb, tables: readonly TableInfo[]): TableLoader {
  return {
    tables,
    batchSize: (columns) => Math.max(1, Math.min(MAX_BATCH, Math.floor(MAX_PARAMS / Math.max(1, columns)))),
    async insert(table, columns, rows) {
      if (rows.length === 0 || table in NOT_RESTORED) return;
      let n = 0;
      const values = rows.map((row) => `(${row.map(() => db.param(++n)).join(', ')})`).join(', ');
      await db.run(`INSERT INTO ${quoteName(table)} (${columns.map(quoteName).join(', ')}) VALUES ${values}`, rows.flat());
    },
  };
}

function targetOn(db: RawDb, lock: SqliteServerLock | undefined): RestoreTarget {
  return {
    kind: db.kind,
    location: db.location,
    async inspect(now) {
      const tables = await presentAgentryTables(db);
      let schemaVersion = 0;
      if (tables.includes('schema_migrations')) schemaVersion = Number((await db.rows('SELECT MAX(version) FROM schema_migrations'))[0]?.[0] ?? 0);
      return { schemaVersion, tables, data: await dataRowCounts(db, tables), liveWorkers: await liveWorkers(db, tables, now) };
    },
    async dropAgentryTables() {
      const tables = await presentAgentryTables(db);
      await inTransaction(db, async () => {
        // Tables that reference others were created after them: drop in reverse.
        for (const table of [...tables].reverse()) await db.run(`DROP TABLE ${quoteName(table)}`);
      });
      return tables;
    },
    async load(now, fn) {
      const tables = await describeAgentryTables(db);
      return inTransaction(db, async () => {
        for (const table of [...tables].reverse()) if (table.name !== 'schema_migrations') await db.run(`DELETE FROM ${quoteName(table.name)}`);
        await fn(loaderOf(db, tables));
        const runningSteps = await db.run(`UPDATE steps SET lease_expires_at = ${db.param(1)} WHERE status = 'running' AND lease_owner IS NOT NULL`, [now]);
        return { runningSteps };
      });
    },
    async close() {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Opens the store at `location` to restore into: a PostgreSQL database is connected to; an SQLite
 * file has its server lock taken (`store_in_use` while a server runs on it), then is created if
 * missing. `beforeCreate` runs once the target is held and before anything is created in it (a
 * check of the backup that may take a while: a target that cannot be used is refused first).
 */
export async function openRestoreTarget(location: DatabaseLocation, beforeCreate: () => Promise<void> = () => Promise.resolve()): Promise<RestoreTarget> {
  if (location.kind === 'postgres') {
    const db = await openRawPostgres(location.url);
    try {
      // Held by this session until it ends: a second restore into the same database is refused.
      const [held] = await db.rows(`SELECT pg_try_advisory_lock(${RESTORE_LOCK_KEY}::bigint)`);
      if (held?.[0] !== true) throw new AgentryError('store_in_use', `another agentry restore into ${db.location} is running`);
      await beforeCreate();
      return targetOn(db, undefined);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  if (location.file === ':memory:') throw new AgentryError('invalid_request', 'cannot restore into sqlite::memory: (it would be gone when the restore ends)');
  const lock = acquireSqliteServerLock(location.file);
  try {
    await beforeCreate();
    const db = openRawSqlite(location.file, { create: true });
    await db.run('PRAGMA journal_mode = WAL');
    return targetOn(db, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}
