/**
 * Migration 8 on both stores: idempotency keys stored per tenant before it become keys of the
 * starter of their run (`runs.created_by`, `''` for a run without one), so a repeat by the same
 * starter still replays after the upgrade, and another starter may now use the same key.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

interface Opened {
  store: Store;
  /** Runs SQL statements on the database behind the store's back, in order. */
  exec: (statements: string[]) => Promise<void>;
  cleanup: () => Promise<void>;
}

const dialects: Array<{ name: string; open: () => Promise<Opened> }> = [
  {
    name: 'sqlite',
    async open() {
      const { dir, remove } = tempDir();
      const file = join(dir, 'agentry.db');
      const store = openSqliteStore(file);
      await store.migrate({ to: 7 });
      return {
        store,
        exec: async (statements) => {
          await Promise.resolve();
          const db = new Database(file);
          try {
            for (const statement of statements) db.exec(statement);
          } finally {
            db.close();
          }
        },
        cleanup: async () => {
          await store.close();
          remove();
        },
      };
    },
  },
  ...(hasPostgres
    ? [
        {
          name: 'postgres',
          async open(): Promise<Opened> {
            const db = await createTestDatabase('agentry_t_', { empty: true });
            const store = openPostgresStore(db.url, { poolSize: 2 });
            await store.migrate({ to: 7 });
            return {
              store,
              exec: async (statements) => {
                const client = new pg.Client({ connectionString: db.url });
                await client.connect();
                try {
                  for (const statement of statements) await client.query(statement);
                } finally {
                  await client.end();
                }
              },
              cleanup: async () => {
                await store.close();
                await db.drop();
              },
            };
          },
        },
      ]
    : []),
];

/** A run row as schema 7 stores it. */
function runRow(id: string, createdBy: string | null): string {
  return `INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, priority, created_at, updated_at, event_seq, created_by)
    VALUES ('${id}', 'acme', 'wf', 'h', '{}', 'succeeded', '{}', 0, 1000, 1000, 0, ${createdBy === null ? 'NULL' : `'${createdBy}'`})`;
}

for (const dialect of dialects) {
  describe(`migration 8: idempotency keys per principal (${dialect.name})`, () => {
    let opened: Opened | undefined;
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    it("gives each stored key its run's starter, and keeps replaying it for that starter", async () => {
      opened = await dialect.open();
      const { store, exec } = opened;
      // Schema 7: the table keyed by (tenant, key), with keys of an owned and an unowned run.
      await exec([
        runRow('run_owned', 'ci'),
        runRow('run_legacy', null),
        `INSERT INTO idempotency_keys (tenant_id, key, request_hash, run_id, created_at) VALUES ('acme', 'k-owned', 'h1', 'run_owned', 1000)`,
        `INSERT INTO idempotency_keys (tenant_id, key, request_hash, run_id, created_at) VALUES ('acme', 'k-legacy', 'h2', 'run_legacy', 1000)`,
      ]);
      expect((await store.schemaState()).current).toBe(7);

      const report = await store.migrate();
      expect(report.applied).toEqual(MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version));
      expect(await store.findIdempotencyKey('acme', 'ci', 'k-owned')).toMatchObject({ runId: 'run_owned', principal: 'ci', requestHash: 'h1' });
      expect(await store.findIdempotencyKey('acme', '', 'k-legacy')).toMatchObject({ runId: 'run_legacy', principal: '' });
      expect(await store.findIdempotencyKey('acme', 'other', 'k-owned')).toBeUndefined();
      // The new key includes the principal: another starter may now record the same key.
      await exec([
        runRow('run_other', 'other'),
        `INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, run_id, created_at) VALUES ('acme', 'other', 'k-owned', 'h3', 'run_other', 2000)`,
      ]);
      expect(await store.findIdempotencyKey('acme', 'other', 'k-owned')).toMatchObject({ runId: 'run_other' });
      await expect(
        exec([
          `INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, run_id, created_at) VALUES ('acme', 'ci', 'k-owned', 'h4', 'run_other', 2000)`,
        ]),
      ).rejects.toThrow(/unique|UNIQUE|duplicate/);
    });
  });
}
