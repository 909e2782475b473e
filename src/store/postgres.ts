/**
 * The distributed store: PostgreSQL through a `pg` pool. Many worker and API processes on
 * many hosts share one database; each transition is one transaction holding its run's row
 * lock (`FOR UPDATE`; claims use `SKIP LOCKED` so workers never queue behind each other),
 * migrations run once under an advisory lock, and wake-ups travel by `LISTEN/NOTIFY`.
 *
 * Settings, each from the URL's query string or from `PostgresOptions` (options win):
 *
 * | query parameter     | option             | default  | meaning                                              |
 * |---------------------|--------------------|----------|------------------------------------------------------|
 * | `pool_size`         | `poolSize`         | 10       | connections this process keeps at most               |
 * | `statement_timeout` | `statementTimeoutMs` | 30s    | PostgreSQL cancels a statement running longer (0: never); a bare number is ms |
 * | `connect_timeout`   | `connectTimeoutMs` | 10s      | giving up on opening a connection; a bare number is seconds (as in libpq) |
 * | `application_name`  | `applicationName`  | agentry  | shown in `pg_stat_activity`                          |
 * | `prepared_statements` | `preparedStatements` | on   | prepare the run transaction's lock, steps read and writes, and the due-steps read, once per connection (`off` behind PgBouncer in transaction mode; postgres-deferred.ts) |
 *
 * Sessions also get `idle_in_transaction_session_timeout = 60s`, so a process frozen in
 * the middle of a transaction cannot hold a run's lock for ever.
 */
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import { POSTGRES_DEFAULTS } from './database-url.js';
import type { AttemptKey } from '../types.js';
import { DEFER, DEFER_PREPARED, deferringPool, MANY } from './postgres-deferred.js';
import { recordsetInsert } from './postgres-recordset.js';
import { WAKE_CHANNEL, WakeListener } from './postgres-wake.js';
import type { Db, SqlDialect } from './sql/dialect.js';
import { insertRowsOf } from './sql/values.js';
import { SqlStore } from './sql-store.js';
import type { StoreObserver } from './store-types.js';
import { commitUnknown, isTransient } from './transient.js';

export interface PostgresOptions {
  /** Connections this process keeps at most (default 10; `?pool_size=`). */
  poolSize?: number;
  /** Statement timeout in ms, 0 for none (default 30 000; `?statement_timeout=30s`). */
  statementTimeoutMs?: number;
  /** Longest wait for a new connection in ms (default 10 000; `?connect_timeout=10`, seconds). */
  connectTimeoutMs?: number;
  /** `application_name` of the sessions (default `agentry`; `?application_name=`). */
  applicationName?: string;
  /** Named prepared statements on the hot path (default true; `?prepared_statements=off` behind PgBouncer in transaction mode). */
  preparedStatements?: boolean;
  /** Logs outages of the wake-up listener and errors of idle connections. */
  logger?: Logger;
  now?: () => number;
  /** Told how each write transaction ends (the process's metrics). */
  observer?: StoreObserver;
}

/** Key of the session advisory lock that serialises migrations (any constant bigint). */
const MIGRATION_LOCK_KEY = 4_216_734_001;

const QUERY_OPTIONS = ['pool_size', 'statement_timeout', 'connect_timeout', 'application_name', 'prepared_statements'] as const;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function parseDuration(name: string, text: string, bareUnitMs: number): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new AgentryError('invalid_request', `database URL: ${name} must be a duration like 30s or 500ms, got '${text}'`);
  return Number(match[1]) * (match[2] ? UNIT_MS[match[2]]! : bareUnitMs);
}

export interface ResolvedPostgresSettings {
  /** The URL without Agentry's own query parameters (what `pg` connects with). */
  connectionString: string;
  /** The URL safe to print: no password, no query string. */
  location: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  applicationName: string;
  preparedStatements: boolean;
}

