/**
 * `agentry prune --older-than <duration> [--status …] [--workflow <name>] [--dry-run] [--json]`:
 * deletes ended runs of the project's store (`AGENTRY_DATABASE_URL` or the project's store) that
 * ended more than that long ago, with every row referencing them, in batches; `--dry-run` only
 * counts them. Never a run that has not ended, nor one whose parent or a child has not. The
 * server's scheduler applies the configured retention by itself (docs/operations/retention.md).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import { PRUNABLE_STATUSES, type ManualPruneResult, type PrunableStatus } from '../../app/retention.js';
import { formatDuration } from '../../lib/duration.js';
import { configFrom, loggerFor, out, outJson, parseDurationArg, type CliContext, DIR_OPTION } from '../context.js';

interface PruneOptions {
  olderThan: number;
  status?: PrunableStatus[];
  workflow?: string;
  dryRun?: boolean;
  json?: boolean;
  dir?: string;
}

function parsePrunableStatuses(value: string): PrunableStatus[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.filter((s) => !(PRUNABLE_STATUSES as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `${bad.length > 0 ? `${bad.map((b) => `'${b}'`).join(', ')} cannot be pruned; ` : ''}use a comma-separated list of ${PRUNABLE_STATUSES.join(', ')} (only ended runs are pruned).`,
    );
  }
  return items as PrunableStatus[];
}

async function prune(ctx: CliContext, opts: PruneOptions): Promise<ManualPruneResult> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  const { openLocalRetention } = await import('../../app/local.js');
  const local = await openLocalRetention(config, { logger: loggerFor(config) });
  try {
    return await local.retention.prune(
      {
        olderThanMs: opts.olderThan,
        ...(opts.status === undefined ? {} : { statuses: opts.status }),
        ...(opts.workflow === undefined ? {} : { workflow: opts.workflow }),
        dryRun: opts.dryRun === true,
      },
      localOperator(ctx.env),
    );
  } finally {
    await local.close();
  }
}

export function registerPrune(program: Command, ctx: CliContext): void {
  program
    .command('prune')
    .description('Delete ended runs older than a duration, with all their rows (the LLM usage ledger is kept)')
    .requiredOption('--older-than <duration>', 'runs that ended longer ago than this (e.g. 30d)', parseDurationArg)
    .option('--status <statuses>', `only runs of these ended statuses, comma-separated (${PRUNABLE_STATUSES.join(', ')}); default all`, parsePrunableStatuses)
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--dry-run', 'count the runs that would be deleted; change nothing')
    .option('--json', 'print { runs, older_than_ms, statuses, workflow, dry_run }')
    .option(...DIR_OPTION)
    .addHelpText('after', "\nThe server prunes by itself under AGENTRY_RETENTION_* and workflows' retention: blocks. See docs/operations/retention.md.")
    .action(async (opts: PruneOptions) => {
      const result = await prune(ctx, opts);
      if (opts.json === true) return outJson(ctx, result);
      const runs = `${result.runs} ${result.runs === 1 ? 'run' : 'runs'}`;
      const scope = `${result.statuses.join(', ')}${result.workflow === null ? '' : ` of ${result.workflow}`}, ended more than ${formatDuration(result.older_than_ms)} ago`;
      out(ctx, result.dry_run ? `Would prune ${runs} (${scope}); nothing changed (--dry-run).` : `Pruned ${runs} (${scope}).`);
    });
}
