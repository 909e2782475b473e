/**
 * `agentry migrate status|up`: where the database's schema stands (applied migrations with their
 * time and duration, pending ones) and bringing it up to this build's — a deploy step before
 * new processes start (on PostgreSQL they refuse to start with pending migrations unless
 * `--migrate`; docs/operations/maintenance.md). `agentry migrate` alone is `up`, as before
 * `status` existed. Each migration applied is logged (`event: migration`) and is an audit entry
 * (`store.migrate`, with `from` and `to`) by the CLI's user.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { MigrationStatus } from '../../app/migrations.js';
import { configFrom, loggerFor, out, outJson, outStyle, type CliContext } from '../context.js';
import { formatDuration, formatIso, paint, table } from '../format.js';

const DIR_HELP = 'project directory (default: $AGENTRY_PROJECT_DIR or .)';

function printStatus(ctx: CliContext, status: MigrationStatus): void {
  const s = outStyle(ctx);
  const { location, current, latest, state, pending } = status;
  if (state === 'current') out(ctx, `${location} is at migration ${current}, the latest of this build: ${paint(s, 'green', 'up to date')}.`);
  else if (state === 'pending')
    out(
      ctx,
      `${location} is at migration ${current}; this build needs ${latest}: ${paint(s, 'yellow', `${pending.length} pending`)} (apply with agentry migrate up).`,
    );
  else
    out(
      ctx,
      `${location} is at migration ${current}, ${paint(s, 'red', `newer than this build (${latest})`)}: run the newer build, or restore the backup taken before the upgrade.`,
    );
  if (status.applied.length > 0) {
    out(ctx);
    out(
      ctx,
      table(
        s,
        ['VERSION', 'NAME', 'APPLIED', 'DURATION'],
        status.applied.map((m) => [String(m.version), m.name, formatIso(m.applied_at), m.duration_ms === null ? '-' : formatDuration(m.duration_ms)]),
      ),
    );
  }
  if (pending.length > 0) {
    out(ctx);
    out(ctx, paint(s, 'bold', 'Pending'));
    out(
      ctx,
      table(
        s,
        ['VERSION', 'NAME'],
        pending.map((m) => [String(m.version), m.name]),
      ),
    );
  }
}

async function up(ctx: CliContext, opts: { dir?: string; json?: boolean }): Promise<void> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  const { migrateStore } = await import('../../app/bootstrap.js');
  const { location, report } = await migrateStore(config, { logger: loggerFor(config), principal: localOperator(ctx.env).name });
  const { from } = report;
  if (opts.json) return outJson(ctx, { location, from, current: report.current, latest: report.latest, applied: report.applied });
  if (report.applied.length === 0) return out(ctx, `${location} is at migration ${report.current} (latest): nothing to apply.`);
  out(ctx, `${location}: applied migrations ${report.applied.join(', ')} (from ${from} to ${report.current}).`);
}

export function registerMigrate(program: Command, ctx: CliContext): void {
  const migrate = program
    .command('migrate')
    .description('Database migrations: status (applied, pending) and up (apply the pending ones); `migrate` alone is `up`')
    .addHelpText(
      'after',
      `
Run \`agentry migrate up\` as the deploy step before new processes start: on PostgreSQL they refuse
to start with pending migrations (migrations_pending) unless started with --migrate or
AGENTRY_AUTO_MIGRATE=true; on SQLite they apply them themselves. See docs/operations/maintenance.md.`,
    );

  migrate
    .command('up', { isDefault: true })
    .description('Apply pending database migrations (each logged and recorded in the audit log) and exit')
    .option('--dir <dir>', DIR_HELP)
    .option('--json', 'print { location, from, current, latest, applied }')
    .action((opts: { dir?: string; json?: boolean }) => up(ctx, opts));

  migrate
    .command('status')
    .description('Show the schema version, each applied migration (when, how long) and the pending ones; exit 1 when any is pending')
    .option('--dir <dir>', DIR_HELP)
    .option('--json', 'print { location, store, current, latest, state, pending, applied }')
    .action(async (opts: { dir?: string; json?: boolean }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const { readMigrationStatus } = await import('../../app/bootstrap.js');
      const status = await readMigrationStatus(config, { logger: loggerFor(config) });
      if (opts.json) outJson(ctx, status);
      else printStatus(ctx, status);
      // Scripts can gate on it: 0 current, 1 pending, 1 with schema_too_new's words on stderr when newer.
      if (status.state !== 'current') ctx.exitCode = 1;
      if (status.state === 'newer')
        ctx.stderr.write(`error [schema_too_new]: database schema version ${status.current} is newer than this build supports (${status.latest})\n`);
    });
}
