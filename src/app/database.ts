/**
 * `agentry db check` and `agentry db recover` (docs/operations/runbooks/database-down-or-full.md),
 * and the check a server makes of its SQLite file before it starts.
 *
 * - check: SQLite — the file's integrity (`PRAGMA quick_check`, or `integrity_check` with
 *   `full`), then the schema; PostgreSQL — a connection, then the schema. The schema check reads
 *   the migration version (not newer than this build) and counts the rows of the core tables.
 * - recover (SQLite only): with no server on the file (its server lock is taken), copies the
 *   file aside (`<file>.corrupt-<time>`, with its `-wal`), rebuilds what can be read into a new
 *   file (`store/sqlite-recover.ts`) that passes `integrity_check`; the operator swaps it in.
 * - a server's start (`assertSqliteIntact`): a damaged file is refused with `store_corrupt`
 *   (details: SQLite's `code`, the file), the server's one `process.failed` error line.
 */
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';
import { presentAgentryTables } from '../store/backup-tables.js';
import { LATEST_SCHEMA_VERSION } from '../store/migrations.js';
import { openRawPostgres, openRawSqlite, type RawDb } from '../store/raw-db.js';
import { checkSqliteFile, type SqliteCheckMode } from '../store/sqlite-check.js';
import { acquireSqliteServerLock } from '../store/sqlite-server-lock.js';
import { recoverSqliteFile, type LostRange } from '../store/sqlite-recover.js';
import type { Config } from './config.js';

export interface DbCheckItem {
  name: 'file' | 'integrity' | 'connection' | 'schema';
  ok: boolean;
  detail: string;
}

/** `agentry db check --json`. */
export interface DbCheckReport {
  store: string;
  kind: Config['database']['kind'];
  ok: boolean;
  checks: DbCheckItem[];
}

/** `agentry db recover --json`. */
export interface DbRecoverSummary {
  /** The damaged file (left as it was). */
  source: string;
  /** The copies of it made before anything else (the file and its `-wal`, when there is one). */
  saved: string[];
  out: string;
  /** Rows copied, by table. */
  tables: Record<string, number>;
  rows: number;
  /** Stretches of tables on damaged pages: their rows are lost. */
  lost: Array<{ table: string; after_rowid: number | null; resumed_at: number | null }>;
  rejected: Record<string, number>;
  /** Rows deleted because what they belonged to was lost, by table. */
  orphans_removed: Record<string, number>;
  schema_problems: string[];
  integrity: 'ok';
}

/** Tables every Agentry schema has: reading their counts proves the store answers queries. */
const CORE_TABLES = ['runs', 'steps', 'events', 'audit_log'];

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

async function schemaCheck(db: RawDb): Promise<DbCheckItem> {
  try {
    const present = await presentAgentryTables(db);
    if (!present.includes('schema_migrations'))
      return { name: 'schema', ok: false, detail: 'no Agentry schema here (no schema_migrations table): a new, empty database' };
    const version = Number((await db.rows('SELECT MAX(version) FROM schema_migrations'))[0]?.[0] ?? 0);
    const missing = CORE_TABLES.filter((t) => !present.includes(t));
    if (missing.length > 0) return { name: 'schema', ok: false, detail: `at migration ${version} but table(s) ${missing.join(', ')} are missing` };
    if (version > LATEST_SCHEMA_VERSION)
      return { name: 'schema', ok: false, detail: `at migration ${version}, newer than this build (${LATEST_SCHEMA_VERSION}): run the newer build` };
    const counts: string[] = [];
    for (const table of CORE_TABLES) counts.push(`${table} ${Number((await db.rows(`SELECT count(*) FROM ${table}`))[0]?.[0] ?? 0)}`);
    const state = version === LATEST_SCHEMA_VERSION ? 'latest' : `${LATEST_SCHEMA_VERSION - version} pending: agentry migrate up`;
    return { name: 'schema', ok: true, detail: `at migration ${version} (${state}); ${plural(present.length, 'table')}; ${counts.join(', ')}` };
  } catch (error) {
    return { name: 'schema', ok: false, detail: toAgentryError(error).message };
  }
}

function report(config: Config, checks: DbCheckItem[]): DbCheckReport {
  return { store: maskSecrets(config.databaseUrl), kind: config.database.kind, ok: checks.every((c) => c.ok), checks };
}

