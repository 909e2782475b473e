/**
 * `agentry backup verify <file> --restore`: a backup proven by restoring it. The file is
 * restored (`restoreBackup`, which first reads it through and checks it whole) into a scratch
 * SQLite store in a temporary directory; then, on that store:
 *
 * - it is opened as a server opens its store (`PRAGMA quick_check`, schema current) and the
 *   readiness checks every process runs (database, migrations) must pass;
 * - the audit log's hash chain verifies (`agentry audit verify`), the restore's own entry included;
 * - its runs are counted by status, and each run the operator names (`expectRuns`) is there.
 *
 * Nothing is executed there (no worker starts: a restored run's HTTP steps must not call real
 * services from a drill), and the directory is removed at the end, whatever happened.
 *
 *   const report = await verifyBackupByRestore('/backups/agentry.backup', config, { … });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { toAgentryError } from '../lib/errors.js';
import { openRawSqlite } from '../store/raw-db.js';
import { AuditService, type AuditVerification } from './audit.js';
import { openAgentry } from './bootstrap.js';
import { localOperator } from './caller.js';
import type { Config } from './config.js';
import type { Check, CheckName } from './readiness.js';
import { restoreBackup, type RestoreSummary } from './restore.js';
import { createServices } from './services.js';
import { assertSqliteIntact } from './database.js';

export interface RestoreCheckOptions {
  passphrase?: string;
  /** Relative paths are resolved against this. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Who restores, as the scratch store's audit entry records it. */
  principal: string;
  /** Run ids that must be in the backup. */
  expectRuns?: readonly string[];
  /** Where the scratch directory is made (default: the system's temporary directory). */
  workDir?: string;
}

/** `agentry backup verify --restore --json`. */
export interface RestoreCheckReport {
  ok: boolean;
  file: string;
  /** What the restore loaded (its target is gone by now). */
  restore: Pick<RestoreSummary, 'backup' | 'schema' | 'rows' | 'running_steps'>;
  readiness: { ready: boolean; failing: CheckName[]; checks: Partial<Record<CheckName, Check>> };
  audit: AuditVerification;
  runs: { total: number; by_status: Record<string, number> };
  /** Each expected run id: whether the restored store has it. */
  expected_runs: Record<string, boolean>;
}

async function countRuns(file: string): Promise<RestoreCheckReport['runs']> {
  const db = openRawSqlite(file);
  try {
    const rows = await db.rows('SELECT status, count(*) FROM runs GROUP BY status ORDER BY status');
    const byStatus = Object.fromEntries(rows.map((r) => [String(r[0]), Number(r[1])]));
    return { total: Object.values(byStatus).reduce((sum, n) => sum + n, 0), by_status: byStatus };
  } finally {
    await db.close();
  }
}

/** Restores `file` into a scratch store, checks it there (see the module comment) and removes it. */
export async function verifyBackupByRestore(file: string, config: Config, options: RestoreCheckOptions): Promise<RestoreCheckReport> {
  const dir = mkdtempSync(join(options.workDir ?? tmpdir(), 'agentry-verify-'));
  const target = join(dir, 'agentry.db');
  try {
    const restored = await restoreBackup(file, {
      to: `sqlite:${target}`,
      principal: options.principal,
      cwd: options.cwd,
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    });
    const scratch: Config = { ...config, databaseUrl: `sqlite:${target}`, database: { kind: 'sqlite', file: target }, autoMigrate: true };
    // Opened as a server opens its file: it must pass SQLite's quick_check first.
    assertSqliteIntact(target);
    const app = await openAgentry(scratch, { logger: options.logger, env: options.env, withoutProject: true, logRuns: false });
    let readiness: RestoreCheckReport['readiness'];
    let audit: AuditVerification;
    const expected: Record<string, boolean> = {};
    try {
      const services = createServices(app);
      // No role's own checks: those of every process (database, migrations) — nothing is started here.
      const { ready, failing, checks } = await services.readiness.check(new Set());
      readiness = { ready, failing, checks };
      audit = await new AuditService(app.store).verify();
      const caller = localOperator(options.env);
      for (const id of options.expectRuns ?? []) {
        expected[id] = await services.runs.get(caller, id).then(
          () => true,
          (error: unknown) => {
            if (toAgentryError(error).code === 'not_found') return false;
            throw error;
          },
        );
      }
    } finally {
      await app.close();
    }
    const runs = await countRuns(target);
    const ok = readiness.ready && audit.ok && Object.values(expected).every(Boolean);
    return {
      ok,
      file: restored.file,
      restore: { backup: restored.backup, schema: restored.schema, rows: restored.rows, running_steps: restored.running_steps },
      readiness,
      audit,
      runs,
      expected_runs: expected,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
