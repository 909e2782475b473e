/**
 * Conversation memory of agents (`agent: memory:`): per tenant, agent and thread, the messages in
 * order (`seq`), kept to the newest `keep`. Threads and their messages are listed a keyset page at a
 * time; retention and `agentry memory clear --older-than` delete messages written before a time.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { MemoryMessage, MemoryMessagePage, MemoryMessageQuery, MemoryThreadPage, MemoryThreadQuery } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, num, rows, type Query } from './values.js';

/** The thread's newest `limit` messages, oldest first. */
export async function loadMemory(db: Db, tenantId: string, agent: string, thread: string, limit: number): Promise<MemoryMessage[]> {
  const found = await rows(
    db,
    sql`SELECT role, content FROM agent_memory WHERE tenant_id = ${tenantId} AND agent = ${agent} AND thread = ${thread}
      ORDER BY seq DESC LIMIT ${limit}`,
  );
  return found.reverse().map((r) => ({ role: r.role as MemoryMessage['role'], content: fromJson(r.content) }));
}

/**
 * Appends `messages` after the thread's last one and deletes all but the newest `keep` (run in
 * one transaction by the store). Two writers of one thread at once: the second's insert hits the
 * primary key and the store runs it again after the first.
 */
export async function appendMemory(
  db: Db,
  tenantId: string,
  agent: string,
  thread: string,
  messages: readonly MemoryMessage[],
  keep: number,
  now: number,
): Promise<void> {
  if (messages.length === 0) return;
  const where = sql`tenant_id = ${tenantId} AND agent = ${agent} AND thread = ${thread}`;
  const last = await rows(db, sql`SELECT MAX(seq) AS seq FROM agent_memory WHERE ${where}`);
  let seq = last[0]?.seq === null || last[0]?.seq === undefined ? 0 : num(last[0].seq);
  for (const message of messages) {
    seq++;
    await sql`INSERT INTO agent_memory (tenant_id, agent, thread, seq, role, content, created_at)
      VALUES (${tenantId}, ${agent}, ${thread}, ${seq}, ${message.role}, ${JSON.stringify(message.content ?? null)}, ${now})`.execute(db);
  }
  await sql`DELETE FROM agent_memory WHERE ${where} AND seq <= ${seq - keep}`.execute(db);
}

/** Deletes a thread (of one agent or all, in one tenant or all); how many messages it had. */
export async function clearMemory(db: Db, tenantId: string | undefined, agent: string | undefined, thread: string): Promise<number> {
  const result = await sql`DELETE FROM agent_memory WHERE thread = ${thread} ${scope(tenantId, agent)}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Deletes the messages written before `before` (in one tenant or all); how many. */
export async function pruneMemory(db: Db, before: number, tenantId: string | undefined): Promise<number> {
  const result = await sql`DELETE FROM agent_memory WHERE created_at < ${before} ${scope(tenantId, undefined)}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** `AND tenant_id = … AND agent = …` for the parts given. */
function scope(tenantId: string | undefined, agent: string | undefined): Query {
  const tenant = tenantId === undefined ? sql`` : sql`AND tenant_id = ${tenantId}`;
  return agent === undefined ? tenant : sql`${tenant} AND agent = ${agent}`;
}

/** A keyset cursor: its parts as a JSON array behind a tag, base64url. */
function encodeCursor(tag: string, parts: readonly (string | number)[]): string {
  return Buffer.from(`${tag}:${JSON.stringify(parts)}`).toString('base64url');
}

function decodeCursor(tag: string, cursor: string, shape: readonly ('string' | 'number')[]): (string | number)[] {
  const text = Buffer.from(cursor, 'base64url').toString();
  let parts: unknown;
  try {
    parts = text.startsWith(`${tag}:`) ? JSON.parse(text.slice(tag.length + 1)) : undefined;
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length !== shape.length || parts.some((p, i) => typeof p !== shape[i])) {
    throw new AgentryError('invalid_request', 'cursor is not valid');
  }
  return parts as (string | number)[];
}

/**
 * Threads by name, then agent, then tenant, with how many messages each keeps. The prefix is
 * compared with `substr`, so no character of it is a pattern.
 */
export async function listThreads(db: Db, query: MemoryThreadQuery): Promise<MemoryThreadPage> {
  let after = sql``;
  if (query.cursor !== undefined) {
    const [thread, agent, tenant] = decodeCursor('t', query.cursor, ['string', 'string', 'string']);
    after = sql`AND (thread > ${thread} OR (thread = ${thread} AND (agent > ${agent} OR (agent = ${agent} AND tenant_id > ${tenant}))))`;
  }
  const prefix = query.prefix === undefined || query.prefix === '' ? sql`` : sql`AND substr(thread, 1, ${query.prefix.length}) = ${query.prefix}`;
  const found = await rows(
    db,
    sql`SELECT tenant_id, agent, thread, COUNT(*) AS messages, MAX(created_at) AS updated_at FROM agent_memory
      WHERE 1 = 1 ${scope(query.tenantId, query.agent)} ${prefix} ${after}
      GROUP BY thread, agent, tenant_id ORDER BY thread, agent, tenant_id LIMIT ${query.limit + 1}`,
  );
  const items = found.slice(0, query.limit).map((r) => ({
    tenantId: String(r.tenant_id),
    agent: String(r.agent),
    thread: String(r.thread),
    messages: num(r.messages),
    updatedAt: num(r.updated_at),
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: found.length > query.limit && last ? encodeCursor('t', [last.thread, last.agent, last.tenantId]) : null };
}

/** A thread's messages by tenant, agent and order. */
export async function listMessages(db: Db, query: MemoryMessageQuery): Promise<MemoryMessagePage> {
  let after = sql``;
  if (query.cursor !== undefined) {
    const [tenant, agent, seq] = decodeCursor('m', query.cursor, ['string', 'string', 'number']);
    after = sql`AND (tenant_id > ${tenant} OR (tenant_id = ${tenant} AND (agent > ${agent} OR (agent = ${agent} AND seq > ${seq}))))`;
  }
  const found = await rows(
    db,
    sql`SELECT tenant_id, agent, seq, role, content, created_at FROM agent_memory
      WHERE thread = ${query.thread} ${scope(query.tenantId, query.agent)} ${after}
      ORDER BY tenant_id, agent, seq LIMIT ${query.limit + 1}`,
  );
  const items = found.slice(0, query.limit).map((r) => ({
    tenantId: String(r.tenant_id),
    agent: String(r.agent),
    seq: num(r.seq),
    role: r.role as MemoryMessage['role'],
    content: fromJson(r.content),
    createdAt: num(r.created_at),
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: found.length > query.limit && last ? encodeCursor('m', [last.tenantId, last.agent, last.seq]) : null };
}
