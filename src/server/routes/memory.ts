/**
 * Agents' conversation memory (docs/agents.md#memory): list the tenant's threads, read a
 * thread's messages, clear a thread, prune messages older than an age. A thread holds what
 * every key's runs told the agent, so reading needs `runs:read:all` and clearing
 * `runs:write:all` (a key that reaches only its own runs reaches no memory).
 */
import { Type } from 'typebox';
import { MemoryClearedSchema, MemoryMessagePageSchema, MemoryPrunedSchema, MemoryThreadPageSchema } from '../../app/dto/memory.js';
import { MEMORY_THREAD_MAX } from '../../app/memory.js';
import { DURATION_PATTERN, parseDurationText } from '../../lib/duration.js';
import { AgentryError } from '../../lib/errors.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Thread = Type.Object({
  thread: Type.String({ minLength: 1, maxLength: MEMORY_THREAD_MAX, description: 'The thread id, URL-encoded (it may hold any character)' }),
});
const Agent = Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "Only this agent's thread (default: every agent's)" }));
const Cursor = Type.Optional(Type.String({ minLength: 1, maxLength: 1_000, description: 'The next_cursor of the page before' }));
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 }));

export function memoryRoutes(table: RouteTable, deps: ServerDeps): void {
  const { memory } = deps.services;

  table.add({
    method: 'GET',
    url: '/v1/memory/threads',
    scope: 'runs:read:all',
    summary: "The tenant's agent memory threads by id: agent, message count, last written",
    tags: ['memory'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'listMemoryThreads',
      querystring: Type.Object({
        prefix: Type.Optional(Type.String({ minLength: 1, maxLength: MEMORY_THREAD_MAX, description: 'Only threads whose id starts with this' })),
        agent: Agent,
        cursor: Cursor,
        limit: Limit,
      }),
      response: { 200: MemoryThreadPageSchema },
    },
    handler: (request, _reply, principal) => memory.threads(principal, { ...request.query, limit: request.query.limit ?? 100 }),
  });

  table.add({
    method: 'GET',
    url: '/v1/memory/threads/:thread',
    scope: 'runs:read:all',
    summary: "A memory thread's messages, oldest first (what runs told the agent and what it answered)",
    tags: ['memory'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'getMemoryThread',
      params: Thread,
      querystring: Type.Object({ agent: Agent, cursor: Cursor, limit: Limit }),
      response: { 200: MemoryMessagePageSchema },
    },
    handler: (request, _reply, principal) => memory.messages(principal, request.params.thread, { ...request.query, limit: request.query.limit ?? 100 }),
  });

  table.add({
    method: 'DELETE',
    url: '/v1/memory/threads/:thread',
    scope: 'runs:write:all',
    summary: 'Clear a memory thread: the agent starts it afresh on its next run (audited)',
    tags: ['memory'],
    errors: ['not_found'],
    schema: {
      operationId: 'clearMemoryThread',
      params: Thread,
      querystring: Type.Object({ agent: Agent }),
      response: { 200: MemoryClearedSchema },
    },
    handler: (request, _reply, principal) => memory.clear(principal, request.params.thread, request.query.agent),
  });

  table.add({
    method: 'DELETE',
    url: '/v1/memory/threads',
    scope: 'runs:write:all',
    summary: "Delete the tenant's memory messages written longer ago than older_than (audited)",
    tags: ['memory'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'pruneMemory',
      querystring: Type.Object({
        older_than: Type.String({ pattern: DURATION_PATTERN, maxLength: 32, description: 'An age: 30d, 12h, 90m' }),
      }),
      response: { 200: MemoryPrunedSchema },
    },
    handler(request, _reply, principal) {
      const ms = parseDurationText(request.query.older_than);
      if (ms === undefined || ms <= 0) throw new AgentryError('invalid_request', 'older_than must be a positive duration like 30d');
      return memory.prune(principal, ms);
    },
  });
}
