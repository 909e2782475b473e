/**
 * Opens the store a database URL names, and waits for it at startup:
 *
 *   const store = openStore(config.databaseUrl, { logger });
 *   await waitForStore(store, { signal, logger });   // retries while the database is down, then migrates
 */
import type { Logger } from 'pino';
import { AgentryError } from '../errors.js';
import { openPostgresStore, type PostgresOptions } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { MigrationReport, Store } from './store.js';
import { OutageLog, backoffMs, isTransient } from './transient.js';

export interface OpenStoreOptions extends PostgresOptions {
  /** SQLite: milliseconds to wait for another process's write lock (default 5000). */
  sqliteBusyTimeoutMs?: number;
}

/**
 * `sqlite:<file>` (relative to the working directory; `sqlite::memory:` for a throwaway
 * store) or `postgres://…` / `postgresql://…` (see `postgres.ts` for its query parameters).
 * Nothing is connected or created until the store is first used.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new AgentryError('invalid_request', 'sqlite URL needs a file, e.g. sqlite:.agentry/agentry.db');
    return openSqliteStore(file, {
      busyTimeoutMs: options.sqliteBusyTimeoutMs ?? 5000,
      ...(options.now ? { now: options.now } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgresStore(url, options);
  throw new AgentryError('invalid_request', 'database URL must be sqlite:<file> or postgres://…');
}

export interface WaitForStoreOptions {
  /** Stops waiting (the promise rejects with `store_unavailable`). */
  signal?: AbortSignal;
  logger: Logger;
  /** Longest pause between two tries (default 5 s). */
  maxDelayMs?: number;
}

/**
 * Migrates the store, retrying for as long as the database is unreachable (refused, starting
 * up, restarting), logging the outage once. Errors that waiting cannot fix (bad credentials,
 * a missing database, a failed migration, a schema too new) are thrown at once.
 */
export async function waitForStore(store: Store, options: WaitForStoreOptions): Promise<MigrationReport> {
  const { signal, logger, maxDelayMs = 5_000 } = options;
  const outage = new OutageLog(logger, `opening ${store.location}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const report = await store.migrate();
      outage.ok();
      return report;
    } catch (error) {
      if (!isTransient(error)) throw error;
      outage.failed(error);
      if (signal?.aborted) {
        throw new AgentryError('store_unavailable', `gave up waiting for ${store.location}`, { retryable: true, cause: error });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, backoffMs(attempt, 200, maxDelayMs));
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
