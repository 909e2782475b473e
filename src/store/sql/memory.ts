/**
 * Conversation memory of agents (`agent: memory:`): per tenant, agent and thread, the messages in
 * order (`seq`), kept to the newest `keep`. Threads are listed by name, a keyset page at a time.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { MemoryMessage, MemoryThreadPage, MemoryThreadQuery } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, num, rows } from './values.js';

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

/** Deletes a thread; how many messages it had. */
export async function clearMemory(db: Db, tenantId: string, agent: string, thread: string): Promise<number> {
  const result = await sql`DELETE FROM agent_memory WHERE tenant_id = ${tenantId} AND agent = ${agent} AND thread = ${thread}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith('t:')) throw new AgentryError('invalid_request', 'cursor is not valid');
  return text.slice(2);
}

/** The agent's threads in the tenant, by name, with how many messages each keeps. */
export async function listThreads(db: Db, query: MemoryThreadQuery): Promise<MemoryThreadPage> {
  const after = query.cursor === undefined ? sql`` : sql`AND thread > ${decodeCursor(query.cursor)}`;
  const found = await rows(
    db,
    sql`SELECT thread, COUNT(*) AS messages, MAX(created_at) AS updated_at FROM agent_memory
      WHERE tenant_id = ${query.tenantId} AND agent = ${query.agent} ${after}
      GROUP BY thread ORDER BY thread LIMIT ${query.limit + 1}`,
  );
  const items = found
    .slice(0, query.limit)
    .map((r) => ({ agent: query.agent, thread: String(r.thread), messages: num(r.messages), updatedAt: num(r.updated_at) }));
  const last = items[items.length - 1];
  return { items, nextCursor: found.length > query.limit && last ? Buffer.from(`t:${last.thread}`).toString('base64url') : null };
}
