/**
 * The audit log: appended under the head row's lock (one chain however many writers), listed
 * newest first with a seq cursor, read in chain order for verification, pruned by retention.
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { AuditOutcome, AuditRecord } from '../../types.js';
import { auditEntryHash, auditRunId } from '../audit-chain.js';
import type { AuditFilter, AuditHead, AuditListQuery, AuditPage, NewAuditEntry } from '../store-types.js';
import type { Db } from './dialect.js';
import { fromJson, num, rows, toJson, type Query, type Row } from './values.js';

function auditFromRow(r: Row): AuditRecord {
  return {
    seq: num(r.seq),
    id: r.id as string,
    at: num(r.at),
    tenantId: (r.tenant_id as string | null) ?? null,
    principal: r.principal as string,
    action: r.action as string,
    target: (r.target as string | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
    outcome: r.outcome as AuditOutcome,
    clientIp: (r.client_ip as string | null) ?? null,
    details: fromJson<Record<string, unknown> | null>(r.details),
    runId: (r.run_id as string | null | undefined) ?? null,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

export async function auditHead(db: Db, lockSuffix = ''): Promise<AuditHead> {
  const [row] = await rows(db, sql`SELECT seq, hash, pruned_seq, pruned_hash FROM audit_head WHERE id = 1 ${sql.raw(lockSuffix)}`);
  if (!row) throw new AgentryError('internal', 'the audit log has no head row');
  return { seq: num(row.seq), hash: row.hash as string, prunedSeq: num(row.pruned_seq), prunedHash: row.pruned_hash as string };
}

/**
 * Appends an entry as the chain's next one. Call inside a write transaction: the head row's
 * lock (`lockSuffix`, `FOR UPDATE` on PostgreSQL) serialises appends until it commits.
 */
export async function appendAudit(db: Db, lockSuffix: string, entry: NewAuditEntry, now: number): Promise<AuditRecord> {
  const [record] = await appendAudits(db, lockSuffix, [entry], now);
  return record!;
}

/**
 * Appends `entries` in order as the chain's next ones: the head read (and locked) once and moved
 * once, past the last of them. Call inside a write transaction, as `appendAudit`.
 */
export async function appendAudits(db: Db, lockSuffix: string, entries: readonly NewAuditEntry[], now: number): Promise<AuditRecord[]> {
  if (entries.length === 0) return [];
  let { seq, hash } = await auditHead(db, lockSuffix);
  const appended: AuditRecord[] = [];
  for (const entry of entries) {
    const at = entry.at ?? now;
    const unhashed: Omit<AuditRecord, 'hash'> = { ...entry, seq: seq + 1, id: newId('aud', at), at, runId: auditRunId(entry), prevHash: hash };
    const record: AuditRecord = { ...unhashed, hash: auditEntryHash(unhashed) };
    // `run_id` is written only when there is one: the entries of migrations, which have none,
    // are also appended while the schema is older than the column (`migrate.ts`).
    const runColumn = record.runId === null ? sql`` : sql`, run_id`;
    const runValue = record.runId === null ? sql`` : sql`, ${record.runId}`;
    await sql`INSERT INTO audit_log (seq, id, at, tenant_id, principal, action, target, request_id, outcome, client_ip, details, prev_hash, hash${runColumn})
      VALUES (${record.seq}, ${record.id}, ${record.at}, ${record.tenantId}, ${record.principal}, ${record.action}, ${record.target},
              ${record.requestId}, ${record.outcome}, ${record.clientIp}, ${toJson(record.details)}, ${record.prevHash}, ${record.hash}${runValue})`.execute(
      db,
    );
    appended.push(record);
    ({ seq, hash } = record);
  }
  await sql`UPDATE audit_head SET seq = ${seq}, hash = ${hash} WHERE id = 1`.execute(db);
  return appended;
}

function decodeCursor(cursor: string): number {
  const seq = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(seq) || seq < 1) throw new AgentryError('invalid_request', 'cursor is not valid');
  return seq;
}

function filterConditions(filter: AuditFilter): Query[] {
  const where: Query[] = [sql`1 = 1`];
  if (filter.tenantId !== undefined) {
    where.push(filter.withInstallation === true ? sql`(tenant_id = ${filter.tenantId} OR tenant_id IS NULL)` : sql`tenant_id = ${filter.tenantId}`);
  }
  if (filter.principal !== undefined) where.push(sql`principal = ${filter.principal}`);
  if (filter.action !== undefined) where.push(sql`action = ${filter.action}`);
  if (filter.target !== undefined) where.push(sql`target = ${filter.target}`);
  if (filter.runId !== undefined) where.push(sql`run_id = ${filter.runId}`);
  if (filter.after !== undefined) where.push(sql`at >= ${filter.after}`);
  if (filter.before !== undefined) where.push(sql`at < ${filter.before}`);
  return where;
}

/** Entries matching `query`, newest first. */
export async function listAudit(db: Db, query: AuditListQuery): Promise<AuditPage> {
  const where = filterConditions(query);
  if (query.cursor !== undefined) where.push(sql`seq < ${decodeCursor(query.cursor)}`);
  const fetched = (await rows(db, sql`SELECT * FROM audit_log WHERE ${sql.join(where, sql` AND `)} ORDER BY seq DESC LIMIT ${query.limit + 1}`)).map(
    auditFromRow,
  );
  const items = fetched.slice(0, query.limit);
  const last = items[items.length - 1];
  return { items, nextCursor: fetched.length > query.limit && last ? Buffer.from(String(last.seq)).toString('base64url') : null };
}

/** Up to `limit` entries after `afterSeq`, in chain order (for verification and export). */
export async function auditChain(db: Db, afterSeq: number, limit: number): Promise<AuditRecord[]> {
  return (await rows(db, sql`SELECT * FROM audit_log WHERE seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`)).map(auditFromRow);
}

/** Up to `limit` entries matching `filter` after `afterSeq`, in chain order (a SIEM export pages through it). */
export async function exportAudit(db: Db, filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditRecord[]> {
  const where = [...filterConditions(filter), sql`seq > ${afterSeq}`];
  return (await rows(db, sql`SELECT * FROM audit_log WHERE ${sql.join(where, sql` AND `)} ORDER BY seq LIMIT ${limit}`)).map(auditFromRow);
}

/**
 * Deletes the entries older than `before` and moves the head's anchor to the last one deleted,
 * so the first kept entry still chains to a known hash; returns the anchor (undefined when
 * nothing was old enough). Call inside a write transaction holding the head's lock.
 */
export async function pruneAudit(db: Db, lockSuffix: string, before: number): Promise<{ seq: number; hash: string; count: number } | undefined> {
  const head = await auditHead(db, lockSuffix);
  const [last] = await rows(db, sql`SELECT seq, hash FROM audit_log WHERE at < ${before} ORDER BY seq DESC LIMIT 1`);
  if (!last) return undefined;
  const seq = num(last.seq);
  const hash = last.hash as string;
  await sql`DELETE FROM audit_log WHERE seq <= ${seq}`.execute(db);
  await sql`UPDATE audit_head SET pruned_seq = ${seq}, pruned_hash = ${hash} WHERE id = 1`.execute(db);
  return { seq, hash, count: seq - head.prunedSeq };
}