/** Splits Agentry's settings out of a `postgres://` URL and merges the options over them. */
export function resolvePostgresSettings(url: string, options: PostgresOptions = {}): ResolvedPostgresSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new AgentryError('invalid_request', 'database URL is not a valid postgres:// URL', { cause: error });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new AgentryError('invalid_request', `database URL must start with postgres:// or postgresql://, got ${parsed.protocol}//`);
  }
  const q = parsed.searchParams;
  const fromUrl: Partial<ResolvedPostgresSettings> = {};
  const poolSize = q.get('pool_size');
  if (poolSize !== null) {
    if (!/^\d+$/.test(poolSize) || Number(poolSize) < 1) {
      throw new AgentryError('invalid_request', `database URL: pool_size must be a whole number >= 1, got '${poolSize}'`);
    }
    fromUrl.poolSize = Number(poolSize);
  }
  const statementTimeout = q.get('statement_timeout');
  if (statementTimeout !== null) fromUrl.statementTimeoutMs = parseDuration('statement_timeout', statementTimeout, 1);
  const connectTimeout = q.get('connect_timeout');
  if (connectTimeout !== null) fromUrl.connectTimeoutMs = parseDuration('connect_timeout', connectTimeout, 1_000);
  const applicationName = q.get('application_name');
  if (applicationName !== null) fromUrl.applicationName = applicationName;
  const prepared = q.get('prepared_statements');
  if (prepared !== null) {
    if (!/^(on|off|true|false)$/.test(prepared)) {
      throw new AgentryError('invalid_request', `database URL: prepared_statements must be on or off, got '${prepared}'`);
    }
    fromUrl.preparedStatements = prepared === 'on' || prepared === 'true';
  }
  for (const name of QUERY_OPTIONS) q.delete(name);

  const location = new URL(parsed.href);
  location.password = '';
  location.search = '';
  const settings = {
    connectionString: parsed.href,
    location: location.href,
    poolSize: options.poolSize ?? fromUrl.poolSize ?? POSTGRES_DEFAULTS.poolSize,
    statementTimeoutMs: options.statementTimeoutMs ?? fromUrl.statementTimeoutMs ?? POSTGRES_DEFAULTS.statementTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? fromUrl.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs,
    applicationName: options.applicationName ?? fromUrl.applicationName ?? POSTGRES_DEFAULTS.applicationName,
    preparedStatements: options.preparedStatements ?? fromUrl.preparedStatements ?? POSTGRES_DEFAULTS.preparedStatements,
  };
  if (!Number.isSafeInteger(settings.poolSize) || settings.poolSize < 1) {
    throw new AgentryError('invalid_request', `PostgreSQL pool size must be a whole number >= 1, got ${settings.poolSize}`);
  }
  return settings;
}

/** BIGINT (int8, oid 20) columns hold millisecond timestamps and counts: read them as numbers. */
export function typeOverrides(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return types;
}

/**
 * An error the server answered to a statement (severity ERROR; a transaction rollback, class
 * 40, in any language): the transaction did not commit. A lost connection, or a FATAL error
 * (the server shutting down), leaves that unknown.
 */
function refusedStatement(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return severity === 'ERROR' || (typeof code === 'string' && code.startsWith('40'));
}

/** A parameter `MANY` can write as a literal (postgres-deferred.ts). */
const jsonLiteral = (value: unknown): boolean =>
  value === null || typeof value === 'boolean' || (typeof value === 'string' && !value.includes('\0')) || (typeof value === 'number' && Number.isFinite(value));

