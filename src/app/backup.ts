/**
 * `agentry backup` and `agentry backup verify`: a backup of the store the configuration names,
 * taken while servers keep running (a consistent snapshot: `store/backup-source.ts`), written
 * as one portable file (`backup-file.ts`), optionally encrypted with a passphrase; and the
 * check that such a file reads back whole and can be restored by this build. Once the file is
 * complete, the backup is recorded in the store it was taken of (an audit entry `store.backup`,
 * `backup-record.ts`), which `agentry doctor` reads; a store that cannot take the entry (a
 * read-only replica) still gets its backup, with a warning.
 *
 *   const summary = await createBackup(config, { out: '/backups/agentry.backup', passphrase });
 *   const report = await verifyBackup('/backups/agentry.backup', { passphrase });
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { withSnapshot, type StoreSnapshot } from '../store/backup-source.js';
import { LATEST_SCHEMA_VERSION } from '../store/migrations.js';
import type { DatabaseLocation } from '../store/database-url.js';
import { openStore } from '../store/open.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { newEncryption } from './backup-crypto.js';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, openBackup, writeBackup, type BackupHeader, type OpenedBackup, type RowBatch } from './backup-file.js';
import { lockForBackup, type BackupPluginsLock } from './backup-plugins.js';
import { lastBackupRecord, recordBackup, retentionGapWarning, shortestRetention } from './backup-record.js';
import type { Config } from './config.js';
import { secretFromEnv } from './secret-files.js';

export const PASSPHRASE_ENV = 'AGENTRY_BACKUP_PASSPHRASE';

/** How far a backup or restore has got: rows of `table` done so far, of `total`. */
export interface TableProgress {
  table: string;
  rows: number;
  total: number;
}

export interface BackupOptions {
  /** The file to write (a relative path is taken from the process's working directory). */
  out: string;
  /** Encrypt with this passphrase (none: a plain file). */
  passphrase?: string;
  /** gzip the payload (default true). */
  gzip?: boolean;
  /** Replace `out` when it exists. */
  force?: boolean;
  onProgress?: (progress: TableProgress) => void;
  /** Who backs up, as the store's `store.backup` entry records it (default `system`). */
  principal?: string;
  /** The project's workflows, whose `retention:` windows count with `AGENTRY_RETENTION_*` for the retention warning; asked for once the file is written. */
  workflows?: () => Promise<readonly CompiledWorkflow[]>;
  now?: () => number;
}

/** What a backup holds, as `backup --json` and `backup verify --json` print it. */
export interface BackupSummary {
  file: string;
  bytes: number;
  format_version: number;
  agentry_version: string;
  schema_version: number;
  created_at: string;
  source: BackupHeader['source'];
  compression: BackupHeader['compression'];
  encrypted: boolean;
  /** Rows by table. */
  tables: Record<string, number>;
  rows: number;
  /** The project's `agentry-plugins.lock` in the backup: its SHA-256 and the plugins it lists (null: none). */
  plugins_lock: { sha256: string; plugins: string[] } | null;
}

function lockedPlugins(lock: BackupPluginsLock): string[] {
  try {
    return Object.keys((JSON.parse(lock.text) as { plugins?: Record<string, unknown> }).plugins ?? {}).sort();
  } catch {
    return [];
  }
}

function summaryOf(file: string, bytes: number, header: BackupHeader): BackupSummary {
  const tables = Object.fromEntries(header.tables.map((t) => [t.name, t.rows]));
  return {
    file,
    bytes,
    format_version: header.format_version,
    agentry_version: header.agentry_version,
    schema_version: header.schema_version,
    created_at: header.created_at,
    source: header.source,
    compression: header.compression,
    encrypted: header.encryption !== null,
    tables,
    rows: header.tables.reduce((sum, t) => sum + t.rows, 0),
    plugins_lock: header.plugins_lock === undefined ? null : { sha256: header.plugins_lock.sha256, plugins: lockedPlugins(header.plugins_lock) },
  };
}

/**
 * The passphrase to encrypt or decrypt with: the file given (`--passphrase-file`), else
 * `AGENTRY_BACKUP_PASSPHRASE` or the file `AGENTRY_BACKUP_PASSPHRASE_FILE` names; undefined when
 * none is set. One trailing newline of a file is dropped.
 */
export function backupPassphrase(options: { file?: string; env: NodeJS.ProcessEnv; cwd: string }): string | undefined {
  if (options.file !== undefined) {
    const secret = secretFromEnv({ P_FILE: resolve(options.cwd, options.file) }, 'P');
    if (secret.problem !== undefined) throw new AgentryError('invalid_request', secret.problem.replace('P_FILE', '--passphrase-file'));
    return secret.value ?? '';
  }
  const secret = secretFromEnv(options.env, PASSPHRASE_ENV);
  if (secret.problem !== undefined) throw new AgentryError('invalid_request', secret.problem);
  return secret.value;
}

/** Where the configuration's store is. */
function sourceOf(config: Config): DatabaseLocation {
  return config.database.kind === 'sqlite' ? config.database : { kind: 'postgres', url: config.databaseUrl };
}

