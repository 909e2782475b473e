/**
 * `agentry restore <file> --to <database-url>`: a backup into a store, of either dialect.
 *
 * 1. The file is read through once and checked whole (`verifyBackup`) before the target is touched.
 * 2. The target must be empty (no runs, schedules, keys, LLM calls or audit entries of its own)
 *    unless `force`; a server running on it is refused either way (`store_in_use`).
 * 3. Agentry's tables there are dropped and created afresh at the backup's schema version, the
 *    rows are loaded in one transaction (all or nothing; ids, timestamps, JSON text, the audit
 *    chain as they were), running steps' leases lapse at the restore and worker rows are left out.
 * 4. The store is migrated up to this build's schema, and the restore is an audit entry
 *    (`store.restore`) appended to the restored chain.
 * 5. The backup's `agentry-plugins.lock`, when it holds one, is written back into the project
 *    (`backup-plugins.ts`); `agentry plugins install` then reinstalls its plugins.
 *
 * Runs in flight in the backup resume once a worker runs on the restored store: steps that were
 * running are handed out again as after a crash, sleeps and retry timers keep their times.
 */
import { basename, resolve } from 'node:path';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { LATEST_SCHEMA_VERSION } from '../store/migrations.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../store/database-url.js';
import { openStore } from '../store/open.js';
import { NOT_RESTORED, openRestoreTarget, type RestoreTarget, type TableLoader } from '../store/restore-target.js';
import { openBackup, type BackupHeader, type OpenedBackup } from './backup-file.js';
import { restoreLock, type RestoredPluginsLock } from './backup-plugins.js';
import { readThrough, refuseNewerSchema, type TableProgress } from './backup.js';

export interface RestoreOptions {
  /** The database URL to restore into (`sqlite:<file>`, `postgres://…`). */
  to: string;
  /** Drop Agentry's tables in a target that holds data. */
  force?: boolean;
  passphrase?: string;
  /** Who restores, as the audit entry records it. */
  principal: string;
  /** Relative paths (the file, an SQLite URL) are resolved against this. */
  cwd: string;
  /** The project to write the backup's `agentry-plugins.lock` into (none: the lock is not restored). */
  projectDir?: string;
  /** Told what is about to be dropped, before it is (with `force`). */
  onWarning?: (message: string) => void;
  onProgress?: (phase: 'verify' | 'load', progress: TableProgress) => void;
  now?: () => number;
}

export interface RestoreSummary {
  file: string;
  /** Where it was restored, safe to print. */
  target: string;
  /** `has_plugins_lock`: the backup holds the project's `agentry-plugins.lock`. */
  backup: { created_at: string; source: BackupHeader['source']; schema_version: number; agentry_version: string; has_plugins_lock: boolean };
  /** The restored store's schema: created at the backup's version, then migrated to `current`. */
  schema: { restored: number; current: number; applied: number[] };
  /** Rows loaded, by table. */
  tables: Record<string, number>;
  rows: number;
  /** Rows of the backup not loaded, by table (see `NOT_RESTORED`). */
  skipped: Record<string, number>;
  /** Steps that were running at the backup: their lease lapsed at the restore, and the first scheduler sweep hands each out again. */
  running_steps: number;
  /** Agentry tables dropped from the target first (with data only under `force`). */
  dropped_tables: string[];
  /** The backup's plugin lock written back into the project (null: the backup holds none, or no project was given). */
  plugins_lock: RestoredPluginsLock | null;
}

const DATA_NAMES: Readonly<Record<string, [string, string]>> = {
  runs: ['run', 'runs'],
  schedules: ['schedule', 'schedules'],
  api_keys: ['API key', 'API keys'],
  llm_calls: ['LLM call', 'LLM calls'],
  audit_log: ['audit entry', 'audit entries'],
};

function describeData(data: Record<string, number>): string {
  return Object.entries(data)
    .map(([table, n]) => {
      const [one, many] = DATA_NAMES[table] ?? [`${table} row`, `${table} rows`];
      return `${n} ${n === 1 ? one : many}`;
    })
    .join(', ');
}

/** Refuses a target that cannot or may not be restored into; returns what it holds. */
async function checkTarget(target: RestoreTarget, options: RestoreOptions, now: number): Promise<string[]> {
  const state = await target.inspect(now);
  if (state.schemaVersion > 0 && state.liveWorkers.length > 0) {
    const w = state.liveWorkers[0]!;
    throw new AgentryError(
      'store_in_use',
      `${target.location} is in use: ${state.liveWorkers.length} Agentry process(es) beat in the last minute (worker ${w.id}, pid ${w.pid} on ${w.host}); stop every server and worker on it before restoring`,
    );
  }
  if (state.schemaVersion > LATEST_SCHEMA_VERSION) {
    throw new AgentryError(
      'schema_too_new',
      `${target.location} is at schema version ${state.schemaVersion}, newer than this build (${LATEST_SCHEMA_VERSION}); restore with the Agentry build that migrated it`,
    );
  }
  const held = Object.keys(state.data).length > 0;
  if (held && !options.force) {
    throw new AgentryError(
      'store_not_empty',
      `${target.location} is not empty (${describeData(state.data)}); restore into an empty database, or pass --force to drop Agentry's tables there first (their data is lost)`,
      { details: { data: state.data } },
    );
  }
  if (held)
    options.onWarning?.(`--force: dropping every Agentry table in ${target.location} (${describeData(state.data)}) before restoring; that data is gone`);
  return state.tables;
}

