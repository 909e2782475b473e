/**
 * The doctor's checks of backups: how old the last one is (`backup`: the store's newest
 * `store.backup` record, else the newest file in `AGENTRY_BACKUP_DIR` for backups taken with
 * `pg_dump`), and whether the disks of an SQLite store and of the backups have room (`disk`).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatBytes } from '../lib/bytes.js';
import { formatAge, formatDuration } from '../lib/duration.js';
import { lastBackupRecord, shortestRetention, type ShortestWindow } from './backup-record.js';
import type { CheckDefinition, DiskReading, DoctorContext, Outcome } from './doctor-context.js';

/** A last backup older than this is a warning (a daily backup, with an hour's slack)… */
export const BACKUP_WARN_MS = 25 * 3_600_000;
/** …and older than this, a failure. */
export const BACKUP_FAIL_MS = 7 * 86_400_000;
/** Free space below these (or below what is needed) fails… */
export const DISK_FAIL_BYTES = 256 * 1024 ** 2;
export const DISK_FAIL_RATIO = 0.05;
/** …and below these (or below twice what is needed) warns. */
export const DISK_WARN_BYTES = 1024 ** 3;
export const DISK_WARN_RATIO = 0.1;

/** The last backup found: when, and where the doctor found it. */
export interface LastBackup {
  at: number;
  /** `backup:<file> recorded in the store`, `newest file in <dir>: <file>`. */
  source: string;
}

/** The age of the last backup, judged (no backup at all: a failure in production, a warning in development). */
export function judgeBackupAge(last: LastBackup | undefined, now: number, shortest: ShortestWindow | undefined, env: 'production' | 'development'): Outcome {
  if (last === undefined) {
    return {
      status: env === 'production' ? 'fail' : 'warn',
      detail: 'no backup found: the store records none (`agentry backup` records each) and AGENTRY_BACKUP_DIR holds none',
      hint: 'schedule `agentry backup` (or `pg_dump` into AGENTRY_BACKUP_DIR) at least daily',
    };
  }
  const age = now - last.at;
  const detail = `last backup ${formatAge(age)} ago (${last.source}, ${new Date(last.at).toISOString()})`;
  if (shortest !== undefined && age > shortest.ms) {
    return {
      status: 'fail',
      detail: `${detail}: older than the shortest retention window (${shortest.source} = ${formatDuration(shortest.ms)}), so runs may have been pruned that no backup holds`,
      hint: 'back up now, and more often than the shortest retention window',
    };
  }
  if (age > BACKUP_FAIL_MS) return { status: 'fail', detail: `${detail}: more than ${formatDuration(BACKUP_FAIL_MS)}` };
  if (age > BACKUP_WARN_MS) return { status: 'warn', detail: `${detail}: more than ${formatDuration(BACKUP_WARN_MS)}` };
  return { status: 'ok', detail };
}

/** The newest regular file in `dir` by modification time, or undefined when it holds none. */
async function newestFile(dir: string): Promise<{ name: string; at: number } | undefined> {
  let newest: { name: string; at: number } | undefined;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue; // `.…partial-…`: a backup being written
    const { mtimeMs } = await stat(join(dir, entry.name));
    if (newest === undefined || mtimeMs > newest.at) newest = { name: entry.name, at: mtimeMs };
  }
  return newest;
}

async function backupCheck(ctx: DoctorContext): Promise<Outcome> {
  const config = ctx.config;
  const store = await ctx.answeringStore();
  const record = await lastBackupRecord(store);
  let last: LastBackup | undefined =
    record === undefined ? undefined : { at: record.at, source: `${record.target} recorded in the store by ${record.principal}` };
  const dir = config.backup.dir;
  if (last === undefined && dir !== undefined) {
    if (!existsSync(dir))
      return { status: 'fail', detail: `AGENTRY_BACKUP_DIR ${dir} does not exist`, hint: 'create it, or point AGENTRY_BACKUP_DIR where backups are written' };
    const file = await newestFile(dir);
    if (file !== undefined) last = { at: file.at, source: `newest file in ${dir}: ${file.name}` };
  }
  const workflows = await ctx.project().then(
    (p) => [...p.workflows.values()],
    () => [],
  );
  return judgeBackupAge(last, ctx.now(), shortestRetention(config.retention, workflows), config.env);
}

/** One filesystem's free space, judged against the thresholds and against `neededBytes` (what the next backup will take). */
export function judgeDisk(label: string, reading: DiskReading, neededBytes: number): Outcome {
  const { freeBytes, totalBytes } = reading;
  const ratio = totalBytes > 0 ? freeBytes / totalBytes : 0;
  const need = neededBytes > 0 ? `, ${formatBytes(neededBytes)} needed for the next backup` : '';
  const detail = `${label}: ${formatBytes(freeBytes)} free of ${formatBytes(totalBytes)} (${(ratio * 100).toFixed(0)}%)${need}`;
  if (freeBytes < DISK_FAIL_BYTES || ratio < DISK_FAIL_RATIO || freeBytes < neededBytes) return { status: 'fail', detail };
  if (freeBytes < DISK_WARN_BYTES || ratio < DISK_WARN_RATIO || freeBytes < 2 * neededBytes) return { status: 'warn', detail };
  return { status: 'ok', detail };
}

/** `dir`, or its nearest ancestor that exists (where a store not created yet will be). */
function existingAncestor(dir: string): string {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

const RANK = { ok: 0, skip: 0, warn: 1, fail: 2 } as const;

async function diskCheck(ctx: DoctorContext): Promise<Outcome> {
  const config = ctx.config;
  const places: Array<{ label: string; path: string; need: number }> = [];
  let storeBytes = 0;
  if (config.database.kind === 'sqlite' && config.database.file !== ':memory:') {
    const file = config.database.file;
    storeBytes = existsSync(file) ? statSync(file).size : 0;
    const wal = `${file}-wal`;
    if (existsSync(wal)) storeBytes += statSync(wal).size;
    // A backup copies the database into a scratch file beside its output; the store itself grows in place.
    places.push({ label: `store ${dirname(file)}`, path: existingAncestor(dirname(file)), need: 0 });
  }
  if (config.backup.dir !== undefined) {
    if (!existsSync(config.backup.dir)) return { status: 'fail', detail: `AGENTRY_BACKUP_DIR ${config.backup.dir} does not exist` };
    places.push({ label: `backups ${config.backup.dir}`, path: config.backup.dir, need: 2 * storeBytes });
  }
  if (places.length === 0) {
    return {
      status: 'skip',
      detail: "skipped: the store is not a file on this host (a PostgreSQL server's disk is watched there); set AGENTRY_BACKUP_DIR to check the backups' disk",
    };
  }
  const outcomes = await Promise.all(places.map(async (p) => judgeDisk(p.label, await ctx.statfs(p.path), p.need)));
  const worst = outcomes.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
  return { status: worst.status, detail: outcomes.map((o) => o.detail).join('; ') };
}

export const BACKUP_CHECKS: readonly CheckDefinition[] = [
  {
    id: 'disk',
    title: 'Disk space for the store and backups',
    docs: 'docs/operations/backup.md#backup',
    hint: 'free space or grow the volume; prune old backups and ended runs (`agentry prune`)',
    run: diskCheck,
  },
  {
    id: 'backup',
    title: 'Last backup age',
    docs: 'docs/operations/backup.md#schedule-backups',
    hint: 'back up now (`agentry backup --out …`) and schedule it daily (the systemd timer in the docs)',
    run: backupCheck,
  },
];
