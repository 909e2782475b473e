/**
 * A backup restores exactly, within a dialect and across (SQLite → PostgreSQL and back): every
 * row of every table comes back as it was — ids, timestamps, JSON text, unicode, NULLs,
 * floating-point costs, the audit chain (which still verifies) — but the worker rows, which a
 * restore leaves out; the restore itself is one more audit entry.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import type { Engine } from '../../src/engine/engine.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { agentryTables } from '../../src/store/backup-tables.js';
import { queryAt, readTables, type TableRows } from '../helpers/backup.js';
import { runCliInProcess } from '../helpers/cli.js';
import { engineOn, openTask } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, storeFactories, tempDir } from '../helpers/store.js';

const WORKFLOWS = [
  { name: 'greet', steps: { a: { transform: { greeting: 'Grüße, {{ input.name }} 👋', none: null, ratio: 0.1 } } }, output: '{{ steps.a.output }}' },
  { name: 'nap', steps: { first: { transform: 1 }, nap: { needs: ['first'], sleep: '1h' } } },
  { name: 'ask', steps: { approve: { human: { title: 'Approve «{{ input.item }}»', role: 'reviewer' } } } },
];

/** The bytes of the artifact `fill` writes. */
const ARTIFACT = Buffer.from([0x47, 0xc3, 0xbc, 0x00, 0xff]);

/** Fills the store with one of everything a backup must keep. */
async function fill(store: Store): Promise<void> {
  const engine: Engine = await engineOn(store, WORKFLOWS);
  try {
    const greet = await engine.startRun('greet', { name: 'Zoë 日本 \u0000-free "quoted" \\ back' }, { createdBy: 'ops' });
    await engine.waitForRun(greet.id, { timeoutMs: 10_000 });
    const ask = await engine.startRun('ask', { item: 'Ω' });
    await openTask(store, ask.id);
    const nap = await engine.startRun('nap', {});
    for (let i = 0; i < 200 && (await store.getRun(nap.id))?.status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 25));
    await store.recordCall({
      id: 'call_1',
      tenantId: 'default',
      runId: greet.id,
      stepId: 'a',
      workflow: 'greet',
      group: 'smart',
      provider: 'mock',
      model: 'm-1',
      inputTokens: 12,
      outputTokens: 34,
      costUsd: 0.000123456789,
      latencyMs: 7,
      outcome: 'ok',
      at: 1_700_000_000_123,
    });
    // An artifact: its row and its bytes (on SQLite from its file) are in the backup.
    await store.artifacts.put({
      runId: greet.id,
      tenantId: 'default',
      stepId: 'a',
      name: 'out/greeting.md',
      contentType: 'text/markdown',
      content: ARTIFACT,
      maxRunBytes: 1_000,
    });
    await store.appendJournal(greet.id, 'a', { key: 'turn:1', data: { text: '→ ✓', nested: { list: [1, 2.5, null] } } });
    await store.saveSchedule({
      workflow: 'greet',
      tenantId: 'default',
      cron: '0 * * * *',
      timezone: 'Europe/Zurich',
      input: { name: 'cron' },
      overlap: 'skip',
      catchUp: 'none',
      paused: false,
      nextAt: 1_800_000_000_000,
      lastTickAt: null,
      lastRunId: null,
      updatedAt: 1_700_000_000_000,
    });
    await new AuditService(store).record(
      { name: 'ops-ü', roles: ['admin'], runAccess: { read: 'all', write: 'all' } },
      'run.cancel',
      `run:${nap.id}`,
      'denied',
      {
        error: 'not_found',
        note: 'ünïcödé ✓',
      },
    );
  } finally {
    await engine.stop();
  }
}

/** What must be equal between a store and its restore: everything but the tables a restore rebuilds. */
function comparable(tables: TableRows): TableRows {
  const { workers: _workers, schema_migrations: _migrations, audit_head: _head, tenant_run_counts, tenant_run_starts, ...rest } = tables;
  // The run quotas' counters are recounted by triggers as the runs are loaded, into other shards
  // than the source's (PostgreSQL's are per connection): their sums must match.
  return {
    ...rest,
    tenant_run_counts: summed(tenant_run_counts ?? [], ['tenant_id'], 'active'),
    tenant_run_starts: summed(tenant_run_starts ?? [], ['tenant_id', 'minute'], 'n'),
  };
}

/** The rows' `value` column summed over the shards of each `keys`, without the sums that are 0. */
function summed(rows: Array<Record<string, unknown>>, keys: string[], value: string): Array<Record<string, unknown>> {
  const sums = new Map<string, number>();
  for (const row of rows) {
    const key = JSON.stringify(keys.map((k) => String(row[k])));
    sums.set(key, (sums.get(key) ?? 0) + Number(row[value]));
  }
  return [...sums.entries()]
    .filter(([, n]) => n !== 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, n]) => ({ key, n }));
}

