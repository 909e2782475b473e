/** Store factories for the suites that run on every store (PostgreSQL joins when it exists). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { RetentionSettings } from '../../src/app/config.js';
import type { NewRun, Store } from '../../src/store/store.js';
import { createTestDatabase, PG_ADMIN_URL, probePostgres } from './postgres.js';

export interface StoreFactory {
  name: string;
  /** A fresh, migrated store of its own; `cleanup` closes it and removes its data. */
  open(options?: { now?: () => number }): Promise<{ store: Store; cleanup: () => Promise<void> }>;
}

export function tempDir(prefix = 'agentry-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async open(options = {}) {
    const { dir, remove } = tempDir();
    const store = openSqliteStore(join(dir, 'agentry.db'), options.now ? { now: options.now } : {});
    await store.migrate();
    return {
      store,
      cleanup: async () => {
        await store.close();
        remove();
      },
    };
  },
};

/** A fresh database cloned from the migrated template per `open()`, dropped by `cleanup`. */
export const postgresFactory: StoreFactory = {
  name: 'postgres',
  async open(options = {}) {
    const db = await createTestDatabase();
    const store = openPostgresStore(db.url, { poolSize: 5, ...(options.now ? { now: options.now } : {}) });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await db.drop();
      },
    };
  },
};

/**
 * PostgreSQL joins the suites when the test server answers. When it does not: with
 * `CI=true` every suite fails (a CI run must test both stores); otherwise the PostgreSQL
 * variants are skipped with a warning. `AGENTRY_TEST_POSTGRES=0` skips them on purpose.
 */
async function postgresAvailable(): Promise<boolean> {
  if (process.env.AGENTRY_TEST_POSTGRES === '0') return false;
  const probe = await probePostgres();
  if (probe === true) return true;
  const where = PG_ADMIN_URL.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
  if (process.env.CI === 'true') {
    throw new Error(`PostgreSQL at ${where} is unreachable (${probe}); CI must run the store suites on PostgreSQL too`);
  }
  console.warn(`[agentry tests] PostgreSQL at ${where} is unreachable (${probe}): skipping the postgres variants`);
  return false;
}

export const hasPostgres = await postgresAvailable();

export const storeFactories: StoreFactory[] = hasPostgres ? [sqliteFactory, postgresFactory] : [sqliteFactory];

/** A run record for store tests: queued in the default tenant, workflow `wf`, created at 1,000 and started by no one; `fields` override. */
export function newRunRecord(id: string, fields: Partial<NewRun> = {}): NewRun {
  return {
    id,
    tenantId: 'default',
    workflow: 'wf',
    specHash: 'h',
    spec: { name: 'wf' },
    status: 'queued',
    input: {},
    output: null,
    error: null,
    priority: 0,
    createdAt: 1_000,
    startedAt: null,
    finishedAt: null,
    deadlineAt: null,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: null,
    createdBy: null,
    ...fields,
  };
}

/** Where a CLI suite keeps its project's store: the project's SQLite file, or a fresh PostgreSQL database (when one is reachable) named by `AGENTRY_DATABASE_URL`. */
export interface CliStoreTarget {
  name: string;
  env: () => Promise<{ env: Record<string, string>; done: () => Promise<void> }>;
}

export const cliStoreTargets: CliStoreTarget[] = [
  { name: 'sqlite', env: () => Promise.resolve({ env: {}, done: () => Promise.resolve() }) },
  ...(hasPostgres
    ? [
        {
          name: 'postgres',
          env: async () => {
            const db = await createTestDatabase();
            return { env: { AGENTRY_DATABASE_URL: db.url }, done: db.drop };
          },
        },
      ]
    : []),
];

/** Retention with no window set: nothing is pruned. */
export const NO_RETENTION: RetentionSettings = {
  succeededMs: undefined,
  failedMs: undefined,
  cancelledMs: undefined,
  eventsMs: undefined,
  memoryMs: undefined,
  idempotencyKeysMs: undefined,
};
