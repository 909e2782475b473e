/**
 * Artifacts of runs (`run_artifacts`): one row per run and name. A write checks the run's total
 * against its limit under a lock on the run's artifacts (PostgreSQL; SQLite serialises writers),
 * so two steps writing at once cannot pass it together. Rows go with their run (`ON DELETE CASCADE`).
 */
import { sql } from 'kysely';
import { AgentryError } from '../../lib/errors.js';
import type { ArtifactRecord, NewArtifact } from '../store-types.js';
import type { Db, SqlDialect } from './dialect.js';
import { num, rows, type Row } from './values.js';

const COLUMNS = sql`run_id, name, tenant_id, step_id, size, sha256, content_type, created_at`;

function fromRow(row: Row): ArtifactRecord {
  return {
    runId: row.run_id as string,
    name: row.name as string,
    tenantId: row.tenant_id as string,
    stepId: row.step_id as string,
    size: num(row.size),
    sha256: row.sha256 as string,
    contentType: row.content_type as string,
    createdAt: num(row.created_at),
  };
}

/**
 * Stores `a` (replacing an artifact of the same name: a retried step writes it again), with
 * `content` in the row or NULL (the bytes live elsewhere). Refused with `artifact_too_large`
 * when the run's artifacts would pass `a.maxRunBytes`; refused with `not_found` when the run is gone.
 */
export async function putArtifact(trx: Db, dialect: SqlDialect, a: NewArtifact, content: Uint8Array | null): Promise<ArtifactRecord> {
  if (dialect.keyLock) await dialect.keyLock(`artifacts:${a.runId}`).execute(trx);
  const [run] = await rows(trx, sql`SELECT id FROM runs WHERE id = ${a.runId}`);
  if (run === undefined) throw new AgentryError('not_found', `run ${a.runId} not found`);
  const [total] = await rows(trx, sql`SELECT COALESCE(SUM(size), 0) AS bytes FROM run_artifacts WHERE run_id = ${a.runId} AND name <> ${a.name}`);
  const others = num(total?.bytes ?? 0);
  if (others + a.size > a.maxRunBytes) {
    throw new AgentryError(
      'artifact_too_large',
      `artifact '${a.name}' (${a.size} bytes) would take run ${a.runId}'s artifacts to ${others + a.size} bytes, past its limit of ${a.maxRunBytes}`,
      { details: { name: a.name, size: a.size, run_bytes: others, limit: a.maxRunBytes } },
    );
  }
  const [row] = await rows(
    trx,
    sql`INSERT INTO run_artifacts (run_id, name, tenant_id, step_id, size, sha256, content_type, created_at, content)
      VALUES (${a.runId}, ${a.name}, ${a.tenantId}, ${a.stepId}, ${a.size}, ${a.sha256}, ${a.contentType}, ${a.createdAt}, ${content})
      ON CONFLICT (run_id, name) DO UPDATE SET step_id = ${a.stepId}, size = ${a.size}, sha256 = ${a.sha256},
        content_type = ${a.contentType}, created_at = ${a.createdAt}, content = ${content}
      RETURNING ${COLUMNS}`,
  );
  return fromRow(row!);
}

/** Removes one artifact's row (a write whose file could not be put in place). */
export async function deleteArtifact(db: Db, runId: string, name: string): Promise<void> {
  await sql`DELETE FROM run_artifacts WHERE run_id = ${runId} AND name = ${name}`.execute(db);
}

/** The run's artifacts by name. */
export async function listArtifacts(db: Db, runId: string): Promise<ArtifactRecord[]> {
  return (await rows(db, sql`SELECT ${COLUMNS} FROM run_artifacts WHERE run_id = ${runId} ORDER BY name`)).map(fromRow);
}

/** One artifact with the bytes its row holds (null: kept outside the database); undefined when there is none. */
export async function readArtifact(db: Db, runId: string, name: string): Promise<{ record: ArtifactRecord; content: Uint8Array | null } | undefined> {
  const [row] = await rows(db, sql`SELECT ${COLUMNS}, content FROM run_artifacts WHERE run_id = ${runId} AND name = ${name}`);
  if (row === undefined) return undefined;
  const content = row.content === null || row.content === undefined ? null : (row.content as Uint8Array);
  return { record: fromRow(row), content };
}
