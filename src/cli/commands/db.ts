/**
 * `agentry db check` and `agentry db recover --out <file>`: whether the store is sound (SQLite's
 * integrity check, or a PostgreSQL connection, then the schema), and rebuilding a damaged SQLite
 * file into a new one from what can still be read (docs/operations/runbooks/database-down-or-full.md).
 * Both work on the database itself — the project's store or `AGENTRY_DATABASE_URL` — never
 * through a server.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DbCheckReport, DbRecoverSummary } from '../../app/database.js';
import { configFrom, out, outJson, outStyle, type CliContext } from '../context.js';
import { paint } from '../format.js';

const DIR_HELP = 'project directory whose store to use, unless $AGENTRY_DATABASE_URL is set (default: $AGENTRY_PROJECT_DIR or .)';

function printCheck(ctx: CliContext, report: DbCheckReport): void {
  const s = outStyle(ctx);
  for (const check of report.checks) out(ctx, `${check.ok ? paint(s, 'green', 'ok  ') : paint(s, 'red', 'FAIL')} ${check.name}: ${check.detail}`);
  out(
    ctx,
    report.ok
      ? `${report.store}: sound.`
      : `${report.store}: ${paint(s, 'red', 'damaged or unreachable')} (see docs/operations/runbooks/database-down-or-full.md).`,
  );
}

function printRecover(ctx: CliContext, summary: DbRecoverSummary): void {
  out(ctx, `Saved a copy of the damaged file: ${summary.saved.join(', ')}`);
  out(ctx, `Recovered ${summary.rows.toLocaleString('en-US')} rows into ${summary.out} (PRAGMA integrity_check: ok).`);
  for (const lost of summary.lost) {
    const from = lost.after_rowid === null ? 'from its first row' : `after rowid ${lost.after_rowid}`;
    const to = lost.resumed_at === null ? 'to its end' : `up to rowid ${lost.resumed_at}`;
    out(ctx, `LOST: table ${lost.table}, ${from} ${to} (on damaged pages)`);
  }
  for (const [table, n] of Object.entries(summary.orphans_removed)) out(ctx, `Removed ${n} row(s) of ${table} whose parent row was lost.`);
  for (const [table, n] of Object.entries(summary.rejected)) out(ctx, `Left out ${n} unreadable row(s) of ${table} (a key seen twice).`);
  for (const problem of summary.schema_problems) out(ctx, `Not rebuilt: ${problem}`);
  out(ctx, `With every process on the store stopped, move ${summary.out} in place of ${summary.source} (and delete its -wal and -shm), then start.`);
}

export function registerDb(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('Check the database (SQLite integrity, PostgreSQL connection, schema) and recover a damaged SQLite file');
  db.command('check')
    .description(
      'Check the store: SQLite PRAGMA quick_check (integrity_check with --full) or a PostgreSQL connection, then the schema; exit 1 naming the problems',
    )
    .option('--dir <dir>', DIR_HELP)
    .option('--full', 'SQLite: PRAGMA integrity_check (also every index against its table; slower) instead of quick_check')
    .option('--json', 'print { store, kind, ok, checks: [{ name, ok, detail }] }')
    .action(async (opts: { dir?: string; full?: boolean; json?: boolean }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const { checkDatabase } = await import('../../app/database.js');
      const report = await checkDatabase(config, { mode: opts.full ? 'full' : 'quick' });
      if (opts.json) outJson(ctx, report);
      else printCheck(ctx, report);
      if (!report.ok) ctx.exitCode = 1;
    });
  db.command('recover')
    .description('Rebuild a damaged SQLite store into a new file from what can be read (a copy of the original is saved first); the store stays untouched')
    .requiredOption('--out <file>', 'the new SQLite file to write')
    .option('--dir <dir>', DIR_HELP)
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print { source, saved, out, tables, rows, lost, rejected, orphans_removed, schema_problems, integrity }')
    .action(async (opts: { out: string; dir?: string; force?: boolean; json?: boolean }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const { recoverDatabase } = await import('../../app/database.js');
      const summary = recoverDatabase(config, { out: resolve(ctx.cwd, opts.out), force: opts.force === true });
      if (opts.json) outJson(ctx, summary);
      else printRecover(ctx, summary);
    });
}
