/**
 * `agentry runs list|get|diff|checkpoints|cancel|retry|attempts|journal|artifacts|artifact|events`: reading and acting on runs, in the
 * project's store or (with `AGENTRY_URL`) on a server. `--json` prints exactly what the API returns.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadProjectOrThrow } from '../../app/bootstrap.js';
import { parseLabelFilter } from '../../app/run-start.js';
import { RUN_SEARCH_MAX } from '../../app/runs.js';
import type { Config } from '../../app/config.js';
import type { RunStatus } from '../../types.js';
import { paint, plural, table } from '../format.js';
import {
  configFrom,
  dirHint,
  noteRemoteDir,
  out,
  outJson,
  outStyle,
  parseCursorArg,
  parseIntegerArg,
  parseStatusesArg,
  TENANT_OPTION,
  selfCommand,
  type CliContext,
  DIR_OPTION,
} from '../context.js';
import { JOURNAL_PAGE } from '../../app/journal.js';
import { attemptsDiffText, attemptsTable } from '../attempts-view.js';
import { checkpointDiffText, checkpointsText, runDiffText } from '../run-diff-view.js';
import { RUN_DIFF_LIMIT } from '../../app/run-diff.js';
import { journalText } from '../journal-view.js';
import { isRemote, type OpenRunsOptions, type RunsApi } from '../runs-api.js';
import { withRunsApi } from '../runs-open.js';
import { registerRunArtifacts } from './runs-artifacts.js';
import { EVENT_HEADER, eventCells, eventLine, runDetailText, runsTable } from '../runs-view.js';

/** `--diff a,b`: two 1-based positions in a step's attempt list (whether they exist is checked against it). */
function parseDiffArg(value: string): [number, number] {
  const match = /^\s*(\d{1,6})\s*,\s*(\d{1,6})\s*$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new InvalidArgumentError('must be two attempt positions from the list, like 1,3.');
  return [Number(match[1]), Number(match[2])];
}

/** `--diff a,b` of `runs checkpoints`: two checkpoint seqs, the earlier first. */
function parseCheckpointPair(value: string): [number, number] {
  const match = /^\s*(\d{1,15})\s*,\s*(\d{1,15})\s*$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new InvalidArgumentError('must be two checkpoint seqs from the list, like 4,9.');
  if (Number(match[1]) > Number(match[2])) throw new InvalidArgumentError('give the earlier checkpoint first, like 4,9.');
  return [Number(match[1]), Number(match[2])];
}

/** `--from-step <step>`: a step id (whether the workflow has it is checked against the run's spec). */
function parseStepArg(value: string): string {
  const step = value.trim();
  if (step === '' || step.length > 128) throw new InvalidArgumentError("must be a step id of the run's workflow (1 to 128 characters).");
  return step;
}

/** Configuration, and the runs of the server (`AGENTRY_URL`) or of the project's store (never created here). */
async function withRuns<T>(
  ctx: CliContext,
  dir: string | undefined,
  fn: (api: RunsApi, config: Config) => Promise<T>,
  options: OpenRunsOptions = {},
): Promise<T> {
  const config = configFrom(ctx, { projectDir: dir });
  noteRemoteDir(ctx, config, dir);
  return withRunsApi(ctx, config, options, (api) => fn(api, config));
}

/** The open options of `--tenant`. */
function tenantOf(opts: { tenant?: string }): OpenRunsOptions {
  return opts.tenant === undefined ? {} : { tenant: opts.tenant };
}

/** ` --dir …` for hints about a local store; nothing for a server. */
function suffix(ctx: CliContext, api: RunsApi, config: Config): string {
  return api.mode === 'local' ? dirHint(ctx, config) : '';
}

interface ListOptions {
  status?: RunStatus[];
  workflow?: string;
  label: Array<[string, string]>;
  search?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
  tenant?: string;
  dir?: string;
}

/** `--search <text>`: a piece of a run id, 1 to `RUN_SEARCH_MAX` characters. */
function parseSearchArg(value: string): string {
  if (value.length === 0 || value.length > RUN_SEARCH_MAX) throw new InvalidArgumentError(`must be part of a run id, 1 to ${RUN_SEARCH_MAX} characters.`);
  return value;
}

