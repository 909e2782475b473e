/**
 * `agentry usage calls`: every LLM call attempt in the gateway's usage ledger, newest first,
 * with its latency, tokens, cost, error code and whether the response cache answered it. Reads
 * the project's store or (with `AGENTRY_URL`) the server's `GET /v1/usage/calls`; `--json` prints
 * the page as the API does, `--all` follows every page.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { UsageCallPageDto } from '../../app/dto/usage-calls.js';
import type { UsageCallFilter } from '../../app/usage-calls.js';
import { AgentryError } from '../../lib/errors.js';
import { CALL_OUTCOMES, type CallOutcome } from '../../types.js';
import { RemoteClient } from '../remote.js';
import { configFrom, DIR_OPTION, loggerFor, noteRemoteDir, out, outJson, outStyle, parseIntegerArg, parseTenantArg, type CliContext } from '../context.js';
import { formatIso, paint, table } from '../format.js';
import { walkPages } from '../pages.js';

interface CallsOptions {
  tenant?: string;
  run?: string;
  workflow?: string;
  group?: string;
  status?: CallOutcome;
  after?: string;
  before?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
  dir?: string;
}

type PageReader = (cursor: string | undefined) => Promise<UsageCallPageDto>;

function parseStatusArg(value: string): CallOutcome {
  if (!(CALL_OUTCOMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of ${CALL_OUTCOMES.join(', ')}.`);
  return value as CallOutcome;
}

function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `--${name} is not an ISO 8601 date-time`);
  return ms;
}

function serverReader(config: Config, opts: CallsOptions, limit: number): PageReader {
  const client = new RemoteClient({ url: config.client.url!, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
  const query = new URLSearchParams({ limit: String(limit) });
  const params: Array<[string, string | undefined]> = [
    ['tenant', opts.tenant],
    ['run_id', opts.run],
    ['workflow', opts.workflow],
    ['model_group', opts.group],
    ['status', opts.status],
    ['after', opts.after],
    ['before', opts.before],
  ];
  for (const [name, value] of params) if (value !== undefined) query.set(name, value);
  return (cursor) => {
    const q = new URLSearchParams(query);
    if (cursor !== undefined) q.set('cursor', cursor);
    return client.request<UsageCallPageDto>('GET', `/v1/usage/calls?${q.toString()}`);
  };
}

async function withReader<T>(ctx: CliContext, opts: CallsOptions, fn: (read: PageReader) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  const limit = opts.limit ?? 100;
  if (config.client.url !== undefined) return fn(serverReader(config, opts, limit));
  const after = parseTime(opts.after, 'after');
  const before = parseTime(opts.before, 'before');
  const filter: UsageCallFilter = {
    limit,
    ...(opts.run === undefined ? {} : { runId: opts.run }),
    ...(opts.workflow === undefined ? {} : { workflow: opts.workflow }),
    ...(opts.group === undefined ? {} : { group: opts.group }),
    ...(opts.status === undefined ? {} : { status: opts.status }),
    ...(after === undefined ? {} : { after }),
    ...(before === undefined ? {} : { before }),
  };
  const [{ storeExists }, { openLocalUsageCalls }] = await Promise.all([import('../../app/bootstrap.js'), import('../../app/local.js')]);
  if (!storeExists(config)) return fn(() => Promise.resolve({ items: [], next_cursor: null }));
  const local = await openLocalUsageCalls(config, { logger: loggerFor(config) });
  try {
    const caller = localOperator(ctx.env, opts.tenant);
    return await fn((cursor) => local.usageCalls.list(caller, { ...filter, ...(cursor === undefined ? {} : { cursor }) }));
  } finally {
    await local.close();
  }
}

function usd(value: number): string {
  return `$${value.toFixed(6)}`;
}

export function registerUsage(program: Command, ctx: CliContext): void {
  const usage = program
    .command('usage')
    .description('LLM usage from the gateway ledger: every call attempt with latency, tokens, cost and error code')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY with usage:read) set, it asks that server. See docs/gateway.md#per-call-usage.');

  usage
    .command('calls')
    .description('List LLM call attempts, newest first')
    .option('--tenant <id>', "only this tenant's calls (local store: narrows the view; with AGENTRY_URL: ?tenant=, for system admins)", parseTenantArg)
    .option('--run <id>', 'only calls of this run')
    .option('--workflow <name>', 'only calls of runs of this workflow')
    .option('--group <name>', 'only calls to this model group')
    .option('--status <status>', `only attempts with this outcome (${CALL_OUTCOMES.join(', ')})`, parseStatusArg)
    .option('--after <time>', 'calls started at or after this ISO 8601 time')
    .option('--before <time>', 'calls started before this ISO 8601 time')
    .option('--limit <n>', 'calls per page (1–1000, default 100)', parseIntegerArg(1, 1000))
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .option('--all', 'every page, not only the first')
    .option('--json', 'print { items, next_cursor } as GET /v1/usage/calls does (with --all: every item, next_cursor null)')
    .option(...DIR_OPTION)
    .action(async (opts: CallsOptions) => {
      await withReader(ctx, opts, async (read) => {
        const items: UsageCallPageDto['items'] = [];
        const cursor = await walkPages(read, opts.cursor, opts.all === true, (page) => items.push(...page));
        if (opts.json === true) return outJson(ctx, { items, next_cursor: cursor ?? null });
        if (items.length === 0) return out(ctx, 'No LLM calls.');
        const s = outStyle(ctx);
        const status = (c: (typeof items)[number]) =>
          c.status === 'ok'
            ? paint(s, 'green', c.cache_hit ? 'ok (cache)' : 'ok')
            : paint(s, c.status === 'cancelled' ? 'yellow' : 'red', c.error_code ?? c.status);
        out(
          ctx,
          table(
            s,
            ['TIME', 'TENANT', 'RUN', 'STEP', 'GROUP', 'MODEL', 'STATUS', 'LATENCY', 'IN', 'OUT', 'CACHED', 'COST'],
            items.map((c) => [
              formatIso(c.at),
              c.tenant_id,
              c.run_id ?? '-',
              c.step_id ?? '-',
              c.model_group,
              `${c.provider}/${c.model}`,
              status(c),
              `${c.latency_ms}ms`,
              String(c.input_tokens),
              String(c.output_tokens),
              String(c.cached_input_tokens),
              usd(c.cost_usd),
            ]),
          ),
        );
        if (cursor !== undefined) out(ctx, `More: --cursor ${cursor}`);
      });
    });
}