function postgresDialect(listener: WakeListener, preparedStatements: boolean): SqlDialect {
  let publishing: Promise<void> | undefined;
  let publishAgain = false;
  return {
    kind: 'postgres',
    lockSuffix: 'FOR UPDATE',
    skipLockedSuffix: 'FOR UPDATE SKIP LOCKED',
    // clock_timestamp(), not now(): the time of the statement, not of its transaction's start.
    clockSql: sql`SELECT round(extract(epoch FROM clock_timestamp()) * 1000)::int8 AS t`,
    keyLock: (key) => sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`,
    // A blip (a restart, a broken lock cycle) is retried briefly; longer outages are the
    // callers' to ride out (the engine's loops retry with their own backoff).
    retry: { attempts: 3, baseMs: 100, maxMs: 1_000 },
    async transaction(db, fn) {
      return db.connection().execute(async (conn) => {
        // Sent with the transaction's first statement (postgres-deferred.ts).
        await sql.raw(`${DEFER}BEGIN`).execute(conn);
        let result: Awaited<ReturnType<typeof fn>>;
        try {
          result = await fn(conn);
        } catch (error) {
          await sql`ROLLBACK`.execute(conn).catch(() => undefined);
          throw error;
        }
        let committed: { rows: unknown[] };
        try {
          committed = await sql`COMMIT`.execute(conn);
        } catch (error) {
          // The deferred writes went with the COMMIT: one of them failing leaves the transaction open, aborted.
          await sql`ROLLBACK`.execute(conn).catch(() => undefined);
          // The server refused a statement of the message (a write, or the COMMIT itself): nothing was committed.
          if (refusedStatement(error)) throw error;
          throw isTransient(error) ? commitUnknown(error) : error;
        }
        if ((committed.rows[0] as { command?: string } | undefined)?.command === 'ROLLBACK') {
          throw new AgentryError('internal', 'transaction was rolled back by PostgreSQL after a failed statement');
        }
        return result;
      });
    },
    // The buffered writes of a run's transaction, sent with the next statement (COMMIT, mostly), each
    // as `EXECUTE` of its prepared form (postgres-deferred.ts); a multi-row INSERT as its recordset
    // form, one text for any row count. They touch different rows: their order does not matter.
    async writeBatch(db, queries) {
      for (const query of queries) {
        const rows = preparedStatements ? insertRowsOf(query) : undefined;
        const recordset = rows && recordsetInsert(rows);
        const { sql: text, parameters } = recordset ? { sql: recordset.text, parameters: recordset.values } : query.compile(db);
        await db.executeQuery(CompiledQuery.raw(`${DEFER_PREPARED}${text}`, [...parameters]));
      }
    },
    // A run's lock and its steps, in one round trip (with BEGIN): each statement still has its own snapshot.
    async readMany(db, queries) {
      const statements = queries.map((query) => {
        const { sql: text, parameters } = query.compile(db);
        return { text, values: parameters };
      });
      if (!statements.every((s) => s.values.every(jsonLiteral))) {
        const all: Record<string, unknown>[][] = [];
        for (const query of queries) all.push((await query.execute(db)).rows as Record<string, unknown>[]);
        return all;
      }
      const { rows } = await db.executeQuery(CompiledQuery.raw(MANY, statements));
      return rows as Record<string, unknown>[][];
    },
    async withMigrationLock(db, fn) {
      return db.connection().execute(async (conn) => {
        // Waiting for another process's migrations, or a long CREATE INDEX, is not a hung statement.
        await sql`SET statement_timeout = 0`.execute(conn);
        await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn).catch(() => undefined);
          await sql`RESET statement_timeout`.execute(conn).catch(() => undefined);
        }
      });
    },
    async renewLeases(db: Db, workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]> {
      const result = await sql<{ run_id: string; step_id: string; attempt: number }>`
        UPDATE steps AS s SET lease_expires_at = ${expiresAt}
        FROM unnest(${keys.map((k) => k.runId)}::text[], ${keys.map((k) => k.stepId)}::text[], ${keys.map((k) => k.attempt)}::int[])
          AS k(run_id, step_id, attempt)
        WHERE s.run_id = k.run_id AND s.step_id = k.step_id AND s.attempt = k.attempt
          AND s.status = 'running' AND s.lease_owner = ${workerId}
        RETURNING s.run_id, s.step_id, s.attempt`.execute(db);
      return result.rows.map((r) => ({ runId: r.run_id, stepId: r.step_id, attempt: Number(r.attempt) }));
    },
    // Coalesced: while one NOTIFY is in flight, further wake-ups make one more, not many.
    publishWake(db) {
      if (publishing) {
        publishAgain = true;
        return publishing;
      }
      publishing = (async () => {
        do {
          publishAgain = false;
          await sql`SELECT pg_notify(${WAKE_CHANNEL}, '')`.execute(db);
        } while (publishAgain);
      })().finally(() => {
        publishing = undefined;
      });
      return publishing;
    },
    subscribeWake(fn) {
      return listener.subscribe(fn);
    },
    async close(db) {
      await listener.stop();
      await db.destroy();
    },
  };
}

/** Opens (without connecting yet) a PostgreSQL store; `migrate()` brings its schema up to date. */
export function openPostgresStore(url: string, options: PostgresOptions = {}): SqlStore {
  const settings = resolvePostgresSettings(url, options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const connection: pg.ClientConfig = {
    connectionString: settings.connectionString,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: settings.applicationName,
    idle_in_transaction_session_timeout: POSTGRES_DEFAULTS.idleInTransactionTimeoutMs,
    types: typeOverrides(),
    ...(settings.statementTimeoutMs > 0 ? { statement_timeout: settings.statementTimeoutMs } : {}),
  };
  const pool = new pg.Pool({ ...connection, max: settings.poolSize, idleTimeoutMillis: 30_000 });
  // An idle connection killed by a server restart emits 'error' on the pool; the pool drops
  // it and opens a fresh one on demand. Without a listener Node would crash the process.
  pool.on('error', (error) => logger.debug({ err: error }, 'idle PostgreSQL connection lost'));
  // A connection lost while checked out also emits 'error' on the client (its query fails
  // too, and the pool discards it on release): listen so that it is not an uncaught error.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const listener = new WakeListener({ ...connection, application_name: `${settings.applicationName}-listen` }, logger);
  const db: Db = new Kysely({ dialect: new PostgresDialect({ pool: deferringPool(pool, { prepare: settings.preparedStatements }) }) });
  return new SqlStore(db, postgresDialect(listener, settings.preparedStatements), settings.location, options.now, options.observer);
}