/** `--label k:v`, repeatable: each parsed and added to the list. */
export function collectLabel(value: string, previous: Array<[string, string]>): Array<[string, string]> {
  try {
    return [...previous, parseLabelFilter(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program
    .command('runs')
    .description('List, inspect, follow, cancel and retry runs, and read step attempt history and agent journals')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY) set, these commands talk to that server and --dir is ignored.');

  runs
    .command('list')
    .description('List runs, newest first')
    .option('--status <statuses>', 'comma-separated statuses (queued, running, waiting, succeeded, failed, cancelled, timed_out)', parseStatusesArg)
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--label <key:value>', 'only runs with this label in their metadata (repeat: all must match)', collectLabel, [])
    .option('--search <text>', 'only runs whose id contains this text (any case)', parseSearchArg)
    .option('--limit <n>', 'runs per page (1..200)', parseIntegerArg(1, 200), 50)
    .option('--cursor <cursor>', 'next page, from a previous listing', parseCursorArg)
    .option('--json', 'print { items, next_cursor } as GET /v1/runs does (each run with its cost_usd)')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (opts: ListOptions) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api, config) => {
          const page = await api.list({
            limit: opts.limit,
            ...(opts.status ? { status: opts.status } : {}),
            ...(opts.workflow ? { workflow: opts.workflow } : {}),
            ...(opts.label.length > 0 ? { labels: opts.label } : {}),
            ...(opts.search === undefined ? {} : { search: opts.search }),
            ...(opts.cursor ? { cursor: opts.cursor } : {}),
          });
          if (opts.json) return outJson(ctx, page);
          const s = outStyle(ctx);
          if (page.items.length === 0) return out(ctx, 'No runs found.');
          out(ctx, runsTable(s, page.items));
          const tenant = opts.tenant === undefined ? '' : ` --tenant ${opts.tenant}`;
          if (page.next_cursor)
            out(ctx, paint(s, 'gray', `\nmore: ${selfCommand(ctx)} runs list --cursor ${page.next_cursor}${tenant}${suffix(ctx, api, config)}`));
        },
        tenantOf(opts),
      );
    });

  runs
    .command('get')
    .description('Show a run with its steps: status, attempts, durations, errors and outputs')
    .argument('<id>', 'run id')
    .option('--json', 'print the run with its steps as GET /v1/runs/{id} does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const run = await api.get(id);
          if (opts.json) return outJson(ctx, run);
          out(ctx, runDetailText(outStyle(ctx), run, await api.events(id)));
        },
        tenantOf(opts),
      );
    });

  runs
    .command('diff')
    .description('What differs from run a to run b: status, input, output, labels, duration, and step by step status, attempts, output, error and duration')
    .argument('<a>', 'run id')
    .argument('<b>', 'run id to compare it with')
    .option('--limit <n>', `the most differences shown (1..${RUN_DIFF_LIMIT.max})`, parseIntegerArg(1, RUN_DIFF_LIMIT.max), RUN_DIFF_LIMIT.default)
    .option('--json', 'print { a, b, steps, differences, truncated, limit } as GET /v1/runs/{a}/diff/{b} does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (a: string, b: string, opts: { limit: number; json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const diff = await api.diff(a, b, opts.limit);
          if (opts.json) return outJson(ctx, diff);
          out(ctx, runDiffText(outStyle(ctx), diff));
        },
        tenantOf(opts),
      );
    });

  runs
    .command('checkpoints')
    .description("A run's checkpoints (each recorded change of its state); --diff shows what changed in its state between two")
    .argument('<id>', 'run id')
    .option(
      '--diff <a,b>',
      'what changed in run and step statuses, outputs and errors from checkpoint a to checkpoint b (seqs from the list)',
      parseCheckpointPair,
    )
    .option('--limit <n>', `with --diff: the most differences shown (1..${RUN_DIFF_LIMIT.max})`, parseIntegerArg(1, RUN_DIFF_LIMIT.max), RUN_DIFF_LIMIT.default)
    .option('--json', 'print the checkpoints as a list (with --diff: { run_id, from, to, differences, truncated, limit } as the API does)')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { diff?: [number, number]; limit: number; json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          if (opts.diff !== undefined) {
            const diff = await api.checkpointDiff(id, opts.diff[0], opts.diff[1], opts.limit);
            return opts.json ? outJson(ctx, diff) : out(ctx, checkpointDiffText(outStyle(ctx), diff));
          }
          const items = await api.checkpoints(id);
          return opts.json ? outJson(ctx, { run_id: id, items }) : out(ctx, checkpointsText(outStyle(ctx), items));
        },
        tenantOf(opts),
      );
    });

  runs
    .command('cancel')
    .description('Cancel a run that has not ended (running steps are aborted)')
    .argument('<id>', 'run id')
    .option('--reason <text>', "why (kept in the run's history)")
    .option('--json', 'print the cancelled run as JSON')
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { reason?: string; json?: boolean; dir?: string }) => {
      await withRuns(ctx, opts.dir, async (api) => {
        const run = await api.cancel(id, opts.reason);
        if (opts.json) return outJson(ctx, run);
        out(ctx, `${paint(outStyle(ctx), 'yellow', '⊘')} Run ${run.id} cancelled.`);
      });
    });

  runs
    .command('retry')
    .description('Re-run an ended run as a new run with the same input, reusing the steps that need not run again')
    .argument('<id>', 'run id')
    .option('--from-step <step>', 're-run from this step: it and the steps downstream of it run again (any ended run, a succeeded one too)', parseStepArg)
    .option('--json', 'print the new run (with retry_of) as JSON')
    .option(...DIR_OPTION)
    .addHelpText(
      'after',
      `
Without --from-step it retries from the failed step: only a failed, cancelled or timed-out run,
and the steps that succeeded (or were skipped) are reused, not run again. The new run uses the
old run's spec snapshot. With AGENTRY_URL this is the server's POST /v1/runs/{id}/retry; locally
it starts the new run in the store, and a worker executes it.`,
    )
    .action(async (id: string, opts: { fromStep?: string; json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      // Locally the project defines the workflow the new run uses: check it before opening the store.
      const project = isRemote(config) ? undefined : await loadProjectOrThrow(config, ctx.env);
      await withRunsApi(ctx, config, project ? { project } : {}, async (api) => {
        const run = await api.retry(id, opts.fromStep === undefined ? {} : { fromStep: opts.fromStep });
        if (opts.json) return outJson(ctx, run);
        const s = outStyle(ctx);
        const cli = selfCommand(ctx);
        const dir = suffix(ctx, api, config);
        const how = api.mode === 'server' ? `by the server at ${api.where}` : `locally, in ${api.where}: a new run of ${run.workflow} with the same input`;
        const what =
          opts.fromStep === undefined
            ? 'From its failed step: the steps that had succeeded are reused, not run again'
            : `From step ${opts.fromStep}: it and the steps downstream of it run again, the others are reused`;
        out(ctx, `${paint(s, 'green', '↻')} Retried run ${run.retry_of} as run ${paint(s, 'bold', run.id)} (${run.status}), ${how}.`);
        out(ctx, `${what} (\`${cli} runs get ${run.id}${dir}\` shows which).`);
        if (api.mode === 'local') out(ctx, `A worker executes it: \`${cli} start worker${dir}\`.`);
        out(ctx, `Follow it with \`${cli} runs events ${run.id} --follow${dir}\`.`);
      });
    });

  runs
    .command('attempts')
    .description("A step's attempts across the run and the runs it re-ran (oldest first); --diff compares two")
    .argument('<id>', 'run id')
    .argument('<step>', 'step id (a for_each item: step[index])')
    .option('--diff <a,b>', 'also show what changed in input and output from attempt a to attempt b (positions in the list, from 1)', parseDiffArg)
    .option('--json', 'print { items, diff? } as GET /v1/runs/{id}/steps/{step}/attempts does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, step: string, opts: { diff?: [number, number]; json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const history = await api.attempts(id, step, opts.diff);
          if (opts.json) return outJson(ctx, history);
          const s = outStyle(ctx);
          if (history.items.length === 0) out(ctx, `Step ${step} of run ${id} has no attempts yet (or it was reused from a run that kept none).`);
          else out(ctx, attemptsTable(s, history));
          if (history.diff) out(ctx, `\n${attemptsDiffText(s, history)}`);
        },
        tenantOf(opts),
      );
    });

  runs
    .command('journal')
    .description(
      'What an agent step did, turn by turn: each model call (model, tokens, cost, latency, finish reason) and its tool calls with arguments and results',
    )
    .argument('<id>', 'run id')
    .argument('<step>', 'agent step id (a for_each item: step[index])')
    .option('--after <turn>', 'only turns after this one (a previous page ends at it)', parseIntegerArg(0, 1_000_000_000), 0)
    .option('--limit <n>', `turns per page (1..${JOURNAL_PAGE.maxLimit})`, parseIntegerArg(1, JOURNAL_PAGE.maxLimit), JOURNAL_PAGE.limit)
    .option('--max-chars <n>', 'clip texts (messages, arguments, results) longer than this (100..100000)', parseIntegerArg(100, 100_000), JOURNAL_PAGE.maxChars)
    .option('--json', 'print the page as GET /v1/runs/{id}/steps/{step}/journal does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .addHelpText(
      'after',
      `
Secrets are masked: the journal is stored through the same redactor as every other step record.
Failed LLM attempts (errors, retries, fallbacks, budget refusals) are listed after the turns.`,
    )
    .action(async (id: string, step: string, opts: { after: number; limit: number; maxChars: number; json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api, config) => {
          const journal = await api.journal(id, step, { after: opts.after, limit: opts.limit, maxChars: opts.maxChars });
          if (opts.json) return outJson(ctx, journal);
          const s = outStyle(ctx);
          out(ctx, journalText(s, journal));
          const tenant = opts.tenant === undefined ? '' : ` --tenant ${opts.tenant}`;
          if (journal.next_after !== null) {
            out(
              ctx,
              paint(s, 'gray', `\nmore: ${selfCommand(ctx)} runs journal ${id} ${step} --after ${journal.next_after}${tenant}${suffix(ctx, api, config)}`),
            );
          }
        },
        tenantOf(opts),
      );
    });

  registerRunArtifacts(runs, ctx, (c, dir, fn, options) => withRuns(c, dir, (api) => fn(api), options));

  runs
    .command('events')
    .description("Print a run's events (its full history) in order; --follow streams them until the run ends")
    .argument('<id>', 'run id')
    .option('--after <seq>', 'only events after this sequence number', parseIntegerArg(0, Number.MAX_SAFE_INTEGER), 0)
    .option('-f, --follow', 'keep printing events as they happen until the run ends (server: SSE, resumed with Last-Event-ID)')
    .option('--json', 'a JSON array of events (with --follow: one event per line)')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { after: number; follow?: boolean; json?: boolean; tenant?: string; dir?: string }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const s = outStyle(ctx);
          if (!opts.follow) {
            const events = await api.events(id, opts.after);
            if (opts.json) return outJson(ctx, events);
            out(ctx, table(s, EVENT_HEADER, events.map(eventCells)));
            return out(ctx, paint(s, 'gray', plural(events.length, 'event')));
          }
          await followEvents(ctx, api, id, opts.after, opts.json === true);
        },
        tenantOf(opts),
      );
    });
}

/** Prints events as they come until the run's terminal event (or Ctrl-C: exit 130). */
async function followEvents(ctx: CliContext, api: RunsApi, id: string, after: number, json: boolean): Promise<void> {
  const s = outStyle(ctx);
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!json) out(ctx, paint(s, 'bold', eventLine(EVENT_HEADER)));
    let count = 0;
    for await (const event of api.follow(id, { after, signal: interrupt.signal })) {
      count++;
      out(ctx, json ? JSON.stringify(event) : eventLine(eventCells(event)));
    }
    if (interrupt.signal.aborted) ctx.exitCode = 130;
    if (!json) out(ctx, paint(s, 'gray', `${plural(count, 'event')}${interrupt.signal.aborted ? ' (interrupted)' : ''}`));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
