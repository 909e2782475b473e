/**
 * The audit log's hash chain on both stores: appends form one chain (concurrent ones too),
 * migrations are entries of their own, and an entry edited, deleted or reordered directly in
 * the database — or the newest ones deleted — is named by the check as the first broken one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ChainCheck, type ChainBreak } from '../../src/store/audit-chain.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { AUDIT_LOG_VERSION, MIGRATIONS } from '../../src/store/migrations.js';

/** A fresh store's first entries: one `store.migrate` per migration from the audit log's own on. */
const MIGRATED = MIGRATIONS.filter((m) => m.version >= AUDIT_LOG_VERSION).length;

/** Runs one SQL statement on the store's database behind its back. */
type Tamper = (statement: string) => Promise<void>;

interface Opened {
  store: Store;
  tamper: Tamper;
  cleanup: () => Promise<void>;
}

const dialects: Array<{ name: string; open: () => Promise<Opened> }> = [
  {
    name: 'sqlite',
    async open() {
      const { dir, remove } = tempDir();
      const file = join(dir, 'agentry.db');
      const store = openSqliteStore(file);
      await store.migrate();
      return {
        store,
        tamper: (statement) => {
          const db = new Database(file);
          try {
            db.exec(statement);
          } finally {
            db.close();
          }
          return Promise.resolve();
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
            const db = await createTestDatabase();
            const store = openPostgresStore(db.url, { poolSize: 5 });
            return {
              store,
              tamper: async (statement) => {
                const client = new pg.Client({ connectionString: db.url });
                await client.connect();
                try {
                  await client.query(statement);
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

function entry(n: number, extra: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    tenantId: 'acme',
    principal: 'ops',
    action: 'run.cancel',
    target: `run:r${n}`,
    requestId: `req-${n}`,
    outcome: 'success',
    clientIp: '10.0.0.1',
    details: { n },
    ...extra,
  };
}

async function check(store: Store): Promise<ChainBreak | undefined> {
  const chain = new ChainCheck(await store.auditHead());
  for (const e of await store.auditChain(0, 1000)) if (!chain.add(e)) break;
  return chain.finish();
}

for (const dialect of dialects) {
  describe(`audit log (${dialect.name})`, () => {
    let opened: Opened | undefined;
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    async function withEntries(count: number): Promise<Opened> {
      opened = await dialect.open();
      for (let i = 1; i <= count; i++) await opened.store.appendAudit(entry(i));
      return opened;
    }

    it('records the audit log migration as the first entry of the chain', async () => {
      const { store } = await withEntries(0);
      const [first] = await store.auditChain(0, 10);
      expect(first).toMatchObject({ seq: 1, principal: 'system', action: 'store.migrate', target: 'schema:7', outcome: 'success' });
      expect(await check(store)).toBeUndefined();
    });

    it('chains every entry to the one before it, concurrent appends included', async () => {
      const { store } = await withEntries(3);
      await Promise.all(Array.from({ length: 12 }, (_, i) => store.appendAudit(entry(100 + i))));
      const all = await store.auditChain(0, 1000);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: MIGRATED + 15 }, (_, i) => i + 1));
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(await check(store)).toBeUndefined();
    });

    it('names an edited entry', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`UPDATE audit_log SET principal = 'someone-else' WHERE seq = 3`);
      expect(await check(store)).toMatchObject({ seq: 3, reason: expect.stringContaining('edited') as unknown });
    });

    it('names the entry after a deleted one', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`DELETE FROM audit_log WHERE seq = 3`);
      expect(await check(store)).toMatchObject({ seq: 4, reason: expect.stringContaining('missing') as unknown });
    });

    it('names a deleted entry even when the seqs after it are renumbered', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`DELETE FROM audit_log WHERE seq = 3`);
      await tamper(`UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`);
      expect(await check(store)).toMatchObject({ seq: 3, reason: expect.stringContaining('previous hash') as unknown });
    });

    it('names reordered entries', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`UPDATE audit_log SET seq = -1 WHERE seq = 3`);
      await tamper(`UPDATE audit_log SET seq = 3 WHERE seq = 4`);
      await tamper(`UPDATE audit_log SET seq = 4 WHERE seq = -1`);
      expect(await check(store)).toMatchObject({ seq: 3 });
    });

    it('notices that the newest entries were deleted', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`DELETE FROM audit_log WHERE seq >= 5`);
      expect(await check(store)).toMatchObject({ seq: MIGRATED + 5, reason: expect.stringContaining('newest') as unknown });
    });

    it('keeps the chain verifiable after pruning old entries, with an anchor entry', async () => {
      const { store } = await withEntries(0);
      for (let i = 1; i <= 4; i++) await store.appendAudit(entry(i, { at: 1000 + i }));
      const anchor = await store.pruneAudit(1003, entry(0, { principal: 'system', action: 'audit.prune', target: null, details: null }));
      expect(anchor?.details).toMatchObject({ pruned_through_seq: MIGRATED + 2 });
      const kept = await store.auditChain(0, 100);
      expect(kept.map((e) => e.seq)).toEqual([MIGRATED + 3, MIGRATED + 4, MIGRATED + 5]);
      expect(await check(store)).toBeUndefined();
      expect(await store.pruneAudit(0, entry(0))).toBeUndefined();
    });

    it('lists entries newest first by filter, a page at a time', async () => {
      const { store } = await withEntries(5);
      await store.appendAudit(entry(6, { tenantId: 'other' }));
      const first = await store.listAudit({ tenantId: 'acme', action: 'run.cancel', limit: 2 });
      expect(first.items.map((e) => e.target)).toEqual(['run:r5', 'run:r4']);
      const second = await store.listAudit({ tenantId: 'acme', action: 'run.cancel', limit: 10, cursor: first.nextCursor! });
      expect(second.items.map((e) => e.target)).toEqual(['run:r3', 'run:r2', 'run:r1']);
      expect(second.nextCursor).toBeNull();
    });
  });
}
