/**
 * `agentry migrate`: brings the database (`AGENTRY_DATABASE_URL` or the project's store) up to
 * the schema this build needs, then exits — a deploy step before new processes start (they
 * migrate on start too; docs/operations/scaling.md). Each migration applied is an audit entry
 * (`store.migrate`, with `from` and `to`) by the CLI's user.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import { configFrom, loggerFor, out, outJson, type CliContext } from '../context.js';

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (each recorded in the audit log) and exit')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--json', 'print { location, from, current, latest, applied }')
    .action(async (opts: { dir?: string; json?: boolean }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const { migrateStore } = await import('../../app/bootstrap.js');
      const { location, report } = await migrateStore(config, { logger: loggerFor(config), principal: localOperator(ctx.env).name });
      const { from } = report;
      if (opts.json) return outJson(ctx, { location, from, current: report.current, latest: report.latest, applied: report.applied });
      if (report.applied.length === 0) return out(ctx, `${location} is at migration ${report.current} (latest): nothing to apply.`);
      out(ctx, `${location}: applied migrations ${report.applied.join(', ')} (from ${from} to ${report.current}).`);
    });
}
