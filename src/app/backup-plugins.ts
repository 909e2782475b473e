/**
 * The project's plugin lock in backups: `agentry backup` copies `agentry-plugins.lock` (the text,
 * with its SHA-256) into the backup's header, and `agentry restore` writes it back into the
 * project (a different lock already there is kept beside it as
 * `agentry-plugins.lock.before-restore-<time>`). The plugins themselves are not in the backup:
 * `agentry plugins install` (no package) reinstalls the lock's registry plugins from their
 * `resolved` URLs, checked against `integrity`; linked plugins come back when their directory
 * is there.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AgentryError } from '../lib/errors.js';
import { LOCK_FILE, lockPath, readLock } from './plugin-lock.js';

/** The lock as a backup's header holds it. */
export interface BackupPluginsLock {
  file: typeof LOCK_FILE;
  sha256: string;
  text: string;
}

/** What a restore did with the backup's lock (`null` in the summary: the backup holds none). */
export interface RestoredPluginsLock {
  /** Where it is now. */
  file: string;
  /** The plugins it lists. */
  plugins: string[];
  /** false: the project's lock was already the same. */
  written: boolean;
  /** Where the project's other lock was moved. */
  previous?: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The project's lock for a backup's header (undefined when the project has none); an invalid lock is refused, naming the file. */
export function lockForBackup(projectDir: string): BackupPluginsLock | undefined {
  const file = lockPath(projectDir);
  if (!existsSync(file)) return undefined;
  readLock(projectDir);
  const text = readFileSync(file, 'utf8');
  return { file: LOCK_FILE, sha256: sha256(text), text };
}

/** What is wrong with a header's `plugins_lock`, or undefined. */
export function pluginsLockProblem(lock: unknown): string | undefined {
  if (lock === undefined || lock === null) return undefined;
  const l = lock as Partial<BackupPluginsLock>;
  if (l.file !== LOCK_FILE || typeof l.text !== 'string' || typeof l.sha256 !== 'string') return 'its plugins lock entry is malformed';
  if (sha256(l.text) !== l.sha256) return `its ${LOCK_FILE} does not match its SHA-256`;
  return undefined;
}

/** Writes the backup's lock into `projectDir` (checked before anything is written). */
export function restoreLock(projectDir: string, lock: BackupPluginsLock, now: number): RestoredPluginsLock {
  const problem = pluginsLockProblem(lock);
  if (problem !== undefined) throw new AgentryError('backup_invalid', `the backup's plugin lock cannot be restored: ${problem}`);
  const file = lockPath(projectDir);
  let plugins: string[];
  try {
    plugins = Object.keys((JSON.parse(lock.text) as { plugins: Record<string, unknown> }).plugins).sort();
  } catch (error) {
    throw new AgentryError('backup_invalid', `the backup's ${LOCK_FILE} is not JSON`, { cause: error });
  }
  if (existsSync(file) && readFileSync(file, 'utf8') === lock.text) return { file, plugins, written: false };
  let previous: string | undefined;
  if (existsSync(file)) {
    previous = `${file}.before-restore-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    renameSync(file, previous);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lock.text);
  renameSync(tmp, file);
  try {
    readLock(projectDir);
  } catch (error) {
    renameSync(file, `${file}.restored-invalid`);
    if (previous !== undefined) renameSync(previous, file);
    throw error;
  }
  return { file, plugins, written: true, ...(previous === undefined ? {} : { previous }) };
}
