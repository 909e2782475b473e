/**
 * `agentry events list`: events across runs, for diagnosis ("what failed in workflow X in the last
 * hour?"), from the project's store or (with `AGENTRY_URL`) the server's `GET /v1/events`. It
 * reads pages until it has `--limit` events or the window has no more; `--json` prints
 * `{ items, next_cursor }` as the API does. One run's history is `agentry runs events <id>`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import { EVENT_PAGE, type WorkflowEventDto, type WorkflowEventPageDto } from '../../app/dto/events.js';
import type { EventListQuery } from '../../app/events.js';
import { parseDurationText } from '../../lib/duration.js';
import {
  configFrom,
  loggerFor,
  noteRemoteDir,
  out,
  outJson,
  outStyle,
  parseCursorArg,
  parseIntegerArg,
  selfCommand,
  TENANT_OPTION,
  type CliContext,
  DIR_OPTION,
} from '../context.js';
import { paint, plural, table } from '../format.js';
import { RemoteClient } from '../remote.js';
import { WORKFLOW_EVENT_HEADER, workflowEventCells } from '../runs-view.js';

/** An RFC 3339 time with a time zone, as the API takes it. */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** `--since` / `--until`: a duration back from now (`90s`, `15m`, `1h`, `2d`) or an RFC 3339 time; epoch ms. */
function parseWhenArg(value: string): number {
  const ago = parseDurationText(value);
  if (ago !== undefined) return Date.now() - ago;
  const at = RFC_3339.test(value.trim()) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw new InvalidArgumentError('must be a duration back from now (15m, 1h, 2d) or an RFC 3339 time (2026-05-01T14:00:00Z).');
  return at;
}

interface ListOptions {
  workflow?: string;
  type?: string;
  run?: string;
  step?: string;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
  json?: boolean;
  tenant?: string;
  dir?: string;
}

/** One page of at most `limit` events after `cursor`. */
type PageReader = (limit: number, cursor: string | undefined) => Promise<WorkflowEventPageDto>;

/** The filters as the event service takes them (without the page). */
function filterOf(opts: ListOptions): Omit<EventListQuery, 'limit' | 'cursor'> {
  return {
    ...(opts.workflow === undefined ? {} : { workflow: opts.workflow }),
    ...(opts.type === undefined ? {} : { type: opts.type }),
    ...(opts.run === undefined ? {} : { runId: opts.run }),
    ...(opts.step === undefined ? {} : { stepId: opts.step }),
    ...(opts.since === undefined ? {} : { from: opts.since }),
    ...(opts.until === undefined ? {} : { to: opts.until }),
  };
}

function serverReader(config: Config, opts: ListOptions): PageReader {
  const { url, apiKey } = config.client;
  const client = new RemoteClient({ url: url!, ...(apiKey === undefined ? {} : { apiKey }), ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) });
  const filter = filterOf(opts);
  return (limit, cursor) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (filter.workflow !== undefined) query.set('workflow', filter.workflow);
    if (filter.type !== undefined) query.set('type', filter.type);
    if (filter.runId !== undefined) query.set('run_id', filter.runId);
    if (filter.stepId !== undefined) query.set('step_id', filter.stepId);
    if (filter.from !== undefined) query.set('from', new Date(filter.from).toISOString());
    if (filter.to !== undefined) query.set('to', new Date(filter.to).toISOString());
    if (cursor !== undefined) query.set('cursor', cursor);
    return client.request<WorkflowEventPageDto>('GET', `/v1/events?${query.toString()}`);
  };
}

/** Calls `fn` with a reader of the server's events (`AGENTRY_URL`) or the project's store's (never created here). */
async function withReader<T>(ctx: CliContext, opts: ListOptions, fn: (read: PageReader) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  if (config.client.url !== undefined) return fn(serverReader(config, opts));
  const [{ storeExists }, { openLocalEvents }] = await Promise.all([import('../../app/bootstrap.js'), import('../../app/local.js')]);
  if (!storeExists(config)) return fn(() => Promise.resolve({ items: [], next_cursor: null }));
  const local = await openLocalEvents(config, { logger: loggerFor(config) });
  try {
    const caller = localOperator(ctx.env, opts.tenant);
    const filter = filterOf(opts);
    return await fn((limit, cursor) => local.events.list(caller, { ...filter, limit, ...(cursor === undefined ? {} : { cursor }) }));
  } finally {
    await local.close();
  }
}

export function registerEvents(program: Command, ctx: CliContext): void {
  const events = program
    .command('events')
    .description('Events across runs, for diagnosis: what happened in a workflow, of a type, in a time window')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY with runs:read) set, this asks that server (GET /v1/events) and --dir is ignored.');

  events
    .command('list')
    .description('List events across runs in time order, filtered by workflow, type, run, step and time window')
    .option('--workflow <name>', 'only events of runs of this workflow')
    .option('--type <types>', 'comma-separated event types, each exact (run.failed) or a family (step.*)')
    .option('--run <id>', 'only events of this run')
    .option('--step <id>', 'only events of this step')
    .option('--since <when>', 'events at or after this: a duration back from now (15m, 1h, 2d) or an RFC 3339 time', parseWhenArg)
    .option('--until <when>', 'events before this: a duration back from now or an RFC 3339 time', parseWhenArg)
    .option('--limit <n>', `at most this many events (1..${EVENT_PAGE.maxLimit})`, parseIntegerArg(1, EVENT_PAGE.maxLimit), EVENT_PAGE.limit)
    .option('--cursor <cursor>', 'go on from where a previous listing stopped (its next_cursor)', parseCursorArg)
    .option('--json', 'print { items, next_cursor } as GET /v1/events does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  agentry events list --workflow orders --type run.failed,step.failed --since 1h
  agentry events list --type step.* --since 2026-05-01T14:00:00Z --until 2026-05-01T15:00:00Z --json`,
    )
    .action(async (opts: ListOptions) => {
      await withReader(ctx, opts, async (read) => {
        const items: WorkflowEventDto[] = [];
        let cursor = opts.cursor;
        // A page looks at a bounded part of the window, so a narrow filter may need several.
        do {
          const page = await read(opts.limit - items.length, cursor);
          items.push(...page.items);
          cursor = page.next_cursor ?? undefined;
        } while (cursor !== undefined && items.length < opts.limit);
        if (opts.json === true) return outJson(ctx, { items, next_cursor: cursor ?? null });
        const s = outStyle(ctx);
        if (items.length === 0) return out(ctx, 'No events found.');
        out(ctx, table(s, WORKFLOW_EVENT_HEADER, items.map(workflowEventCells)));
        out(ctx, paint(s, 'gray', plural(items.length, 'event')));
        if (cursor !== undefined) out(ctx, paint(s, 'gray', `more: the same \`${selfCommand(ctx)} events list …\` with --cursor ${cursor}`));
      });
    });
}