/** Creates the scratch file the backup is written to, beside `out` (proving the directory is writable before the store is opened). */
async function scratchFile(out: string, force: boolean): Promise<string> {
  if (existsSync(out) && !force) throw new AgentryError('invalid_request', `${out} already exists; choose another file or pass --force to replace it`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new AgentryError('invalid_request', `${out} is a directory; give the file to write`);
  const partial = resolve(dirname(out), `.${basename(out)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    await (await open(partial, 'wx')).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AgentryError('invalid_request', `cannot write ${out}: ${code === 'ENOENT' ? `directory ${dirname(out)} does not exist` : code}`, {
      cause: error,
    });
  }
  return partial;
}

async function* rowsOf(snapshot: StoreSnapshot, onProgress: BackupOptions['onProgress']): AsyncGenerator<RowBatch> {
  for (const table of snapshot.tables) {
    let done = 0;
    for await (const rows of snapshot.batches(table)) {
      done += rows.length;
      yield { table: table.name, rows };
      onProgress?.({ table: table.name, rows: done, total: table.rows });
    }
    if (table.rows === 0) onProgress?.({ table: table.name, rows: 0, total: 0 });
  }
}

/** `backup --json`: the file's summary and what the operator should know (the retention warning, a backup left unrecorded). */
export interface CreatedBackup extends BackupSummary {
  warnings: string[];
}

/**
 * Records the backup in the store it was taken of, after reading the previous record: the
 * warnings (the previous backup older than the shortest retention window; the entry could not
 * be written).
 */
async function recordInStore(config: Config, summary: BackupSummary, options: BackupOptions): Promise<string[]> {
  const warnings: string[] = [];
  const store = openStore(sourceOf(config));
  try {
    const previous = await lastBackupRecord(store);
    const workflows = options.workflows === undefined ? [] : await options.workflows();
    const gap = retentionGapWarning(previous, shortestRetention(config.retention, workflows), (options.now ?? Date.now)());
    if (gap !== undefined) warnings.push(gap);
    await recordBackup(store, options.principal ?? 'system', summary);
  } catch (error) {
    warnings.push(
      `the backup is complete, but it could not be recorded in ${summary.source.location} (${toAgentryError(error).message}): agentry doctor will not see it; set AGENTRY_BACKUP_DIR to where backups are kept`,
    );
  } finally {
    await store.close();
  }
  return warnings;
}

/** Backs up the store of `config` into `options.out` (the file appears only once it is complete), then records it in the store. */
export async function createBackup(config: Config, options: BackupOptions): Promise<CreatedBackup> {
  const warnings: string[] = [];
  let lock: BackupPluginsLock | undefined;
  try {
    lock = lockForBackup(config.projectDir);
  } catch (error) {
    warnings.push(`${toAgentryError(error).message}: the backup does not hold the plugin lock`);
  }
  const summary = await writeBackupFile(config, options, lock);
  return { ...summary, warnings: [...warnings, ...(await recordInStore(config, summary, options))] };
}

async function writeBackupFile(config: Config, options: BackupOptions, lock: BackupPluginsLock | undefined): Promise<BackupSummary> {
  const out = resolve(options.out);
  const encryption = options.passphrase === undefined ? undefined : await newEncryption(options.passphrase);
  const partial = await scratchFile(out, options.force === true);
  try {
    const header = await withSnapshot(sourceOf(config), { workDir: dirname(out) }, async (snapshot) => {
      if (snapshot.schemaVersion > LATEST_SCHEMA_VERSION) {
        throw new AgentryError(
          'schema_too_new',
          `${snapshot.location} is at schema version ${snapshot.schemaVersion}, newer than this build knows (${LATEST_SCHEMA_VERSION}); back it up with the Agentry build that migrated it`,
        );
      }
      const header: BackupHeader = {
        format: BACKUP_FORMAT,
        format_version: BACKUP_FORMAT_VERSION,
        agentry_version: VERSION,
        schema_version: snapshot.schemaVersion,
        created_at: new Date().toISOString(),
        source: { dialect: snapshot.kind, location: snapshot.location },
        tables: snapshot.tables.map((t) => ({ name: t.name, columns: t.columns, rows: t.rows })),
        compression: options.gzip === false ? 'none' : 'gzip',
        encryption: encryption?.encryption ?? null,
        checksum: 'sha256',
        ...(lock === undefined ? {} : { plugins_lock: lock }),
      };
      await writeBackup(partial, header, encryption?.key, rowsOf(snapshot, options.onProgress));
      return header;
    });
    await rename(partial, out);
    return summaryOf(out, statSync(out).size, header);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Reads the backup at `file` through to its end and checks everything (`readBackup`), and that
 * this build can restore its schema version. Throws `backup_invalid` (or `schema_too_new`) with
 * the reason; resolves with what it holds.
 */
export async function verifyBackup(
  file: string,
  options: { passphrase?: string; cwd: string; onProgress?: BackupOptions['onProgress'] },
): Promise<BackupSummary> {
  const path = resolve(options.cwd, file);
  const backup = await openBackup(path, options.passphrase);
  refuseNewerSchema(backup.header);
  await readThrough(backup, options.onProgress);
  return summaryOf(path, backup.size, backup.header);
}

/** Reads every row of an opened backup, which checks it whole (`backup_invalid` at the first problem). */
export async function readThrough(backup: OpenedBackup, onProgress?: BackupOptions['onProgress']): Promise<void> {
  const counts = new Map<string, number>();
  for await (const batch of backup.batches()) {
    const done = (counts.get(batch.table) ?? 0) + batch.rows.length;
    counts.set(batch.table, done);
    const total = backup.header.tables.find((t) => t.name === batch.table)?.rows ?? done;
    onProgress?.({ table: batch.table, rows: done, total });
  }
}

/** `schema_too_new` naming both versions when the backup comes from a newer schema than this build's. */
export function refuseNewerSchema(header: BackupHeader): void {
  if (header.schema_version <= LATEST_SCHEMA_VERSION) return;
  throw new AgentryError(
    'schema_too_new',
    `the backup is at schema version ${header.schema_version} (Agentry ${header.agentry_version}); this build restores up to schema version ${LATEST_SCHEMA_VERSION}: restore it with Agentry ${header.agentry_version} or newer`,
    { details: { backup: header.schema_version, supported: LATEST_SCHEMA_VERSION } },
  );
}
