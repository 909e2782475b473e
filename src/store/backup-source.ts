/**
 * A consistent snapshot of a live store, to read every Agentry table of it while servers keep
 * writing:
 *
 * - SQLite: the online backup API copies the database into a scratch file next to the backup
 *   (`workDir`), all pages in one step, so the copy is one read transaction's view however busy
 *   the writers are; the copy must pass `PRAGMA integrity_check`, then its rows are read. The
 *   artifacts' files beside the database are read into their rows (`withArtifactFiles`).
 * - PostgreSQL: one `REPEATABLE READ READ ONLY` transaction: every table is read from the same
 *   snapshot, in batches by primary key, so nothing is held in memory but the batch.
 *
 * Nothing is written to the store. Its schema is read as it is (a backup never migrates); a
 * database with no Agentry schema is refused.
 *
 *   await withSnapshot(location, { workDir }, async (snapshot) => {
 *     for (const table of snapshot.tables) for await (const rows of snapshot.batches(table)) …;
 *   });
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AgentryError } from '../lib/errors.js';
import { artifactsDirOf, readArtifactFile } from './artifacts.js';
import { describeAgentryTables, type TableInfo } from './backup-tables.js';
import type { DatabaseLocation } from './database-url.js';
import { openRawPostgres, openRawSqlite, quoteName, type RawDb } from './raw-db.js';
import type { StoreKind } from './store-types.js';

/** A table of the snapshot and how many rows it has there. */
export interface SnapshotTable extends TableInfo {
  rows: number;
}

export interface StoreSnapshot {
  readonly kind: StoreKind;
  /** Where the store is, safe to print. */
  readonly location: string;
  /** The last migration applied to it. */
  readonly schemaVersion: number;
  /** Its Agentry tables, each after the tables it references. */
  readonly tables: readonly SnapshotTable[];
  /** The rows of `table` (values in the order of its columns), a batch at a time, by primary key. */
  batches(table: SnapshotTable, batchSize?: number): AsyncGenerator<unknown[][]>;
}

const DEFAULT_BATCH = 1000;

async function schemaVersionOf(db: RawDb, tables: readonly TableInfo[]): Promise<number> {
  if (!tables.some((t) => t.name === 'schema_migrations')) return 0;
  const [row] = await db.rows(`SELECT MAX(version) FROM schema_migrations`);
  return Number(row?.[0] ?? 0);
}

/** Reads the snapshot's catalog and counts (inside whatever makes `db` a snapshot); `artifactsDir`: an SQLite store's artifact files. */
async function describeSnapshot(db: RawDb, location: string, artifactsDir?: string): Promise<StoreSnapshot> {
  const described = await describeAgentryTables(db);
  const schemaVersion = await schemaVersionOf(db, described);
  if (schemaVersion === 0) throw new AgentryError('not_found', `${location} holds no Agentry store (no migration was ever applied to it)`);
  const tables: SnapshotTable[] = [];
  for (const table of described) {
    const [row] = await db.rows(`SELECT count(*) FROM ${quoteName(table.name)}`);
    tables.push({ ...table, rows: Number(row?.[0] ?? 0) });
  }
  return {
    kind: db.kind,
    location,
    schemaVersion,
    tables,
    async *batches(table, size) {
      // Artifacts are read a few at a time (each may be megabytes); an SQLite store's come with their files' bytes.
      if (table.name !== 'run_artifacts') {
        yield* batches(db, table, size ?? DEFAULT_BATCH);
        return;
      }
      for await (const rows of batches(db, table, Math.min(size ?? DEFAULT_BATCH, ARTIFACT_BATCH))) {
        yield artifactsDir === undefined ? rows : await withArtifactFiles(table, rows, artifactsDir);
      }
    },
  };
}

/** Rows of `run_artifacts` read at a time. */
const ARTIFACT_BATCH = 20;

/**
 * An SQLite store keeps its artifacts' bytes in files (`store/artifacts.ts`): a backup puts each
 * file's bytes into its row's `content`, so the backup holds them and a restore (into either
 * store) serves them from the table. A file that is gone, or was replaced since the snapshot
 * (its SHA-256 is not the row's), leaves the row without content, as the store has it.
 */
