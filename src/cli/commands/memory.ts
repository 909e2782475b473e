/**
 * `agentry memory list|show|clear`: agents' conversation memory (docs/agents.md#memory) — the
 * threads, a thread's messages, clearing a thread or every message older than an age. Reads and
 * changes the project's store or (with `AGENTRY_URL`) the server's `/v1/memory/threads`; `--json`
 * prints what the API returns. Locally every tenant is reached unless `--tenant` narrows it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { MemoryClearedDto, MemoryMessagePageDto, MemoryPrunedDto, MemoryThreadPageDto } from '../../app/dto/memory.js';
import { MEMORY_THREAD_MAX, type MemoryService } from '../../app/memory.js';
import { AgentryError } from '../../lib/errors.js';
import { RemoteClient } from '../remote.js';
import {
  configFrom,
  DIR_OPTION,
  loggerFor,
  noteRemoteDir,
  out,
  outJson,
  outStyle,
  parseDurationArg,
  parseIntegerArg,
  parseTenantArg,
  type CliContext,
} from '../context.js';
import { formatIso, table } from '../format.js';
import { walkPages } from '../pages.js';

interface CommonOptions {
  tenant?: string;
  json?: boolean;
  dir?: string;
}

/** What a command does, given the server or the local service. */
interface Backend {
  threads(q: URLSearchParams): Promise<MemoryThreadPageDto>;
  messages(thread: string, q: URLSearchParams): Promise<MemoryMessagePageDto>;
  clear(thread: string, agent: string | undefined): Promise<MemoryClearedDto>;
  prune(olderThanMs: number, text: string): Promise<MemoryPrunedDto>;
}

function parseThreadArg(value: string): string {
  if (value.length === 0 || value.length > MEMORY_THREAD_MAX) throw new InvalidArgumentError(`a thread id is 1 to ${MEMORY_THREAD_MAX} characters.`);
  return value;
}

function optional(q: URLSearchParams, name: string): string | undefined {
  return q.get(name) ?? undefined;
}

function serverBackend(config: Config, tenant: string | undefined): Backend {
  const client = new RemoteClient({
    url: config.client.url!,
    ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }),
    ...(tenant === undefined ? {} : { tenant }),
  });
  const query = (q: URLSearchParams) => (q.size === 0 ? '' : `?${q.toString()}`);
  const path = (thread: string) => `/v1/memory/threads/${encodeURIComponent(thread)}`;
  return {
    threads: (q) => client.request('GET', `/v1/memory/threads${query(q)}`),
    messages: (thread, q) => client.request('GET', `${path(thread)}${query(q)}`),
    clear: (thread, agent) => client.request('DELETE', `${path(thread)}${query(new URLSearchParams(agent === undefined ? {} : { agent }))}`),
    prune: (_ms, text) => client.request('DELETE', `/v1/memory/threads${query(new URLSearchParams({ older_than: text }))}`),
  };
}

function localBackend(memory: MemoryService, ctx: CliContext, tenant: string | undefined): Backend {
  const caller = localOperator(ctx.env, tenant);
  const limit = (q: URLSearchParams) => Number(q.get('limit') ?? 100);
  return {
    threads: (q) => memory.threads(caller, { prefix: optional(q, 'prefix'), agent: optional(q, 'agent'), cursor: optional(q, 'cursor'), limit: limit(q) }),
    messages: (thread, q) => memory.messages(caller, thread, { agent: optional(q, 'agent'), cursor: optional(q, 'cursor'), limit: limit(q) }),
    clear: (thread, agent) => memory.clear(caller, thread, agent),
    prune: (ms) => memory.prune(caller, ms),
  };
}

/** A project without a store yet keeps no memory: no threads to list, none to show or clear. */
function noStoreBackend(config: Config): Backend {
  const none = () => Promise.reject(new AgentryError('not_found', `no store in ${config.projectDir}: no run has kept any memory yet`));
  return { threads: () => Promise.resolve({ items: [], next_cursor: null }), messages: none, clear: none, prune: none };
}

async function withBackend<T>(ctx: CliContext, opts: CommonOptions, fn: (backend: Backend) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  if (config.client.url !== undefined) return fn(serverBackend(config, opts.tenant));
  const [{ storeExists }, { openLocalMemory }] = await Promise.all([import('../../app/bootstrap.js'), import('../../app/local.js')]);
  if (!storeExists(config)) return fn(noStoreBackend(config));
  const local = await openLocalMemory(config, { logger: loggerFor(config) });
  try {
    return await fn(localBackend(local.memory, ctx, opts.tenant));
  } finally {
    await local.close();
  }
}

function pageQuery(opts: { agent?: string; prefix?: string; limit?: number }, cursor: string | undefined): URLSearchParams {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 100) });
  if (opts.agent !== undefined) q.set('agent', opts.agent);
  if (opts.prefix !== undefined) q.set('prefix', opts.prefix);
  if (cursor !== undefined) q.set('cursor', cursor);
  return q;
}