/** Checks the configuration's store; never changes it (nor creates an SQLite file). */
export async function checkDatabase(config: Config, options: { mode?: SqliteCheckMode } = {}): Promise<DbCheckReport> {
  if (config.database.kind === 'postgres') {
    let db: RawDb;
    try {
      db = await openRawPostgres(config.databaseUrl);
    } catch (error) {
      return report(config, [{ name: 'connection', ok: false, detail: toAgentryError(error).message }]);
    }
    try {
      const [row] = await db.rows('SHOW server_version');
      const version = typeof row?.[0] === 'string' ? row[0] : '?';
      return report(config, [{ name: 'connection', ok: true, detail: `${db.location} answers (PostgreSQL ${version})` }, await schemaCheck(db)]);
    } finally {
      await db.close();
    }
  }
  const file = config.database.file;
  if (file === ':memory:') throw new AgentryError('invalid_request', 'sqlite::memory: is a throwaway store: there is no file to check');
  if (!existsSync(file)) return report(config, [{ name: 'file', ok: false, detail: `there is no store at ${file}` }]);
  const mode = options.mode ?? 'quick';
  const checks: DbCheckItem[] = [{ name: 'file', ok: true, detail: `${file}, ${statSync(file).size} bytes` }];
  const integrity = checkSqliteFile(file, mode);
  const pragma = mode === 'full' ? 'integrity_check' : 'quick_check';
  if (!integrity.ok) {
    checks.push({ name: 'integrity', ok: false, detail: `${integrity.code ?? 'SQLITE_CORRUPT'}: PRAGMA ${pragma} found: ${integrity.problems.join('; ')}` });
    return report(config, checks);
  }
  checks.push({ name: 'integrity', ok: true, detail: `PRAGMA ${pragma}: ok` });
  const db = openRawSqlite(file);
  try {
    checks.push(await schemaCheck(db));
  } finally {
    await db.close();
  }
  return report(config, checks);
}

/**
 * A server's start on an SQLite file: `PRAGMA quick_check` must pass. A damaged file is refused
 * (`store_corrupt`, naming the file and SQLite's code), which the server command logs as its one
 * `process.failed` error line.
 */
export function assertSqliteIntact(file: string): void {
  if (file === ':memory:' || !existsSync(file)) return;
  const check = checkSqliteFile(file, 'quick', 5);
  if (check.ok) return;
  const code = check.code ?? 'SQLITE_CORRUPT';
  const message =
    `${code}: the store file ${file} is damaged (${check.problems.join('; ')}); not serving on it. ` +
    'Run agentry db check, then agentry db recover --out <new file> or restore the newest backup; or move the file aside to start with an empty store';
  throw new AgentryError('store_corrupt', message, { details: { code, store: `sqlite:${file}`, problems: check.problems } });
}

/** `<file>.corrupt-20261205T073000Z`: where the damaged file is copied before a recovery. */
function asideName(file: string, now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${file}.corrupt-${stamp}`;
}

/** Rebuilds the configuration's SQLite store into `out` from what can be read of it (see the module comment). */
export function recoverDatabase(config: Config, options: { out: string; force?: boolean; now?: number }): DbRecoverSummary {
  if (config.database.kind !== 'sqlite')
    throw new AgentryError(
      'invalid_request',
      'agentry db recover rebuilds an SQLite file; a damaged PostgreSQL database is restored from a backup (agentry restore)',
    );
  const file = config.database.file;
  if (file === ':memory:') throw new AgentryError('invalid_request', 'sqlite::memory: is a throwaway store: there is no file to recover');
  if (!existsSync(file)) throw new AgentryError('not_found', `there is no store at ${file}`);
  const out = resolve(options.out);
  if (out === resolve(file)) throw new AgentryError('invalid_request', `--out must be a new file, not the store itself (${file})`);
  if (existsSync(out) && !options.force) throw new AgentryError('invalid_request', `${out} already exists; choose another file or pass --force to replace it`);
  if (!existsSync(dirname(out))) throw new AgentryError('invalid_request', `cannot write ${out}: directory ${dirname(out)} does not exist`);
  // No server may write to the file while it is copied and read (store_in_use names the one that runs).
  const lock = acquireSqliteServerLock(file);
  try {
    const aside = asideName(file, options.now ?? Date.now());
    const saved: string[] = [];
    for (const suffix of ['', '-wal']) {
      if (!existsSync(`${file}${suffix}`)) continue;
      copyFileSync(`${file}${suffix}`, `${aside}${suffix}`);
      saved.push(`${aside}${suffix}`);
    }
    const partial = join(dirname(out), `.${basename(out)}.partial-${randomBytes(4).toString('hex')}`);
    try {
      const recovery = recoverSqliteFile(file, partial);
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${out}${suffix}`, { force: true });
      renameSync(partial, out);
      return summaryOf(file, saved, out, recovery.tables, recovery.lost, recovery);
    } finally {
      rmSync(partial, { force: true });
      rmSync(`${partial}-journal`, { force: true });
    }
  } finally {
    lock.release();
  }
}

function summaryOf(
  source: string,
  saved: string[],
  out: string,
  tables: Record<string, number>,
  lost: LostRange[],
  recovery: { rejected: Record<string, number>; orphans: Record<string, number>; schemaProblems: string[] },
): DbRecoverSummary {
  return {
    source,
    saved,
    out,
    tables,
    rows: Object.values(tables).reduce((sum, n) => sum + n, 0),
    lost: lost.map((l) => ({ table: l.table, after_rowid: l.afterRowid, resumed_at: l.resumedAt })),
    rejected: recovery.rejected,
    orphans_removed: recovery.orphans,
    schema_problems: recovery.schemaProblems,
    integrity: 'ok',
  };
}
