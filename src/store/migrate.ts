/** Applies pending migrations, each in its own transaction, under the dialect's migration lock. */
import { sql } from 'kysely';
import { AgentryError } from '../lib/errors.js';
import { isTransient } from './transient.js';
import { AUDIT_LOG_VERSION, DURATION_VERSION, LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';
import { appendAudit } from './sql/audit.js';
import type { Db, SqlDialect } from './sql/dialect.js';
import { numOrNull, rows } from './sql/values.js';
import type { MigrateOptions, MigrationRecord, MigrationReport, NewAuditEntry, SchemaState, StoreKind } from './store.js';

const CREATE_TABLE = sql`CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

async function currentVersion(db: Db): Promise<number> {
  const result = await sql<{ v: number | string | null }>`SELECT MAX(version) AS v FROM schema_migrations`.execute(db);
  return Number(result.rows[0]?.v ?? 0);
}

/** True once `schema_migrations` exists (a database nothing was ever applied to has none). */
async function hasMigrationsTable(db: Db, kind: StoreKind): Promise<boolean> {
  const query =
    kind === 'sqlite'
      ? sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
      : sql<{ n: number }>`SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE tablename = 'schema_migrations' AND schemaname = ANY (current_schemas(false))`;
  return Number((await query.execute(db)).rows[0]?.n ?? 0) > 0;
}

/** The schema version of the database and of this build; reads only (an empty database is at 0). */
export async function readSchemaState(db: Db, kind: StoreKind): Promise<SchemaState> {
  const current = (await hasMigrationsTable(db, kind)) ? await currentVersion(db) : 0;
  return { current, latest: LATEST_SCHEMA_VERSION };
}

/** The migrations applied to the database, oldest first (none for an empty one); reads only. */
export async function readMigrationHistory(db: Db, kind: StoreKind): Promise<MigrationRecord[]> {
  if (!(await hasMigrationsTable(db, kind))) return [];
  // `*`: before migration 16 the table has no `duration_ms`.
  return (await rows(db, sql`SELECT * FROM schema_migrations ORDER BY version`)).map((r) => ({
    version: Number(r.version),
    name: r.name as string,
    appliedAt: Number(r.applied_at),
    durationMs: numOrNull(r.duration_ms),
  }));
}

export function schemaTooNew(current: number): AgentryError {
  return new AgentryError(
    'schema_too_new',
    `database schema version ${current} is newer than this build supports (${LATEST_SCHEMA_VERSION}); ` +
      'run the newer Agentry build, or restore the backup taken before the upgrade (downgrades are not supported)',
    { details: { current, supported: LATEST_SCHEMA_VERSION } },
  );
}

function migrationEntry(principal: string, step: { version: number; name: string; from: number }, recordedLate = false): NewAuditEntry {
  return {
    tenantId: null,
    principal,
    action: 'store.migrate',
    target: `schema:${step.version}`,
    requestId: null,
    outcome: 'success',
    clientIp: null,
    details: { name: step.name, from: step.from, to: step.version, ...(recordedLate ? { recorded_late: true } : {}) },
  };
}

/**
 * Applies every pending migration. Each is an audit entry (`store.migrate`, with `from` and
 * `to`) written in its own transaction; the ones applied before the audit log existed (a new
 * database) are recorded, marked `recorded_late`, in the transaction that creates it.
 */
export async function runMigrations(db: Db, dialect: SqlDialect, options: MigrateOptions = {}): Promise<MigrationReport> {
  const principal = options.principal ?? 'system';
  const applied: number[] = [];
  let from = 0;
  const unrecorded: Array<{ version: number; name: string; from: number }> = [];
  // How long each migration applied here before `duration_ms` existed took: recorded by the one that adds it.
  const untimed: Array<{ version: number; durationMs: number }> = [];
  let current = 0;
  // Everything under the lock, on the lock's connection: ten processes starting together
  // create the table and apply each migration once.
  await dialect.withMigrationLock(db, async (conn) => {
    await CREATE_TABLE.execute(conn);
    current = await currentVersion(conn);
    from = current;
    if (current > LATEST_SCHEMA_VERSION) throw schemaTooNew(current);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      if (options.to !== undefined && migration.version > options.to) break;
      const started = performance.now();
      try {
        await dialect.transaction(conn, async (trx) => {
          for (const statement of migration[dialect.kind]) await sql.raw(statement).execute(trx);
          await sql`INSERT INTO schema_migrations (version, name, applied_at)
            VALUES (${migration.version}, ${migration.name}, ${Date.now()})`.execute(trx);
          if (migration.version >= DURATION_VERSION) {
            const durationMs = Math.round(performance.now() - started);
            for (const t of [...untimed, { version: migration.version, durationMs }])
              await sql`UPDATE schema_migrations SET duration_ms = ${t.durationMs} WHERE version = ${t.version}`.execute(trx);
          }
          // Once the audit log exists, each migration is an audit entry of its own transaction.
          if (migration.version >= AUDIT_LOG_VERSION) {
            for (const earlier of unrecorded) await appendAudit(trx, dialect.lockSuffix, migrationEntry(principal, earlier, true), Date.now());
            const step = { version: migration.version, name: migration.name, from: current };
            await appendAudit(trx, dialect.lockSuffix, migrationEntry(principal, step), Date.now());
          }
        });
      } catch (error) {
        // The database went away: nothing was applied, and trying again later may succeed.
        if (isTransient(error)) throw error;
        throw new AgentryError(
          'migration_failed',
          `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}; ` +
            'nothing of it was applied and Agentry will not serve on this database until it succeeds — ' +
            'check the database user can create tables and has disk space, then start again',
          { cause: error, details: { version: migration.version, from: current } },
        );
      }
      const durationMs = Math.round(performance.now() - started);
      if (migration.version < AUDIT_LOG_VERSION) unrecorded.push({ version: migration.version, name: migration.name, from: current });
      else unrecorded.length = 0;
      if (migration.version < DURATION_VERSION) untimed.push({ version: migration.version, durationMs });
      else untimed.length = 0;
      options.onApplied?.({ version: migration.version, name: migration.name, from: current, durationMs });
      applied.push(migration.version);
      current = migration.version;
    }
  });
  return { from, current, latest: LATEST_SCHEMA_VERSION, applied };
}