function contentText(content: unknown): string {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const TENANT = ['--tenant <id>', "only this tenant's memory (local store: narrows it; with AGENTRY_URL: ?tenant=, for system admins)", parseTenantArg] as const;

export function registerMemory(program: Command, ctx: CliContext): void {
  const memory = program
    .command('memory')
    .description("Agents' conversation memory: list threads, show a thread's messages, clear a thread or old messages")
    .addHelpText('after', '\nWith AGENTRY_URL set, it asks that server (reading needs runs:read:all, clearing runs:write:all). See docs/agents.md#memory.');

  memory
    .command('list')
    .description('List memory threads by id, with their agent, message count and last write')
    .option('--prefix <text>', 'only threads whose id starts with this')
    .option('--agent <name>', "only this agent's threads")
    .option(...TENANT)
    .option('--limit <n>', 'threads per page (1–500, default 100)', parseIntegerArg(1, 500))
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .option('--all', 'every page, not only the first')
    .option('--json', 'print { items, next_cursor } as GET /v1/memory/threads does (with --all: every item, next_cursor null)')
    .option(...DIR_OPTION)
    .action(async (opts: CommonOptions & { prefix?: string; agent?: string; limit?: number; cursor?: string; all?: boolean }) => {
      await withBackend(ctx, opts, async (backend) => {
        const items: MemoryThreadPageDto['items'] = [];
        const cursor = await walkPages(
          (c) => backend.threads(pageQuery(opts, c)),
          opts.cursor,
          opts.all === true,
          (page) => items.push(...page),
        );
        if (opts.json === true) return outJson(ctx, { items, next_cursor: cursor ?? null });
        if (items.length === 0) return out(ctx, 'No memory threads.');
        const s = outStyle(ctx);
        out(
          ctx,
          table(
            s,
            ['THREAD', 'AGENT', 'TENANT', 'MESSAGES', 'UPDATED'],
            items.map((t) => [t.thread, t.agent, t.tenant_id, String(t.messages), formatIso(t.updated_at)]),
          ),
        );
        if (cursor !== undefined) out(ctx, `More: --cursor ${cursor}`);
      });
    });

  memory
    .command('show')
    .description("Show a thread's messages, oldest first")
    .argument('<thread>', 'the thread id (quote it if it holds spaces)', parseThreadArg)
    .option('--agent <name>', "only this agent's thread (default: every agent's of that id)")
    .option(...TENANT)
    .option('--limit <n>', 'messages per page (1–500, default 100)', parseIntegerArg(1, 500))
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .option('--all', 'every page, not only the first')
    .option('--json', 'print { thread, items, next_cursor } as GET /v1/memory/threads/{thread} does')
    .option(...DIR_OPTION)
    .action(async (thread: string, opts: CommonOptions & { agent?: string; limit?: number; cursor?: string; all?: boolean }) => {
      await withBackend(ctx, opts, async (backend) => {
        const items: MemoryMessagePageDto['items'] = [];
        const read = async (c: string | undefined) => backend.messages(thread, pageQuery(opts, c));
        const cursor = await walkPages(read, opts.cursor, opts.all === true, (page) => items.push(...page));
        if (opts.json === true) return outJson(ctx, { thread, items, next_cursor: cursor ?? null });
        const s = outStyle(ctx);
        out(
          ctx,
          table(
            s,
            ['AGENT', 'TENANT', 'SEQ', 'ROLE', 'WRITTEN', 'CONTENT'],
            items.map((m) => [m.agent, m.tenant_id, String(m.seq), m.role, formatIso(m.created_at), contentText(m.content)]),
          ),
        );
        if (cursor !== undefined) out(ctx, `More: --cursor ${cursor}`);
      });
    });

  memory
    .command('clear')
    .description('Clear a thread (the agent starts it afresh), or with --older-than every message written longer ago')
    .argument('[thread]', 'the thread id', parseThreadArg)
    .option('--agent <name>', "only this agent's thread (default: every agent's of that id)")
    .option('--older-than <duration>', 'instead of a thread: delete every message written longer ago than this (30d, 12h)', parseDurationArg)
    .option(...TENANT)
    .option('--json', 'print what the API returns')
    .option(...DIR_OPTION)
    .action(async (thread: string | undefined, opts: CommonOptions & { agent?: string; olderThan?: number }) => {
      if ((thread === undefined) === (opts.olderThan === undefined)) {
        throw new AgentryError('invalid_request', 'give either a thread id or --older-than <duration>, not both and not neither');
      }
      if (opts.olderThan !== undefined && opts.agent !== undefined)
        throw new AgentryError('invalid_request', '--agent goes with a thread id, not --older-than');
      await withBackend(ctx, opts, async (backend) => {
        if (thread !== undefined) {
          const cleared = await backend.clear(thread, opts.agent);
          if (opts.json === true) return outJson(ctx, cleared);
          return out(ctx, `Cleared thread ${thread}${cleared.agent === null ? '' : ` of agent ${cleared.agent}`}: ${cleared.deleted} messages deleted.`);
        }
        const ms = opts.olderThan!;
        const pruned = await backend.prune(ms, `${ms}ms`);
        if (opts.json === true) return outJson(ctx, pruned);
        out(ctx, `Deleted ${pruned.deleted} memory messages written before ${pruned.before}.`);
      });
    });
}
