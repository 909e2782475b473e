/**
 * Managed API keys: created, listed, revoked and rotated by the keys service, read whole by
 * each API process's cache of keys. Every change bumps `api_key_revision` in its transaction,
 * so a process that polls the revision reloads its cache after any change, in any process.
 * `last_used_at` is a hint written outside of that: it does not bump the revision.
 */
import { sql } from 'kysely';
import type { ApiKeyRecord } from '../../types.js';
import type { ApiKeyListQuery, ApiKeyPage } from '../store-types.js';
import type { Db } from './dialect.js';
import { afterCursor, toPage } from './page.js';
import { changed, fromJson, inList, num, numOrNull, rows, toJson, type Query, type Row } from './values.js';

function apiKeyFromRow(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    grants: fromJson<string[]>(r.grants),
    secretHash: r.secret_hash as string,
    prefix: r.prefix as string,
    createdAt: num(r.created_at),
    createdBy: r.created_by as string,
    expiresAt: numOrNull(r.expires_at),
    revokedAt: numOrNull(r.revoked_at),
    revokedBy: (r.revoked_by as string | null) ?? null,
    lastUsedAt: numOrNull(r.last_used_at),
    rotatedFrom: (r.rotated_from as string | null) ?? null,
    replacedBy: (r.replaced_by as string | null) ?? null,
    graceUntil: numOrNull(r.grace_until),
    updatedAt: num(r.updated_at),
  };
}

/** Marks a change of the keys table; call in the transaction that makes it (the row lock orders the bumps). */
async function bumpRevision(db: Db): Promise<void> {
  await sql`UPDATE api_key_revision SET revision = revision + 1 WHERE id = 1`.execute(db);
}

/** The revision of the keys table: it changes whenever a key is created, revoked or rotated. */
export async function apiKeyRevision(db: Db): Promise<number> {
  const [row] = await rows(db, sql`SELECT revision FROM api_key_revision WHERE id = 1`);
  return num(row?.revision ?? 0);
}

async function insert(db: Db, k: ApiKeyRecord): Promise<void> {
  await sql`INSERT INTO api_keys (id, tenant_id, name, grants, secret_hash, prefix, created_at, created_by, expires_at, revoked_at, revoked_by,
      last_used_at, rotated_from, replaced_by, grace_until, updated_at)
    VALUES (${k.id}, ${k.tenantId}, ${k.name}, ${toJson(k.grants)}, ${k.secretHash}, ${k.prefix}, ${k.createdAt}, ${k.createdBy}, ${k.expiresAt},
      ${k.revokedAt}, ${k.revokedBy}, ${k.lastUsedAt}, ${k.rotatedFrom}, ${k.replacedBy}, ${k.graceUntil}, ${k.updatedAt})`.execute(db);
}

/** Inserts a key; a current key of the same tenant and name is a unique violation (`isApiKeyNameTaken`). Call in a transaction. */
export async function insertApiKey(db: Db, record: ApiKeyRecord): Promise<void> {
  await insert(db, record);
  await bumpRevision(db);
}

/** A unique violation of (tenant, name) among current keys. */
export function isApiKeyNameTaken(error: unknown): boolean {
  const e = error as { code?: unknown; table?: unknown; message?: unknown } | null;
  if (e?.code === '23505') return e.table === 'api_keys';
  return typeof e?.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT') && String(e.message).includes('api_keys.');
}

export async function getApiKey(db: Db, id: string): Promise<ApiKeyRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM api_keys WHERE id = ${id}`);
  return row ? apiKeyFromRow(row) : undefined;
}

/** The keys of a tenant with this name that are not revoked (the current one and any a rotate replaced), newest first. */
export async function unrevokedApiKeys(db: Db, tenantId: string, name: string): Promise<ApiKeyRecord[]> {
  return (
    await rows(db, sql`SELECT * FROM api_keys WHERE tenant_id = ${tenantId} AND name = ${name} AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`)
  ).map(apiKeyFromRow);
}

/** Keys newest first, by the (created_at, id) cursor. */
export async function listApiKeys(db: Db, query: ApiKeyListQuery): Promise<ApiKeyPage> {
  const where: Query[] = [sql`1 = 1`];
  if (query.tenantId !== undefined) where.push(sql`tenant_id = ${query.tenantId}`);
  if (query.name !== undefined) where.push(sql`name = ${query.name}`);
  if (query.cursor !== undefined) where.push(afterCursor(query.cursor));
  const fetched = (
    await rows(db, sql`SELECT * FROM api_keys WHERE ${sql.join(where, sql` AND `)} ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`)
  ).map(apiKeyFromRow);
  return toPage(fetched, query.limit);
}

/** Every key (the API processes' cache; a few bytes a key). */
export async function allApiKeys(db: Db): Promise<ApiKeyRecord[]> {
  return (await rows(db, sql`SELECT * FROM api_keys`)).map(apiKeyFromRow);
}

/** Keys that can sign in at `now`: not revoked, not expired, not past the grace of a rotate. */
export async function countUsableApiKeys(db: Db, now: number): Promise<number> {
  const [row] = await rows(
    db,
    sql`SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
      AND (replaced_by IS NULL OR grace_until > ${now})`,
  );
  return num(row?.n ?? 0);
}

/** Revokes those of `ids` not revoked yet; returns them as they are now. Call in a transaction. */
export async function revokeApiKeys(db: Db, ids: readonly string[], at: number, by: string): Promise<ApiKeyRecord[]> {
  if (ids.length === 0) return [];
  const revoked = await rows(
    db,
    sql`UPDATE api_keys SET revoked_at = ${at}, revoked_by = ${by}, updated_at = ${at} WHERE id IN ${inList(ids)} AND revoked_at IS NULL RETURNING *`,
  );
  if (revoked.length > 0) await bumpRevision(db);
  return revoked.map(apiKeyFromRow);
}

/**
 * Replaces the current key `oldId` by `next` (same tenant and name): the old one gets
 * `replaced_by` and works until `graceUntil`. False (nothing changed) when `oldId` is no longer
 * current (revoked or rotated meanwhile). Call in a transaction.
 */
export async function rotateApiKey(db: Db, oldId: string, graceUntil: number, next: ApiKeyRecord): Promise<boolean> {
  const replaced = await changed(
    db,
    sql`UPDATE api_keys SET replaced_by = ${next.id}, grace_until = ${graceUntil}, updated_at = ${next.createdAt}
      WHERE id = ${oldId} AND revoked_at IS NULL AND replaced_by IS NULL`,
  );
  if (!replaced) return false;
  await insert(db, next);
  await bumpRevision(db);
  return true;
}

/** Records a use of the key at `at` (never moves `last_used_at` back). */
export async function touchApiKey(db: Db, id: string, at: number): Promise<void> {
  await sql`UPDATE api_keys SET last_used_at = ${at} WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < ${at})`.execute(db);
}
