/** `agentry runs list|get|cancel|events`: reading and cancelling runs in the store. */
import type { Command } from 'commander';
import { openAgentry, openStore, storeExists } from '../../bootstrap.js';
import type { Config } from '../../config.js';
import { AgentryError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { EventRecord, RunStatus } from '../../types.js';
import { formatDuration, formatTime, paint, plural, statusText, table } from '../format.js';
import {
  configFrom,
  dirHint,
  loggerFor,
  out,
  outJson,
  outStyle,
  parseCursorArg,
  parseIntegerArg,
  parseStatusesArg,
  selfCommand,
  type CliContext,
} from '../context.js';

const DIR_OPTION = ['--dir <dir>', 'project directory whose store to use (default: $AGENTRY_PROJECT_DIR or .)'] as const;

/** Opens the store for reading; undefined when it does not exist yet (reading never creates it). */
async function withStore<T>(config: Config, fn: (store: Store | undefined) => Promise<T>): Promise<T> {
  if (!storeExists(config)) return fn(undefined);
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function runNotFound(id: string, config: Config, store: Store | undefined): AgentryError {
  const where = store ? store.location : `${config.database.file} (no store there yet)`;
  return new AgentryError('not_found', `run ${id} not found in ${where}`);
}

function oneLine(value: unknown, max = 60): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('List, inspect and cancel runs');

  runs
    .command('list')
    .description('List runs, newest first')
    .option('--status <statuses>', 'comma-separated statuses (queued, running, waiting, succeeded, failed, cancelled, timed_out)', parseStatusesArg)
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--limit <n>', 'runs per page (1..1000)', parseIntegerArg(1, 1000), 20)
    .option('--cursor <cursor>', 'next page, from a previous listing', parseCursorArg)
    .option('--json', 'print { items, next_cursor } as JSON')
    .option(...DIR_OPTION)
    .action(async (opts: { status?: RunStatus[]; workflow?: string; limit: number; cursor?: string; json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const page = await withStore(config, (store) =>
        store
          ? store.listRuns({
              limit: opts.limit,
              ...(opts.status ? { status: opts.status } : {}),
              ...(opts.workflow ? { workflow: opts.workflow } : {}),
              ...(opts.cursor ? { cursor: opts.cursor } : {}),
            })
          : Promise.resolve({ items: [], nextCursor: null }),
      );
      if (opts.json) return outJson(ctx, { items: page.items, next_cursor: page.nextCursor });
      const s = outStyle(ctx);
      if (page.items.length === 0) return out(ctx, 'No runs found.');
      const rows = page.items.map((r) => [
        r.id,
        r.workflow,
        statusText(s, r.status),
        formatTime(r.createdAt),
        r.finishedAt === null ? '' : formatDuration(r.finishedAt - r.createdAt),
      ]);
      out(ctx, table(s, ['ID', 'WORKFLOW', 'STATUS', 'CREATED', 'DURATION'], rows));
      if (page.nextCursor) out(ctx, paint(s, 'gray', `\nmore: ${selfCommand(ctx)} runs list --cursor ${page.nextCursor}${dirHint(ctx, config)}`));
    });

  runs
    .command('get')
    .description('Show a run with its steps: status, attempts, durations, errors and outputs')
    .argument('<id>', 'run id')
    .option('--json', 'print { run, steps, attempts } as JSON')
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const found = await withStore(config, async (store) => {
        const run = await store?.getRun(id);
        if (!store || !run) throw runNotFound(id, config, store);
        return { run, steps: await store.getSteps(id), attempts: await store.listAttempts(id) };
      });
      if (opts.json) return outJson(ctx, found);
      const { run, steps, attempts } = found;
      const s = outStyle(ctx);
      out(ctx, `${paint(s, 'bold', `Run ${run.id}`)}  ${run.workflow}  ${statusText(s, run.status)}`);
      const took = run.finishedAt === null ? '' : `  (${formatDuration(run.finishedAt - run.createdAt)})`;
      out(ctx, `  created ${formatTime(run.createdAt)}  finished ${formatTime(run.finishedAt)}${took}`);
      out(ctx, `  input   ${oneLine(run.input, 200)}`);
      if (run.error) out(ctx, `  error   ${paint(s, 'red', `[${run.error.code}]`)} ${run.error.message}`);
      out(ctx);
      const order = (t: number | null) => t ?? Number.MAX_SAFE_INTEGER;
      const ordered = [...steps].sort((a, b) => order(a.startedAt) - order(b.startedAt) || a.stepId.localeCompare(b.stepId));
      const rows = ordered.map((step) => {
        const tries = attempts.filter((a) => a.stepId === step.stepId).length;
        const ran = step.startedAt !== null && step.finishedAt !== null ? formatDuration(step.finishedAt - step.startedAt) : '';
        const detail = step.error && step.status !== 'succeeded' ? paint(s, 'red', `[${step.error.code}] ${oneLine(step.error.message)}`) : oneLine(step.output);
        return [step.stepId, step.kind, statusText(s, step.status), String(tries), ran, detail];
      });
      out(ctx, table(s, ['STEP', 'KIND', 'STATUS', 'ATTEMPTS', 'DURATION', 'OUTPUT / ERROR'], rows));
      const failedAttempts = attempts.filter((a) => a.error);
      if (failedAttempts.length > 0) {
        out(ctx, `\n${paint(s, 'bold', 'Failed attempts')}`);
        for (const a of failedAttempts) out(ctx, `  ${a.stepId} #${a.attempt}  ${paint(s, 'red', `[${a.error?.code}]`)} ${a.error?.message ?? ''}`);
      }
      if (run.status === 'succeeded') out(ctx, `\n${paint(s, 'bold', 'Output')}\n  ${oneLine(run.output, 2000)}`);
    });

  runs
    .command('cancel')
    .description('Cancel a run that has not ended (running steps are aborted)')
    .argument('<id>', 'run id')
    .option('--json', 'print the cancelled run as JSON')
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      if (!storeExists(config)) throw runNotFound(id, config, undefined);
      const app = await openAgentry(config, { logger: loggerFor(config), withoutProject: true, env: ctx.env });
      try {
        const run = await app.engine.cancelRun(id, 'cancelled with agentry runs cancel');
        if (opts.json) return outJson(ctx, run);
        out(ctx, `${paint(outStyle(ctx), 'yellow', '⊘')} Run ${run.id} cancelled.`);
      } finally {
        await app.close();
      }
    });

  runs
    .command('events')
    .description("Print a run's events (its full history) in order")
    .argument('<id>', 'run id')
    .option('--after <seq>', 'only events after this sequence number', parseIntegerArg(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--json', 'print the events as a JSON array')
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { after: number; json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const events = await withStore(config, async (store) => {
        if (!store || !(await store.getRun(id))) throw runNotFound(id, config, store);
        const all: EventRecord[] = [];
        for (let after = opts.after; ; ) {
          const page = await store.listEvents(id, after, 500);
          all.push(...page);
          if (page.length < 500) return all;
          after = page.at(-1)?.seq ?? after;
        }
      });
      if (opts.json) return outJson(ctx, events);
      const s = outStyle(ctx);
      const rows = events.map((e) => [String(e.seq), formatTime(e.at), e.type, e.stepId ?? '', eventDetail(e)]);
      out(ctx, table(s, ['SEQ', 'AT', 'TYPE', 'STEP', 'DETAIL'], rows));
      out(ctx, paint(s, 'gray', plural(events.length, 'event')));
    });
}

function eventDetail(event: EventRecord): string {
  const { data } = event;
  const parts: string[] = [];
  if (typeof data.attempt === 'number') parts.push(`attempt ${data.attempt}`);
  if (typeof data.at === 'string') parts.push(`retry at ${data.at}`);
  if (typeof data.until === 'string') parts.push(`until ${data.until}`);
  if (typeof data.when === 'string') parts.push(`when: ${data.when}`);
  const error = data.error as { code?: string; message?: string } | null | undefined;
  if (error?.message) parts.push(`[${error.code ?? 'error'}] ${oneLine(error.message, 80)}`);
  return parts.join(' · ');
}
