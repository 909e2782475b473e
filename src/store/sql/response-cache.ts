/** The gateway's exact-match response cache (`gateway/cache.ts`): one answer per tenant and request key, until it expires. */
import { sql } from 'kysely';
import type { Db } from './dialect.js';
import { fromJson, rows } from './values.js';

/** The live answer under `key` for the tenant at `now`, as stored. */
export async function cacheGet(db: Db, tenantId: string, key: string, now: number): Promise<unknown> {
  const found = await rows(db, sql`SELECT response FROM llm_cache WHERE tenant_id = ${tenantId} AND key = ${key} AND expires_at > ${now}`);
  return found[0] === undefined ? undefined : fromJson(found[0].response);
}

/** Stores (or replaces) an answer until `expiresAt`. */
export async function cachePut(db: Db, tenantId: string, key: string, response: unknown, now: number, expiresAt: number): Promise<void> {
  await sql`INSERT INTO llm_cache (tenant_id, key, response, created_at, expires_at)
    VALUES (${tenantId}, ${key}, ${JSON.stringify(response)}, ${now}, ${expiresAt})
    ON CONFLICT (tenant_id, key) DO UPDATE SET response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at`.execute(db);
}

/** Deletes the expired answers; how many. */
export async function pruneCache(db: Db, now: number): Promise<number> {
  const result = await sql`DELETE FROM llm_cache WHERE expires_at <= ${now}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
