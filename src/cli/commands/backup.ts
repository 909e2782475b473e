/**
 * `agentry backup [create] --out <file>`, `agentry backup verify <file>` and `agentry restore
 * <file> --to <database-url>` (docs/operations/backup.md). They work on the database itself —
 * the project's store or `AGENTRY_DATABASE_URL` for a backup, the URL given for a restore —
 * never through a server (`AGENTRY_URL` does not apply). Progress goes to stderr, a summary to
 * stdout (`--json`: the summary as JSON).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { BackupSummary, TableProgress } from '../../app/backup.js';
import { localOperator } from '../../app/caller.js';
import type { RestoreCheckReport } from '../../app/backup-restore-check.js';
import type { RestoreSummary } from '../../app/restore.js';
import { formatBytes } from '../../lib/bytes.js';
import { toAgentryError } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/redact.js';
import { configFrom, loggerFor, out, outJson, type CliContext } from '../context.js';
import { formatDuration } from '../format.js';

const PASSPHRASE_OPTION = [
  '--passphrase-file <file>',
  'file holding the passphrase (default: $AGENTRY_BACKUP_PASSPHRASE or the file $AGENTRY_BACKUP_PASSPHRASE_FILE names)',
] as const;

/** `1,204 rows`: a count with thousands separators and its word. */
function count(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** Progress on stderr: a line per table when it is done (and every 100 000 rows of a large one). */
function progressReporter(ctx: CliContext, verb: string, quiet: boolean | undefined): (p: TableProgress) => void {
  if (quiet) return () => undefined;
  let lastTable = '';
  let lastReported = 0;
  return (p) => {
    if (p.table !== lastTable) {
      lastTable = p.table;
      lastReported = 0;
    }
    if (p.rows === p.total || p.rows - lastReported >= 100_000) {
      lastReported = p.rows;
      ctx.stderr.write(`${verb} ${p.table}: ${p.rows.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} rows\n`);
    }
  };
}

async function passphraseOf(ctx: CliContext, file: string | undefined): Promise<string | undefined> {
  const { backupPassphrase } = await import('../../app/backup.js');
  return backupPassphrase({ ...(file === undefined ? {} : { file }), env: ctx.env, cwd: ctx.cwd });
}

function summaryLine(summary: BackupSummary): string {
  const tables = Object.keys(summary.tables).length;
  return `${formatBytes(summary.bytes)}, ${count(tables, 'table')}, ${count(summary.rows, 'row')}${summary.encrypted ? ', encrypted' : ''}`;
}

interface CreateFlags {
  out: string;
  dir?: string;
  passphraseFile?: string;
  /** false with `--no-gzip`. */
  gzip: boolean;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
}

async function create(ctx: CliContext, opts: CreateFlags): Promise<void> {
  const started = performance.now();
  const config = configFrom(ctx, { projectDir: opts.dir });
  if (config.client.url !== undefined)
    ctx.stderr.write(`note: AGENTRY_URL is ignored: a backup reads the database itself (${maskSecrets(config.databaseUrl)})\n`);
  const passphrase = await passphraseOf(ctx, opts.passphraseFile);
  const { createBackup } = await import('../../app/backup.js');
  const summary = await createBackup(config, {
    out: resolve(ctx.cwd, opts.out),
    ...(passphrase === undefined ? {} : { passphrase }),
    gzip: opts.gzip,
    force: opts.force === true,
    onProgress: progressReporter(ctx, 'backup', opts.quiet),
    principal: localOperator(ctx.env).name,
    workflows: async () => (await import('../../app/backup-record.js')).workflowsForRetention(config, ctx.env),
  });
  const durationMs = Math.round(performance.now() - started);
  for (const warning of summary.warnings) ctx.stderr.write(`WARNING: ${warning}\n`);
  if (opts.json) return outJson(ctx, { ...summary, duration_ms: durationMs });
  out(
    ctx,
    `Backed up ${summary.source.location} (schema ${summary.schema_version}) to ${summary.file}: ${summaryLine(summary)}, in ${formatDuration(durationMs)}.`,
  );
  if (!summary.encrypted) out(ctx, 'The file is not encrypted: it holds run inputs, outputs and the audit log. Keep it where only operators can read it.');
}

interface VerifyFlags {
  passphraseFile?: string;
  json?: boolean;
  quiet?: boolean;
  restore?: boolean;
  expectRun?: string[];
  dir?: string;
}

function printRestoreCheck(ctx: CliContext, report: RestoreCheckReport): void {
  const { restore, readiness, audit, runs } = report;
  out(
    ctx,
    `Restored ${report.file} (taken ${restore.backup.created_at}, schema ${restore.schema.restored}) into a scratch store: ${count(restore.rows, 'row')}.`,
  );
  for (const [name, check] of Object.entries(readiness.checks)) out(ctx, `${check.status === 'ok' ? 'ok  ' : 'FAIL'} ${name}: ${check.detail}`);
  out(
    ctx,
    `${audit.ok ? 'ok  ' : 'FAIL'} audit: ${audit.ok ? `hash chain whole (${audit.checked} entries)` : `chain broken at seq ${audit.broken?.seq}: ${audit.broken?.reason}`}`,
  );
  const statuses = Object.entries(runs.by_status).map(([status, n]) => `${status} ${n}`);
  out(ctx, `ok   runs: ${count(runs.total, 'run')}${statuses.length > 0 ? ` (${statuses.join(', ')})` : ''}`);
  for (const [id, present] of Object.entries(report.expected_runs))
    out(ctx, `${present ? 'ok  ' : 'FAIL'} run ${id}: ${present ? 'present' : 'not in the backup'}`);
  out(ctx, report.ok ? 'OK: the backup restores and the restored store is sound; the scratch store was removed.' : 'FAILED: see the checks above.');
}

async function verifyByRestore(ctx: CliContext, file: string, opts: VerifyFlags, passphrase: string | undefined): Promise<void> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  const { verifyBackupByRestore } = await import('../../app/backup-restore-check.js');
  const report = await verifyBackupByRestore(file, config, {
    cwd: ctx.cwd,
    env: ctx.env,
    logger: loggerFor(config),
    principal: localOperator(ctx.env).name,
    expectRuns: opts.expectRun ?? [],
    // The scratch store goes where the environment keeps temporary files.
    ...(ctx.env.TMPDIR ? { workDir: ctx.env.TMPDIR } : {}),
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  if (opts.json) outJson(ctx, report);
  else printRestoreCheck(ctx, report);
  if (!report.ok) ctx.exitCode = 1;
}

async function verify(ctx: CliContext, file: string, opts: VerifyFlags): Promise<void> {
  if (opts.restore) {
    try {
      return await verifyByRestore(ctx, file, opts, await passphraseOf(ctx, opts.passphraseFile));
    } catch (error) {
      if (!opts.json) throw error;
      const e = toAgentryError(error);
      outJson(ctx, { ok: false, file: resolve(ctx.cwd, file), error: { code: e.code, message: e.message } });
      ctx.exitCode = e.exitCode;
      return;
    }
  }
  const { verifyBackup } = await import('../../app/backup.js');
  let summary: BackupSummary;
  try {
    const passphrase = await passphraseOf(ctx, opts.passphraseFile);
    summary = await verifyBackup(file, {
      cwd: ctx.cwd,
      ...(passphrase === undefined ? {} : { passphrase }),
      onProgress: progressReporter(ctx, 'verify', opts.quiet),
    });
  } catch (error) {
    if (!opts.json) throw error;
    const e = toAgentryError(error);
    outJson(ctx, { ok: false, file: resolve(ctx.cwd, file), error: { code: e.code, message: e.message } });
    ctx.exitCode = e.exitCode;
    return;
  }
  if (opts.json) return outJson(ctx, { ok: true, ...summary });
  out(
    ctx,
    `OK: ${summary.file} is a whole backup of ${summary.source.location} taken ${summary.created_at} (schema ${summary.schema_version}, Agentry ${summary.agentry_version}): ${summaryLine(summary)}.`,
  );
}

interface RestoreFlags {
  to: string;
  dir?: string;
  force?: boolean;
  passphraseFile?: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * Where the backup's agentry-plugins.lock goes: `--dir`, `AGENTRY_PROJECT_DIR`, or the current
 * directory when it is a project (it has agentry.yaml or a lock); otherwise nowhere.
 */
async function restoreProjectDir(ctx: CliContext, dir: string | undefined): Promise<string | undefined> {
  const named = dir ?? ctx.env['AGENTRY_PROJECT_DIR'];
  if (named !== undefined) return resolve(ctx.cwd, named);
  const { LOCK_FILE } = await import('../../app/plugin-lock.js');
  return ['agentry.yaml', 'agentry.yml', LOCK_FILE].some((f) => existsSync(resolve(ctx.cwd, f))) ? ctx.cwd : undefined;
}

async function restore(ctx: CliContext, file: string, opts: RestoreFlags): Promise<void> {
  const started = performance.now();
  const passphrase = await passphraseOf(ctx, opts.passphraseFile);
  const { restoreBackup } = await import('../../app/restore.js');
  const projectDir = await restoreProjectDir(ctx, opts.dir);
  const load = progressReporter(ctx, 'restore', opts.quiet);
  const summary: RestoreSummary = await restoreBackup(file, {
    to: opts.to,
    force: opts.force === true,
    ...(passphrase === undefined ? {} : { passphrase }),
    principal: localOperator(ctx.env).name,
    cwd: ctx.cwd,
    ...(projectDir === undefined ? {} : { projectDir }),
    onWarning: (message) => ctx.stderr.write(`WARNING: ${message}\n`),
    onProgress: (phase, p) => {
      if (phase === 'load') load(p);
    },
  });
  const durationMs = Math.round(performance.now() - started);
  if (opts.json) return outJson(ctx, { ...summary, duration_ms: durationMs });
  const { schema } = summary;
  const migrated = schema.applied.length > 0 ? `, then migrated from schema ${schema.restored} to ${schema.current}` : ` (schema ${schema.current})`;
  out(
    ctx,
    `Restored ${summary.file} (taken ${summary.backup.created_at} from ${summary.backup.source.location}) into ${summary.target}: ` +
      `${count(Object.keys(summary.tables).length, 'table')}, ${count(summary.rows, 'row')}${migrated}, in ${formatDuration(durationMs)}.`,
  );
  if (summary.running_steps > 0) {
    out(ctx, `${count(summary.running_steps, 'step')} running at the backup will be handed out again when a worker starts on it (as after a crash).`);
  }
  const lock = summary.plugins_lock;
  if (summary.backup.has_plugins_lock && projectDir === undefined) {
    out(ctx, `The backup holds an agentry-plugins.lock: pass --dir <project> (or run in the project) to restore it.`);
  }
  if (lock !== null && lock.written) {
    const kept = lock.previous === undefined ? '' : ` (the lock that was there: ${lock.previous})`;
    out(
      ctx,
      `Restored ${lock.file}${kept}: ${count(lock.plugins.length, 'plugin')}${lock.plugins.length > 0 ? ` (${lock.plugins.join(', ')})` : ''}; run \`agentry plugins install\` to reinstall those not installed here.`,
    );
  }
}

export function registerBackup(program: Command, ctx: CliContext): void {
  const backup = program
    .command('backup')
    .description('Back up the store while servers run (one portable, checksummed, optionally encrypted file), and verify a backup');
  backup
    .command('create', { isDefault: true })
    .description("Write a backup of the store ($AGENTRY_DATABASE_URL or the project's) to a file: `agentry backup --out <file>`")
    .requiredOption('--out <file>', 'the file to write (it appears only once complete)')
    .option('--dir <dir>', 'project directory whose store to back up, unless $AGENTRY_DATABASE_URL is set (default: $AGENTRY_PROJECT_DIR or .)')
    .option(...PASSPHRASE_OPTION)
    .option('--no-gzip', 'do not compress the payload')
    .option('--force', 'replace the file if it exists')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print { file, bytes, schema_version, created_at, source, tables, rows, encrypted, warnings, duration_ms, … }')
    .action((opts: CreateFlags) => create(ctx, opts));
  backup
    .command('verify')
    .description('Read a backup through and check its header, checksum, authentication tag, every row, and that this build can restore it (exit 1 when not)')
    .argument('<file>', 'the backup file')
    .option(...PASSPHRASE_OPTION)
    .option('--quiet', 'no progress on stderr')
    .option('--restore', 'also restore it into a scratch SQLite store, open that as a server would, verify its audit chain, count its runs, then remove it')
    .option('--expect-run <id...>', 'with --restore: run ids that must be in the backup (exit 1 when one is not)')
    .option('--dir <dir>', 'with --restore: project directory whose configuration to use (default: $AGENTRY_PROJECT_DIR or .)')
    .option(
      '--json',
      'print { ok, file, schema_version, created_at, source, tables, rows, … } (--restore: { ok, file, restore, readiness, audit, runs, expected_runs }) or { ok: false, error }',
    )
    .action((file: string, opts: VerifyFlags) => verify(ctx, file, opts));
}

export function registerRestore(program: Command, ctx: CliContext): void {
  program
    .command('restore')
    .description('Restore a backup into an empty store of either dialect (refuses one with data unless --force); runs in flight resume')
    .argument('<file>', 'the backup file')
    .requiredOption('--to <database-url>', 'the store to restore into: sqlite:<file> or postgres://…')
    .option('--force', "drop Agentry's tables in a target that holds data first (its data is lost)")
    .option('--dir <dir>', "project directory to write the backup's agentry-plugins.lock into (default: $AGENTRY_PROJECT_DIR, or . when it is a project)")
    .option(...PASSPHRASE_OPTION)
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print { file, target, backup, schema, tables, rows, skipped, running_steps, dropped_tables, plugins_lock, duration_ms }')
    .action((file: string, opts: RestoreFlags) => restore(ctx, file, opts));
}
