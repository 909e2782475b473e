/**
 * Agents' conversation memory as the API and the CLI see it (docs/agents.md#memory): the
 * caller's tenant's threads (by name, optionally by prefix and agent), a thread's messages, and
 * clearing a thread or every message older than an age. Every read and delete is scoped to the
 * caller's tenant: another tenant's thread of the same id is neither shown nor cleared (a caller
 * of no tenant — the CLI's user on its own store — reaches every tenant). Clearing and pruning
 * leave an audit entry.
 */
import { AgentryError } from '../lib/errors.js';
import type { Store } from '../store/store.js';
import type { AuditService } from './audit.js';
import { tenantFilter, type Caller } from './caller.js';
import { iso } from './dto/common.js';
import type { MemoryClearedDto, MemoryMessagePageDto, MemoryPrunedDto, MemoryThreadPageDto } from './dto/memory.js';

/** Longest thread id: what an agent's `memory.thread` may render (runtime/agent-memory.ts). */
export const MEMORY_THREAD_MAX = 200;

export interface ThreadListQuery {
  prefix?: string | undefined;
  agent?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface MessageListQuery {
  agent?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export class MemoryService {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
  ) {}

  /** The caller's tenant's threads, by name. */
  async threads(caller: Caller, q: ThreadListQuery): Promise<MemoryThreadPageDto> {
    const page = await this.store.listMemoryThreads({
      ...tenantFilter(caller),
      ...(q.agent === undefined ? {} : { agent: q.agent }),
      ...(q.prefix === undefined ? {} : { prefix: q.prefix }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      limit: q.limit,
    });
    return {
      items: page.items.map((t) => ({ thread: t.thread, agent: t.agent, tenant_id: t.tenantId, messages: t.messages, updated_at: iso(t.updatedAt) })),
      next_cursor: page.nextCursor,
    };
  }

  /** A page of the thread's messages; `not_found` when the caller's tenant keeps no such thread. */
  async messages(caller: Caller, thread: string, q: MessageListQuery): Promise<MemoryMessagePageDto> {
    const page = await this.store.listMemoryMessages({
      ...tenantFilter(caller),
      ...(q.agent === undefined ? {} : { agent: q.agent }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      thread,
      limit: q.limit,
    });
    if (page.items.length === 0 && q.cursor === undefined) throw notFound(thread, q.agent);
    return {
      thread,
      items: page.items.map((m) => ({ agent: m.agent, tenant_id: m.tenantId, seq: m.seq, role: m.role, content: m.content, created_at: iso(m.createdAt) })),
      next_cursor: page.nextCursor,
    };
  }

  /** Deletes the thread (of one agent, or of every agent); `not_found` when there is none. Audited. */
  async clear(caller: Caller, thread: string, agent: string | undefined): Promise<MemoryClearedDto> {
    return this.audit.audited(
      caller,
      'memory.clear',
      `memory:${thread}`,
      async () => {
        const deleted = await this.store.clearMemory(caller.tenantId, agent, thread);
        if (deleted === 0) throw notFound(thread, agent);
        return { thread, agent: agent ?? null, deleted };
      },
      (cleared) => ({ agent: cleared.agent, deleted: cleared.deleted }),
    );
  }

  /** Deletes every message of the caller's tenant written more than `olderThanMs` ago. Audited. */
  async prune(caller: Caller, olderThanMs: number): Promise<MemoryPrunedDto> {
    if (!Number.isSafeInteger(olderThanMs) || olderThanMs <= 0) throw new AgentryError('invalid_request', 'older_than must be a positive duration');
    const before = this.now() - olderThanMs;
    return this.audit.audited(
      caller,
      'memory.prune',
      'memory',
      async () => ({ deleted: await this.store.pruneMemory(before, caller.tenantId), older_than_ms: olderThanMs, before: iso(before) }),
      (pruned) => ({ ...pruned }),
    );
  }
}

function notFound(thread: string, agent: string | undefined): AgentryError {
  return new AgentryError('not_found', `memory thread '${thread}'${agent === undefined ? '' : ` of agent ${agent}`} not found`);
}
