/**
 * Idempotency keys of run starts (and of task decisions, recorded in their run's
 * transaction), per tenant and principal: the first request with a key wins; a second by the
 * same principal finds the first's record.
 */
import { sql } from 'kysely';
import type { IdempotencyRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows } from './values.js';

export async function getIdempotencyKey(db: Db, tenantId: string, principal: string, key: string): Promise<IdempotencyRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM idempotency_keys WHERE tenant_id = ${tenantId} AND principal = ${principal} AND key = ${key}`);
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id as string,
    principal: row.principal as string,
    key: row.key as string,
    requestHash: row.request_hash as string,
    runId: row.run_id as string,
    createdAt: num(row.created_at),
  };
}

/** Records a key; a key already recorded (by a request that committed first) is a unique violation. */
export async function insertIdempotencyKey(db: Db, record: IdempotencyRecord): Promise<void> {
  await sql`INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, run_id, created_at)
    VALUES (${record.tenantId}, ${record.principal}, ${record.key}, ${record.requestHash}, ${record.runId}, ${record.createdAt})`.execute(db);
}

/** A unique violation of the idempotency key (another start with the same key committed first). */
export function isIdempotencyKeyConflict(error: unknown): boolean {
  const e = error as { code?: unknown; table?: unknown; message?: unknown } | null;
  if (e?.code === '23505') return e.table === 'idempotency_keys';
  return typeof e?.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT') && String(e.message).includes('idempotency_keys');
}