async function withArtifactFiles(table: TableInfo, rows: unknown[][], artifactsDir: string): Promise<unknown[][]> {
  const at = (name: string) => table.columns.indexOf(name);
  const [content, tenant, run, name, sha] = [at('content'), at('tenant_id'), at('run_id'), at('name'), at('sha256')];
  return Promise.all(
    rows.map(async (row) => {
      if (row[content] !== null) return row;
      const bytes = await readArtifactFile(artifactsDir, { tenantId: String(row[tenant]), runId: String(row[run]), name: String(row[name]) });
      if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== row[sha]) return row;
      const filled = [...row];
      filled[content] = bytes;
      return filled;
    }),
  );
}

/**
 * Keyset pagination: `WHERE (k1, k2) > (last k1, last k2) ORDER BY k1, k2`. A table without a
 * primary key (none of Agentry's) is read by OFFSET over every column's order, which is as
 * stable inside a snapshot.
 */
async function* batches(db: RawDb, table: SnapshotTable, size: number): AsyncGenerator<unknown[][]> {
  const columns = table.columns.map(quoteName).join(', ');
  const key = table.primaryKey.length > 0 ? table.primaryKey : table.columns;
  const keyIndexes = key.map((name) => table.columns.indexOf(name));
  const order = key.map(quoteName).join(', ');
  let last: unknown[] | undefined;
  let offset = 0;
  for (;;) {
    let rows: unknown[][];
    if (table.primaryKey.length === 0) {
      rows = await db.rows(`SELECT ${columns} FROM ${quoteName(table.name)} ORDER BY ${order} LIMIT ${size} OFFSET ${offset}`);
      offset += rows.length;
    } else if (last === undefined) {
      rows = await db.rows(`SELECT ${columns} FROM ${quoteName(table.name)} ORDER BY ${order} LIMIT ${size}`);
    } else {
      const after = key.map((_, i) => db.param(i + 1)).join(', ');
      rows = await db.rows(`SELECT ${columns} FROM ${quoteName(table.name)} WHERE (${order}) > (${after}) ORDER BY ${order} LIMIT ${size}`, last);
    }
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < size) return;
    const tail = rows[rows.length - 1]!;
    last = keyIndexes.map((i) => tail[i]);
  }
}

/** Copies the live SQLite file into `copy` with the online backup API, every page in one step. */
async function copySqlite(file: string, copy: string): Promise<void> {
  if (!existsSync(file)) throw new AgentryError('not_found', `there is no store at sqlite:${file}`);
  const source = new Database(file, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // The first step only sizes the copy; returning the largest step makes the next one copy
    // every page inside one read transaction, so writes meanwhile cannot make it start over.
    await source.backup(copy, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
}

function removeCopy(copy: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${copy}${suffix}`, { force: true });
}

async function withSqliteSnapshot<T>(file: string, workDir: string, fn: (snapshot: StoreSnapshot) => Promise<T>): Promise<T> {
  const copy = join(workDir, `.agentry-backup-${randomBytes(6).toString('hex')}.sqlite`);
  try {
    await copySqlite(file, copy);
    const db = openRawSqlite(copy);
    try {
      await db.run('PRAGMA journal_mode = DELETE');
      const [check] = await db.rows('PRAGMA integrity_check');
      if (check?.[0] !== 'ok') {
        throw new AgentryError('internal', `the copy of sqlite:${file} fails PRAGMA integrity_check (${String(check?.[0])}): the database file is damaged`);
      }
      return await fn(await describeSnapshot(db, `sqlite:${file}`, artifactsDirOf(file)));
    } finally {
      await db.close();
    }
  } finally {
    removeCopy(copy);
  }
}

async function withPostgresSnapshot<T>(url: string, fn: (snapshot: StoreSnapshot) => Promise<T>): Promise<T> {
  const db = await openRawPostgres(url);
  try {
    await db.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // Reading a large table is not a hung statement.
    await db.run('SET LOCAL statement_timeout = 0');
    const result = await fn(await describeSnapshot(db, db.location));
    await db.run('COMMIT');
    return result;
  } finally {
    await db.close();
  }
}

/**
 * Runs `fn` on a consistent snapshot of the store at `location`. `workDir` holds the scratch
 * copy of an SQLite store while `fn` runs (it needs room for the whole database).
 */
export function withSnapshot<T>(location: DatabaseLocation, options: { workDir: string }, fn: (snapshot: StoreSnapshot) => Promise<T>): Promise<T> {
  if (location.kind === 'postgres') return withPostgresSnapshot(location.url, fn);
  if (location.file === ':memory:') throw new AgentryError('invalid_request', 'sqlite::memory: is a throwaway store: there is nothing to back up');
  return withSqliteSnapshot(location.file, options.workDir, fn);
}