for (const factory of storeFactories) {
  describe(`a backup of ${factory.name} restores row for row`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let source: TableRows;
    let dir: { dir: string; remove: () => void };
    let file: string;

    beforeAll(async () => {
      ({ store, cleanup } = await factory.open());
      await fill(store);
      // A worker row (this process) that a restore must leave out.
      await store.upsertWorker({ id: 'w_gone', host: 'elsewhere', pid: 1, roles: ['worker'], concurrency: 1, startedAt: 1, heartbeatAt: 2 });
      source = await readTables(store.location);
      dir = tempDir('agentry-backup-rt-');
      file = join(dir.dir, 'store.backup');
      const backup = await runCliInProcess(['backup', '--out', file, '--quiet'], { env: { AGENTRY_DATABASE_URL: store.location } });
      expect(backup.code, backup.stderr).toBe(0);
    }, 60_000);

    afterAll(async () => {
      await cleanup();
      dir.remove();
    });

    it('holds the rows it found (the worker row too), and verifies', async () => {
      const verify = await runCliInProcess(['backup', 'verify', file, '--json', '--quiet']);
      expect(verify.code, verify.stderr).toBe(0);
      const summary = JSON.parse(verify.stdout) as { ok: boolean; tables: Record<string, number>; source: { dialect: string } };
      expect(summary.ok).toBe(true);
      expect(summary.source.dialect).toBe(factory.name);
      expect(summary.tables).toEqual(Object.fromEntries(Object.entries(source).map(([table, rows]) => [table, rows.length])));
      expect(summary.tables.workers).toBe(1);
    });

    const targets = hasPostgres ? ['sqlite', 'postgres'] : ['sqlite'];
    for (const targetKind of targets) {
      it(`restores into ${targetKind}: every row as it was, no worker rows, the audit chain verifies with the restore appended`, async () => {
        let url: string;
        let drop: (() => Promise<void>) | undefined;
        if (targetKind === 'sqlite') url = `sqlite:${join(dir.dir, `restored-${Math.random().toString(36).slice(2)}.db`)}`;
        else ({ url, drop } = await createTestDatabase('agentry_t_', { empty: true }));
        try {
          const restore = await runCliInProcess(['restore', file, '--to', url, '--json', '--quiet'], { env: { USER: 'restorer' } });
          expect(restore.code, restore.stderr).toBe(0);
          const summary = JSON.parse(restore.stdout) as { skipped: Record<string, number>; dropped_tables: string[]; schema: { applied: number[] } };
          expect(summary.skipped).toEqual({
            schema_migrations: source.schema_migrations!.length,
            workers: 1,
            tenant_run_counts: source.tenant_run_counts!.length,
            tenant_run_starts: source.tenant_run_starts!.length,
          });
          expect(summary.dropped_tables).toEqual([]);
          expect(summary.schema.applied).toEqual([]);

          const restored = await readTables(url);
          expect(restored.workers).toEqual([]);
          const { audit_log: restoredAudit, ...restoredRest } = comparable(restored);
          const { audit_log: sourceAudit, ...sourceRest } = comparable(source);
          // An SQLite store keeps an artifact's bytes in a file: the backup carries them in the row.
          sourceRest.run_artifacts = sourceRest.run_artifacts!.map((row) => ({ ...row, content: ARTIFACT }));
          expect(restoredRest).toEqual(sourceRest);
          // The source's entries, then the restore's own.
          const lastSeq = Math.max(...sourceAudit!.map((e) => Number(e.seq)));
          expect(restoredAudit!.filter((e) => Number(e.seq) <= lastSeq)).toEqual(sourceAudit);
          expect(restoredAudit!.filter((e) => Number(e.seq) > lastSeq)).toEqual([
            expect.objectContaining({ seq: lastSeq + 1, action: 'store.restore', principal: 'restorer', target: 'backup:store.backup', outcome: 'success' }),
          ]);

          const target = openStore(url);
          try {
            const verification = await new AuditService(target).verify();
            expect(verification).toMatchObject({ ok: true, checked: sourceAudit!.length + 1, broken: null });
            // The restored store serves the artifact, wherever its bytes were kept at the source.
            const artifact = await target.artifacts.read(String(source.run_artifacts![0]!.run_id), 'out/greeting.md');
            expect(artifact?.content).toEqual(ARTIFACT);
          } finally {
            await target.close();
          }
        } finally {
          await drop?.();
        }
      }, 60_000);
    }
  });
}

describe('the tables a backup covers', () => {
  for (const factory of storeFactories) {
    it(`are every table of a freshly migrated ${factory.name} store, and none takes values from a sequence a restore would have to advance`, async () => {
      const { store, cleanup } = await factory.open();
      try {
        const all =
          factory.name === 'sqlite'
            ? await queryAt(store.location, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
            : await queryAt(store.location, `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
        expect(Object.keys(await readTables(store.location)).sort()).toEqual(all.map((t) => String(t.name)).sort());
        expect(agentryTables(store.kind).filter((name) => !all.some((t) => t.name === name))).toEqual(
          // Made and renamed within one migration: never there once it is applied.
          store.kind === 'sqlite' ? ['idempotency_keys_v8'] : [],
        );
        if (factory.name === 'postgres') {
          const sequenced = await queryAt(
            store.location,
            `SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND (column_default LIKE 'nextval%' OR is_identity = 'YES')`,
          );
          expect(sequenced, 'a serial or identity column: restore must then advance its sequence past the restored ids').toEqual([]);
        }
      } finally {
        await cleanup();
      }
    });
  }
});