/** Streams the backup's rows into the loader, checking each table against the target's schema. */
async function loadRows(backup: OpenedBackup, loader: TableLoader, options: RestoreOptions): Promise<Record<string, number>> {
  const loaded: Record<string, number> = {};
  const targetTables = new Map(loader.tables.map((t) => [t.name, t]));
  for (const table of backup.header.tables) {
    if (table.name in NOT_RESTORED) continue;
    const target = targetTables.get(table.name);
    const sameColumns = target !== undefined && target.columns.length === table.columns.length && table.columns.every((c) => target.columns.includes(c));
    if (!sameColumns) {
      throw new AgentryError(
        'backup_invalid',
        `table ${table.name} of the backup does not match schema version ${backup.header.schema_version} of this build ` +
          `(backup: ${table.columns.join(', ')}; schema: ${target ? target.columns.join(', ') : 'no such table'})`,
      );
    }
  }
  const columnsOf = new Map(backup.header.tables.map((t) => [t.name, t.columns]));
  for await (const batch of backup.batches((table) => loader.batchSize(table.columns.length))) {
    const columns = columnsOf.get(batch.table)!;
    await loader.insert(batch.table, columns, batch.rows);
    if (batch.table in NOT_RESTORED) continue;
    loaded[batch.table] = (loaded[batch.table] ?? 0) + batch.rows.length;
    const total = backup.header.tables.find((t) => t.name === batch.table)?.rows ?? 0;
    options.onProgress?.('load', { table: batch.table, rows: loaded[batch.table]!, total });
  }
  return loaded;
}

/** Migrates the store at `location` (to `to`, or the latest), each migration recorded as `principal`'s. */
async function migrate(location: DatabaseLocation, principal: string, to?: number): Promise<number[]> {
  const store = openStore(location);
  try {
    return (await store.migrate({ principal, ...(to === undefined ? {} : { to }) })).applied;
  } finally {
    await store.close();
  }
}

/** Restores the backup `file` into the store at `options.to`. */
export async function restoreBackup(file: string, options: RestoreOptions): Promise<RestoreSummary> {
  const now = options.now ?? Date.now;
  const path = resolve(options.cwd, file);
  const location = parseDatabaseUrl(options.to, options.cwd);
  const backup = await openBackup(path, options.passphrase);
  refuseNewerSchema(backup.header);
  const header = backup.header;
  // The file is checked whole once the target is held, before anything is created in it.
  const target = await openRestoreTarget(location, () => readThrough(backup, (p) => options.onProgress?.('verify', p)));
  let loaded: Record<string, number> = {};
  let runningSteps: number;
  let dropped: string[];
  let applied: number[];
  try {
    const present = await checkTarget(target, options, now());
    dropped = present.length > 0 ? await target.dropAgentryTables() : [];
    await migrate(location, options.principal, header.schema_version);
    try {
      ({ runningSteps } = await target.load(now(), async (loader) => {
        loaded = await loadRows(backup, loader, options);
      }));
    } catch (error) {
      const e = toAgentryError(error);
      throw new AgentryError(
        e.code,
        `${e.message} — nothing was loaded: ${target.location} now holds an empty Agentry store at schema version ${header.schema_version}`,
        { cause: error },
      );
    }
    applied = await migrate(location, options.principal);
  } finally {
    await target.close();
  }
  const store = openStore(location);
  let current: number;
  const rows = Object.values(loaded).reduce((sum, n) => sum + n, 0);
  try {
    current = (await store.schemaState()).current;
    await store.appendAudit({
      tenantId: null,
      principal: options.principal,
      action: 'store.restore',
      target: `backup:${basename(path)}`,
      requestId: null,
      outcome: 'success',
      clientIp: null,
      details: {
        created_at: header.created_at,
        source: header.source.dialect,
        schema_version: header.schema_version,
        rows,
        running_steps: runningSteps,
      },
    });
  } finally {
    await store.close();
  }
  // Once the store is restored: a refused restore leaves the project's lock as it was.
  const lock = header.plugins_lock === undefined || options.projectDir === undefined ? null : restoreLock(options.projectDir, header.plugins_lock, now());
  const skipped = Object.fromEntries(header.tables.filter((t) => t.name in NOT_RESTORED && t.rows > 0).map((t) => [t.name, t.rows]));
  return {
    file: path,
    target: target.location,
    backup: {
      created_at: header.created_at,
      source: header.source,
      schema_version: header.schema_version,
      agentry_version: header.agentry_version,
      has_plugins_lock: header.plugins_lock !== undefined,
    },
    schema: { restored: header.schema_version, current, applied },
    tables: loaded,
    rows,
    skipped,
    running_steps: runningSteps,
    dropped_tables: dropped,
    plugins_lock: lock,
  };
}
