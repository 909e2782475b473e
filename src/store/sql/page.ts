/**
 * Keyset pages of listings ordered `created_at DESC, id DESC` (runs, tasks): the cursor is
 * the last row's key, and the next page starts strictly after it.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { Query } from './values.js';

interface PageKey {
  createdAt: number;
  id: string;
}

function encodeCursor(key: PageKey): string {
  return Buffer.from(`${key.createdAt}:${key.id}`).toString('base64url');
}

function decodeCursor(cursor: string): PageKey {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.indexOf(':');
  const createdAt = Number(text.slice(0, at));
  if (at <= 0 || !Number.isSafeInteger(createdAt)) throw new AgentryError('invalid_request', 'cursor is not valid');
  return { createdAt, id: text.slice(at + 1) };
}

/**
 * The condition of the rows after `cursor`: a row comparison, so that the (created_at DESC, id DESC)
 * indexes bound the scan. `columns`: the key's columns where they are named otherwise (qualified).
 */
export function afterCursor(cursor: string, columns: readonly [string, string] = ['created_at', 'id']): Query {
  const c = decodeCursor(cursor);
  return sql`(${sql.ref(columns[0])}, ${sql.ref(columns[1])}) < (${c.createdAt}, ${c.id})`;
}

/** A page of `limit` items from `limit + 1` fetched ones; the extra one says there is a next page. */
export function toPage<T extends PageKey>(fetched: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = fetched.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: fetched.length > limit && last ? encodeCursor(last) : null };
}
