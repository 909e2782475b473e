/**
 * `agentry doctor [--url <api base>] [--providers] [--tools] [--backup-dir <dir>] [--json]`: the
 * production-readiness checklist, every line a program can check (docs/operations/doctor.md).
 * It opens the project's store itself (`--dir`, `AGENTRY_DATABASE_URL`), as `migrate` does, and
 * reaches the API only for the probes and the TLS and proxy-header checks. Prints a table and a
 * summary line (`--json`: `{ status, checks }`); exits 0 when every check is ok or skipped, 1
 * when any warns and none fails, 2 when any fails.
 */
import type { Command } from 'commander';
import type { DoctorCheck, DoctorReport } from '../../app/doctor.js';
import { out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table, type Color, type Style } from '../format.js';

interface DoctorFlags {
  dir?: string;
  env?: string;
  url?: string;
  providers?: boolean;
  tools?: boolean;
  backupDir?: string;
  json?: boolean;
}

const LOOK: Record<DoctorCheck['status'], { text: string; color: Color }> = {
  ok: { text: '✓ ok', color: 'green' },
  warn: { text: '! warn', color: 'yellow' },
  fail: { text: '✗ fail', color: 'red' },
  skip: { text: '- skip', color: 'gray' },
};

function printReport(ctx: CliContext, report: DoctorReport): void {
  const s: Style = outStyle(ctx);
  out(
    ctx,
    table(
      s,
      ['CHECK', 'STATUS', 'DETAIL'],
      report.checks.map((c) => [c.id, paint(s, LOOK[c.status].color, LOOK[c.status].text), c.detail]),
    ),
  );
  const toFix = report.checks.filter((c) => c.hint !== undefined);
  if (toFix.length > 0) {
    out(ctx);
    out(ctx, paint(s, 'bold', 'To fix'));
    for (const c of toFix) out(ctx, `  ${c.id}: ${c.hint ?? ''} (${c.docs})`);
  }
  const count = (status: DoctorCheck['status']) => report.checks.filter((c) => c.status === status).length;
  out(ctx);
  const summary = `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skipped`;
  const verdict = { ok: 'ready', warn: 'ready, with warnings', fail: 'not ready' }[report.status];
  out(ctx, `${paint(s, LOOK[report.status].color, verdict)}: ${summary}.`);
}

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      'Check production readiness: configuration, keys, database, migrations, clock, disk, backups, workers, providers, tools, retention, probes, TLS (exit 0 ok, 1 warn, 2 fail)',
    )
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <env>', 'development or production (default: $AGENTRY_ENV or development)')
    .option('--url <url>', "the API's base URL, as clients reach it, for the probes and the TLS and proxy-header checks (default: $AGENTRY_URL; none: skipped)")
    .option('--providers', 'make a 1-token chat call to each LLM provider (default: check keys and dial configured base URLs only)')
    .option('--tools', 'start each tool server and list its tools')
    .option('--backup-dir <dir>', 'where backups are kept: its free space, and its newest file when the store records no backup (default: $AGENTRY_BACKUP_DIR)')
    .option('--json', 'print { status, checks: [{ id, title, status, detail, hint, docs }] }')
    .addHelpText('after', '\nEvery check, its thresholds and its fix: docs/operations/doctor.md.')
    .action(async (opts: DoctorFlags) => {
      const { runDoctor, doctorExitCode } = await import('../../app/doctor.js');
      const report = await runDoctor({
        flags: { projectDir: opts.dir, env: opts.env, backupDir: opts.backupDir },
        env: ctx.env,
        cwd: ctx.cwd,
        url: opts.url,
        providers: opts.providers === true,
        tools: opts.tools === true,
      });
      if (opts.json === true) outJson(ctx, report);
      else printReport(ctx, report);
      ctx.exitCode = doctorExitCode(report);
    });
}
