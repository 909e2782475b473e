/**
 * The schema as the application sees it: whether a process applies pending migrations when it
 * opens the store or refuses to start (`AGENTRY_AUTO_MIGRATE`, `--migrate`: on for SQLite, off
 * for PostgreSQL, where a deploy step runs `agentry migrate up` first), the log line of each
 * migration applied, and `agentry migrate status`.
 */
import type { Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import { schemaTooNew } from '../store/migrate.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../store/migrations.js';
import type { AppliedMigration, MigrationReport, Store } from '../store/store.js';

/**
 * Which database a process uses, at which schema: the startup log line (`store.opened`) and
 * `GET /v1/admin/info` both name the store with it, so a stale or mistaken database is plain.
 */
export interface StoreInfo {
  kind: Store['kind'];
  /** `sqlite:<file>`, or the PostgreSQL URL without password or query. */
  location: string;
  schema_version: number;
  latest: number;
}

/** The store's `StoreInfo`, from its schema state (read here when not given). */
export async function storeInfo(store: Store, state?: { current: number; latest: number }): Promise<StoreInfo> {
  const { current, latest } = state ?? (await store.schemaState());
  return { kind: store.kind, location: store.location, schema_version: current, latest };
}

/** `agentry migrate status --json`. */
export interface MigrationStatus {
  /** Where the database is (no password). */
  location: string;
  store: Store['kind'];
  /** The highest migration applied to the database (0: none). */
  current: number;
  /** The highest migration this build has. */
  latest: number;
  /** `current`; `pending` (run `agentry migrate up`); `newer` (the database was migrated by a newer build). */
  state: 'current' | 'pending' | 'newer';
  /** The migrations this build would apply, in order. */
  pending: Array<{ version: number; name: string }>;
  /** Each migration applied, oldest first: when, and how long it took (null: applied before durations were recorded). */
  applied: Array<{ version: number; name: string; applied_at: string; duration_ms: number | null }>;
}

function pendingAfter(current: number): MigrationStatus['pending'] {
  return MIGRATIONS.filter((m) => m.version > current).map(({ version, name }) => ({ version, name }));
}

/**
 * The report of a store whose schema is this build's; `schema_too_new` when it is newer (both
 * versions named), `migrations_pending` when it is behind (naming `agentry migrate up`).
 */
export async function assertSchemaCurrent(store: Store): Promise<MigrationReport> {
  const { current, latest } = await store.schemaState();
  if (current > latest) throw schemaTooNew(current);
  if (current < latest) {
    const pending = pendingAfter(current);
    throw new AgentryError(
      'migrations_pending',
      `${store.location} is at migration ${current} and this build needs ${latest} ` +
        `(${pending.length} pending: ${pending.map((m) => `${m.version} ${m.name}`).join('; ')}); ` +
        'run `agentry migrate up` first (the deploy step before new processes start), or start this process with --migrate (AGENTRY_AUTO_MIGRATE=true)',
      { details: { current, latest, pending: pending.map((m) => m.version) } },
    );
  }
  return { from: current, current, latest, applied: [] };
}

/** Logs each migration applied (`event: migration`, with from, to and its duration) at `level`. */
export function logMigrations(logger: Logger, level: 'info' | 'debug'): (migration: AppliedMigration) => void {
  return ({ version, name, from, durationMs }) =>
    logger[level]({ event: 'migration', version, name, from, to: version, duration_ms: durationMs }, `migration ${version} applied: ${name}`);
}

/** Where the schema stands: applied migrations with their times, and what this build would apply. Reads only. */
export async function migrationStatus(store: Store): Promise<MigrationStatus> {
  const [{ current, latest }, history] = await Promise.all([store.schemaState(), store.migrationHistory()]);
  return {
    location: store.location,
    store: store.kind,
    current,
    latest,
    state: current === latest ? 'current' : current < latest ? 'pending' : 'newer',
    pending: pendingAfter(current),
    applied: history.map((m) => ({ version: m.version, name: m.name, applied_at: new Date(m.appliedAt).toISOString(), duration_ms: m.durationMs })),
  };
}

/** The status of an SQLite store whose file does not exist yet (nothing applied). */
export function emptyStatus(location: string): MigrationStatus {
  const pending = pendingAfter(0);
  return { location, store: 'sqlite', current: 0, latest: LATEST_SCHEMA_VERSION, state: 'pending', pending, applied: [] };
}
