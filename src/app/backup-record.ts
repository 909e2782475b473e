/**
 * The record a backup leaves in the store it was taken of: an audit entry `store.backup`
 * (target `backup:<file name>`; details `created_at`, `rows`, `bytes`, `encrypted`), appended
 * once the file is complete. `agentry doctor` reads the newest one for the age of the last
 * backup, and the next `agentry backup` compares that age with the shortest retention window
 * (STO-14): runs pruned since the previous backup are in no backup.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { formatAge, formatDuration } from '../lib/duration.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import type { Config, RetentionSettings } from './config.js';

export const BACKUP_ACTION = 'store.backup';

/** What the record holds (`BackupSummary`'s facts). */
export interface BackupFacts {
  file: string;
  created_at: string;
  rows: number;
  bytes: number;
  encrypted: boolean;
}

/** The newest backup recorded in a store. */
export interface BackupRecord {
  /** When the backup was taken (its header's `created_at`; the entry's time when that is unreadable). */
  at: number;
  /** `backup:<file name>`. */
  target: string;
  principal: string;
}

/** Appends the `store.backup` entry of a backup just written, by `principal`. */
export async function recordBackup(store: Store, principal: string, facts: BackupFacts): Promise<void> {
  await store.appendAudit({
    tenantId: null,
    principal,
    action: BACKUP_ACTION,
    target: `backup:${basename(facts.file)}`,
    requestId: null,
    outcome: 'success',
    clientIp: null,
    details: { created_at: facts.created_at, rows: facts.rows, bytes: facts.bytes, encrypted: facts.encrypted },
  });
}

/** The newest `store.backup` entry, or undefined when the store holds none (never backed up, or its entry was pruned). */
export async function lastBackupRecord(store: Store): Promise<BackupRecord | undefined> {
  const { items } = await store.listAudit({ action: BACKUP_ACTION, limit: 1 });
  const entry = items[0];
  if (entry === undefined) return undefined;
  const createdAt = entry.details?.created_at;
  const created = typeof createdAt === 'string' ? Date.parse(createdAt) : Number.NaN;
  return { at: Number.isNaN(created) ? entry.at : created, target: entry.target ?? 'backup', principal: entry.principal };
}

/** The shortest window after which something is deleted, and where it is set; undefined when nothing is ever pruned. */
export interface ShortestWindow {
  ms: number;
  /** `AGENTRY_RETENTION_SUCCEEDED`, `workflow nightly retention.failed`, … */
  source: string;
}

const GLOBAL_WINDOWS = [
  ['succeededMs', 'AGENTRY_RETENTION_SUCCEEDED'],
  ['failedMs', 'AGENTRY_RETENTION_FAILED'],
  ['cancelledMs', 'AGENTRY_RETENTION_CANCELLED'],
  ['eventsMs', 'AGENTRY_RETENTION_EVENTS'],
] as const;

const WORKFLOW_WINDOWS = [
  ['succeededMs', 'succeeded'],
  ['failedMs', 'failed'],
  ['cancelledMs', 'cancelled'],
  ['eventsMs', 'events'],
] as const;

/** The shortest run or event retention window of the deployment (`AGENTRY_RETENTION_*`) and the workflows' `retention:` blocks. */
export function shortestRetention(settings: RetentionSettings, workflows: readonly CompiledWorkflow[]): ShortestWindow | undefined {
  let shortest: ShortestWindow | undefined;
  const offer = (ms: number | undefined, source: string): void => {
    if (ms !== undefined && (shortest === undefined || ms < shortest.ms)) shortest = { ms, source };
  };
  for (const [key, env] of GLOBAL_WINDOWS) offer(settings[key], env);
  for (const w of workflows) for (const [key, name] of WORKFLOW_WINDOWS) offer(w.retention?.[key], `workflow ${w.name} retention.${name}`);
  return shortest;
}

/**
 * STO-14: the warning when the previous backup is older than the shortest retention window —
 * runs (or events) that ended since may have been pruned before any backup held them.
 */
export function retentionGapWarning(previous: BackupRecord | undefined, window: ShortestWindow | undefined, now: number): string | undefined {
  if (previous === undefined || window === undefined) return undefined;
  const age = now - previous.at;
  if (age <= window.ms) return undefined;
  return (
    `the previous backup (${previous.target}, ${new Date(previous.at).toISOString()}) is ${formatAge(age)} old, ` +
    `longer than the shortest retention window (${window.source} = ${formatDuration(window.ms)}): ` +
    'runs that ended in between may have been pruned before any backup held them; back up at least as often as that window (docs/operations/backup.md#schedule-backups)'
  );
}

/**
 * The project's workflows, for their `retention:` windows; none when there is no project here
 * (a backup host with only `AGENTRY_DATABASE_URL`) or it does not load (`agentry validate` names why).
 * Loaded once the backup is written, so the snapshot is not delayed by it.
 */
export async function workflowsForRetention(config: Config, env: NodeJS.ProcessEnv): Promise<CompiledWorkflow[]> {
  if (!existsSync(config.projectDir)) return [];
  try {
    const { loadProjectOrThrow } = await import('./bootstrap.js');
    return [...(await loadProjectOrThrow(config, env)).workflows.values()];
  } catch {
    return [];
  }
}
