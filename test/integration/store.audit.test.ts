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
import { AUDIT_LOG_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { MIGRATION_UNDO, undoSql } from '../helpers/migration-undo.js';

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
    /** Entries the migrations of a new database wrote (one per migration) before a test's own. */
    let base = 0;
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    async function withEntries(count: number): Promise<Opened> {
      opened = await dialect.open();
      base = (await opened.store.auditHead()).seq;
      for (let i = 1; i <= count; i++) await opened.store.appendAudit(entry(i));
      return opened;
    }

    it('records every migration of a new database as an entry, with its from and to versions', async () => {
      const { store } = await withEntries(0);
      const entries = await store.auditChain(0, 100);
      expect(entries.map((e) => e.target)).toEqual(MIGRATIONS.map((m) => `schema:${m.version}`));
      let from = 0;
      for (const [i, migration] of MIGRATIONS.entries()) {
        expect(entries[i]).toMatchObject({ seq: i + 1, principal: 'system', action: 'store.migrate', outcome: 'success', tenantId: null });
        expect(entries[i]!.details).toEqual({
          name: migration.name,
          from,
          to: migration.version,
          // Those applied before the audit log existed are recorded in the transaction that creates it.
          ...(migration.version < AUDIT_LOG_VERSION ? { recorded_late: true } : {}),
        });
        from = migration.version;
      }
      expect(await check(store)).toBeUndefined();
      // Migrating again applies nothing and records nothing.
      expect((await store.migrate()).applied).toEqual([]);
      expect((await store.auditHead()).seq).toBe(MIGRATIONS.length);
    });

    it('chains every entry to the one before it, concurrent appends included', async () => {
      const { store } = await withEntries(3);
      await Promise.all(Array.from({ length: 12 }, (_, i) => store.appendAudit(entry(100 + i))));
      const all = await store.auditChain(0, 1000);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: base + 15 }, (_, i) => i + 1));
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(await check(store)).toBeUndefined();
    });

    it('chains a batch (entries given, or taken when its transaction begins) after the entries before it, batches running together included', async () => {
      const { store } = await withEntries(2);
      let takes = 0;
      const taken = () => (takes++, [entry(200), entry(201)]);
      const [given, fromFunction] = await Promise.all([store.appendAudits([entry(202), entry(203), entry(204)]), store.appendAudits(taken)]);
      expect(takes).toBe(1);
      expect([given.length, fromFunction.length]).toEqual([3, 2]);
      expect(await store.appendAudits([])).toEqual([]);
      const all = await store.auditChain(0, 1000);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: base + 7 }, (_, i) => i + 1));
      expect(all.slice(-5).map((e) => e.seq)).toEqual([...given, ...fromFunction].map((e) => e.seq).sort((a, b) => a - b));
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(await check(store)).toBeUndefined();
    });

    it('names an edited entry', async () => {
      const { store, tamper } = await withEntries(5);
      await tamper(`UPDATE audit_log SET principal = 'someone-else' WHERE seq = ${base + 3}`);
      expect(await check(store)).toMatchObject({ seq: base + 3, reason: expect.stringContaining('edited') as unknown });
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
      await tamper(`DELETE FROM audit_log WHERE seq >= ${base + 4}`);
      expect(await check(store)).toMatchObject({ seq: base + 5, reason: expect.stringContaining('newest') as unknown });
    });

    it('keeps the chain verifiable after pruning old entries, with an anchor entry', async () => {
      const { store } = await withEntries(0);
      for (let i = 1; i <= 4; i++) await store.appendAudit(entry(i, { at: 1000 + i }));
      const anchor = await store.pruneAudit(1003, entry(0, { principal: 'system', action: 'audit.prune', target: null, details: null }));
      // The migrations' entries are newer than 1003 but come before it in the chain: a prefix is pruned.
      expect(anchor?.details).toMatchObject({ pruned_through_seq: base + 2, pruned_count: base + 2 });
      const kept = await store.auditChain(0, 100);
      expect(kept.map((e) => e.seq)).toEqual([base + 3, base + 4, base + 5]);
      expect(await check(store)).toBeUndefined();
      expect(await store.pruneAudit(0, entry(0))).toBeUndefined();
    });

    it('lists and exports the entries about a run: its target, or the run id in its details', async () => {
      const { store } = await withEntries(0);
      await store.appendAudit(entry(1, { action: 'run.start', target: 'workflow:w', details: { run_id: 'r9' } }));
      await store.appendAudit(entry(2, { target: 'run:r9' }));
      await store.appendAudit(entry(3, { target: 'run:r8' }));
      await store.appendAudit(entry(4, { action: 'task.decide', target: 'task:t1', details: { run_id: 'r9', decision: 'approve' } }));
      const listed = await store.listAudit({ runId: 'r9', limit: 10 });
      expect(listed.items.map((e) => [e.action, e.target, e.runId])).toEqual([
        ['task.decide', 'task:t1', 'r9'],
        ['run.cancel', 'run:r9', 'r9'],
        ['run.start', 'workflow:w', 'r9'],
      ]);
      const firstTwo = await store.exportAudit({ runId: 'r9' }, 0, 2);
      expect(firstTwo.map((e) => e.action)).toEqual(['run.start', 'run.cancel']);
      const rest = await store.exportAudit({ runId: 'r9' }, firstTwo[1]!.seq, 2);
      expect(rest.map((e) => e.action)).toEqual(['task.decide']);
      expect(await check(store)).toBeUndefined();
    });

    it('names an entry whose run_id no longer follows from what is hashed', async () => {
      const { store, tamper } = await withEntries(3);
      await tamper(`UPDATE audit_log SET run_id = 'r-other' WHERE seq = ${base + 2}`);
      expect(await check(store)).toMatchObject({ seq: base + 2, reason: expect.stringContaining('run_id') as unknown });
    });

    it('fills in the run of the entries written before the run_id column existed', async () => {
      const { store, tamper } = await withEntries(2);
      await store.appendAudit(entry(3, { action: 'run.start', target: 'workflow:w', details: { run_id: 'r7' } }));
      // Back to the schema before the migration: no column, no index, not applied — and nothing after it.
      const version = MIGRATIONS.find((m) => m.name === 'audit entries by run')!.version;
      const later = MIGRATIONS.filter((m) => m.version > version).map((m) => m.version);
      for (const v of [...later].reverse()) {
        expect(MIGRATION_UNDO[v], `how to undo migration ${v}`).toBeDefined();
        for (const statement of MIGRATION_UNDO[v]!) await tamper(undoSql(statement, dialect.name));
      }
      await tamper(`DROP INDEX audit_log_by_run`);
      await tamper(`ALTER TABLE audit_log DROP COLUMN run_id`);
      await tamper(`DELETE FROM schema_migrations WHERE version >= ${version}`);
      const report = await store.migrate();
      expect(report.applied).toEqual([version, ...later]);
      expect((await store.listAudit({ runId: 'r7', limit: 10 })).items.map((e) => e.target)).toEqual(['workflow:w']);
      expect((await store.listAudit({ runId: 'r1', limit: 10 })).items.map((e) => e.target)).toEqual(['run:r1']);
      expect(await check(store)).toBeUndefined();
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
