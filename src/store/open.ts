/**
 * Opens the store a database URL names, and waits for it at startup:
 *
 *   const store = openStore(config.databaseUrl, { logger });
 *   await waitForStore(store, { signal, logger });   // retries while the database is down, then migrates
 */
import type { Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import { parseDatabaseUrl, type DatabaseLocation } from './database-url.js';
import { openPostgresStore, type PostgresOptions } from './postgres.js';
import { checkSqliteFilesystem } from './sqlite-filesystem.js';
import { openSqliteStore } from './sqlite.js';
import type { MigrationReport, Store } from './store.js';
import { pause } from '../lib/sleep.js';
import { OutageLog, reconnectDelayMs, isTransient } from './transient.js';

export interface OpenStoreOptions extends PostgresOptions {
  /** SQLite: milliseconds to wait for another process's write lock (default 5000). */
  sqliteBusyTimeoutMs?: number;
}

/**
 * Opens the store at `location` (a URL is parsed by `parseDatabaseUrl`). Nothing is connected or
 * created until first use. An SQLite file on a network filesystem is refused (`store_unsupported`).
 */
export function openStore(location: string | DatabaseLocation, options: OpenStoreOptions = {}): Store {
  const at = typeof location === 'string' ? parseDatabaseUrl(location) : location;
  if (at.kind === 'postgres') return openPostgresStore(at.url, options);
  const warning = checkSqliteFilesystem(at.file);
  if (warning !== undefined) options.logger?.warn({ store: `sqlite:${at.file}` }, warning);
  return openSqliteStore(at.file, {
    busyTimeoutMs: options.sqliteBusyTimeoutMs ?? 5000,
    ...(options.now ? { now: options.now } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
}

export interface WaitForStoreOptions {
  /** Stops waiting (the promise rejects with `store_unavailable`). */
  signal?: AbortSignal;
  logger: Logger;
  /** Longest pause between two tries (default 5 s). */
  maxDelayMs?: number;
  /** What to do once the database answers (default: `store.migrate()`); e.g. only check the schema is current. */
  open?: () => Promise<MigrationReport>;
}

/**
 * Migrates the store (or does `options.open`), retrying for as long as the database is
 * unreachable (refused, starting up, restarting), logging the outage once. Errors that waiting
 * cannot fix (bad credentials, a missing database, a failed migration, a schema too new or
 * behind) are thrown at once.
 */
export async function waitForStore(store: Store, options: WaitForStoreOptions): Promise<MigrationReport> {
  const { signal, logger, maxDelayMs = 5_000, open = () => store.migrate() } = options;
  const outage = new OutageLog(logger, `opening ${store.location}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const report = await open();
      outage.ok();
      return report;
    } catch (error) {
      if (!isTransient(error)) throw error;
      outage.failed(error);
      if (signal?.aborted) {
        throw new AgentryError('store_unavailable', `gave up waiting for ${store.location}`, { retryable: true, cause: error });
      }
      await pause(reconnectDelayMs(attempt, 200, maxDelayMs), signal);
    }
  }
}
