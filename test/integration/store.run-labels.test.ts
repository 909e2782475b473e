/**
 * The label filter's index (migration 33, `run_labels`) on SQLite and PostgreSQL: a run's labels
 * are entered with the run (the insert's own transaction), a filtered listing is read from
 * `run_labels_by_label` newest first (the query plan says so: no scan of the tenant's runs, no
 * sort), pages and several labels (AND) keep working, a run's labels go with the run (retention),
 * the migration indexes the runs stored before it, and a restore (`agentry restore`, into either
 * store) or `agentry db recover` rebuilds them from the runs.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Db } from '../../src/store/sql/dialect.js';
import { listRuns } from '../../src/store/sql/runs.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { recoverSqliteFile } from '../../src/store/sqlite-recover.js';
import type { Store } from '../../src/store/store.js';
import type { RunListQuery } from '../../src/store/store-types.js';
import { runCliInProcess } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, newRunRecord, storeFactories, tempDir } from '../helpers/store.js';

/** Run `i`'s labels: every run has a team (a for two of three), every third is also env=prod. */
function labelsOf(i: number): Record<string, string> {
  return { team: i % 3 === 2 ? 'b' : 'a', ...(i % 3 === 0 ? { env: 'prod' } : {}) };
}

const runId = (i: number) => `run_${String(i).padStart(3, '0')}`;

/** Ids of runs 0..n-1 whose labels hold every one of `labels`, newest (highest created_at) first. */
function expected(n: number, labels: Record<string, string>): string[] {
  const ids: string[] = [];
  for (let i = n - 1; i >= 0; i--) if (Object.entries(labels).every(([k, v]) => labelsOf(i)[k] === v)) ids.push(runId(i));
  return ids;
}

async function allPages(store: Store, query: Omit<RunListQuery, 'cursor'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listRuns({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

const INSERT_RUN = `INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, created_at, updated_at, metadata)
  VALUES ($1, $2, 'wf', 'h', '{}', 'succeeded', '{}', $3, 0, $4)`;

/** `n` runs of tenant `default` (and as many of tenant `other` with the same labels) as raw rows: `[id, tenant, created_at, metadata]`. */
function rawRuns(n: number): [string, string, number, string | null][] {
  const rows: [string, string, number, string | null][] = [];
  for (let i = 0; i < n; i++) {
    rows.push([runId(i), 'default', 1_000 + i, JSON.stringify(labelsOf(i))]);
    rows.push([`other_${i}`, 'other', 1_000 + i, JSON.stringify(labelsOf(i))]);
  }
  rows.push(['run_unlabelled', 'default', 5_000, null]);
  return rows;
}

describe.each(storeFactories)('run labels on $name', { timeout: 60_000 }, (factory) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it('lists runs by label newest first across pages, ANDs several labels, keeps tenants apart, and drops the labels of a pruned run', async () => {
    const { store, cleanup } = await factory.open();
    cleanups.push(cleanup);
    const n = 20;
    for (let i = 0; i < n; i++) {
      const ended = i < 3;
      const run = newRunRecord(runId(i), {
        createdAt: 1_000 + i,
        metadata: labelsOf(i),
        ...(ended ? { status: 'succeeded' as const, finishedAt: 2_000 } : {}),
      });
      await store.createRun(run, [], () => Promise.resolve());
      await store.createRun(newRunRecord(`other_${i}`, { tenantId: 'other', createdAt: 1_000 + i, metadata: labelsOf(i) }), [], () => Promise.resolve());
    }
    await store.createRun(newRunRecord('run_unlabelled', { createdAt: 5_000 }), [], () => Promise.resolve());

    expect(await allPages(store, { tenantId: 'default', labels: [['team', 'a']], limit: 3 })).toEqual(expected(n, { team: 'a' }));
    expect(
      await allPages(store, {
        tenantId: 'default',
        labels: [
          ['team', 'a'],
          ['env', 'prod'],
        ],
        limit: 2,
      }),
    ).toEqual(expected(n, { team: 'a', env: 'prod' }));
    expect(
      await allPages(store, {
        tenantId: 'default',
        labels: [
          ['env', 'prod'],
          ['team', 'b'],
        ],
        limit: 5,
      }),
    ).toEqual([]);
    expect(await allPages(store, { tenantId: 'default', labels: [['team', 'a']], status: ['succeeded'], limit: 5 })).toEqual(expected(3, { team: 'a' }));
    // The CLI on its own store lists every tenant's runs.
    expect((await allPages(store, { labels: [['team', 'b']], limit: 4 })).length).toBe(2 * expected(n, { team: 'b' }).length);
    // Without a label, the listing is as before (the unlabelled run too).
    expect((await store.listRuns({ tenantId: 'default', limit: 1 })).items.map((r) => r.id)).toEqual(['run_unlabelled']);

    // Retention deletes runs 0..2 (ended); their labels go with them.
    expect((await store.pruneRuns({ before: { succeeded: 3_000 }, limit: 100 })).sort()).toEqual([runId(0), runId(1), runId(2)]);
    expect(await allPages(store, { tenantId: 'default', labels: [['team', 'a']], limit: 50 })).toEqual(
      expected(n, { team: 'a' }).filter((id) => ![runId(0), runId(1)].includes(id)),
    );
  });
});

/** Lines of the plan of `listRuns(query)` on a SQLite file, with what it listed. */
async function sqlitePlan(file: string, query: RunListQuery): Promise<{ ids: string[]; plan: string }> {
  const database = new Database(file);
  const statements: CompiledQuery[] = [];
  const db: Db = new Kysely({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
  try {
    const page = await listRuns(db, query);
    const statement = statements.at(-1)!;
    const plan = (database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.parameters) as { detail: string }[]).map((r) => r.detail);
    return { ids: page.items.map((r) => r.id), plan: plan.join('\n') };
  } finally {
    await db.destroy();
  }
}

describe('run labels: the index and the migration', { timeout: 60_000 }, () => {
  it('SQLite: the migration indexes the runs stored before it; a filtered listing searches run_labels_by_label, unsorted; recover and restore rebuild the labels; a deleted run takes its labels', async () => {
    const { dir, remove } = tempDir();
    const file = join(dir, 'agentry.db');
    try {
      const before = openSqliteStore(file);
      await before.migrate({ to: 31 });
      await before.close();
      const database = new Database(file);
      const insert = database.prepare(INSERT_RUN.replace(/\$\d/g, '?'));
      database.transaction(() => rawRuns(300).forEach((r) => insert.run(...r)))();
      database.close();

      const store = openSqliteStore(file);
      await store.migrate();
      await store.close();
      const raw = new Database(file);
      raw.exec('ANALYZE');
      expect((raw.prepare(`SELECT count(*) AS n FROM run_labels`).get() as { n: number }).n).toBe(2 * (300 + 100));
      raw.close();

      const { ids, plan } = await sqlitePlan(file, { tenantId: 'default', labels: [['team', 'b']], limit: 5 });
      expect(ids).toEqual(expected(300, { team: 'b' }).slice(0, 5));
      expect(plan).toMatch(/SEARCH l USING (COVERING )?INDEX run_labels_by_label \(key=\? AND value=\? AND tenant_id=\?\)/);
      expect(plan).toMatch(/SEARCH runs USING INDEX sqlite_autoindex_runs_1 \(id=\?\)/);
      expect(plan).not.toMatch(/SCAN runs|TEMP B-TREE/);
      const two = await sqlitePlan(file, {
        tenantId: 'default',
        labels: [
          ['team', 'a'],
          ['env', 'prod'],
        ],
        limit: 500,
      });
      expect(two.ids).toEqual(expected(300, { team: 'a', env: 'prod' }));
      expect(two.plan).toMatch(/run_labels_by_label/);

      // `agentry db recover` enters the labels again from the runs it saved.
      const recovered = join(dir, 'recovered.db');
      recoverSqliteFile(file, recovered);
      const check = new Database(recovered);
      expect((check.prepare(`SELECT count(*) AS n FROM run_labels`).get() as { n: number }).n).toBe(2 * (300 + 100));
      check.close();

      // A restore into a new file, and into PostgreSQL: the runs' trigger enters their labels as they load.
      const backup = join(dir, 'labels.backup');
      expect((await runCliInProcess(['backup', '--out', backup, '--quiet'], { env: { AGENTRY_DATABASE_URL: `sqlite:${file}` } })).code).toBe(0);
      const targets = [`sqlite:${join(dir, 'restored.db')}`];
      const drops: Array<() => Promise<void>> = [];
      if (hasPostgres) {
        const target = await createTestDatabase('agentry_t_', { empty: true });
        targets.push(target.url);
        drops.push(target.drop);
      }
      try {
        for (const target of targets) {
          const restore = await runCliInProcess(['restore', backup, '--to', target, '--json', '--quiet'], { env: { USER: 'restorer' } });
          expect(restore.code, restore.stderr).toBe(0);
          const restored = openStore(target);
          try {
            expect(
              await allPages(restored, {
                tenantId: 'default',
                labels: [
                  ['team', 'a'],
                  ['env', 'prod'],
                ],
                limit: 40,
              }),
            ).toEqual(expected(300, { team: 'a', env: 'prod' }));
          } finally {
            await restored.close();
          }
        }
      } finally {
        for (const drop of drops) await drop();
      }

      const db = new Database(file);
      db.pragma('foreign_keys = ON');
      db.prepare(`DELETE FROM runs WHERE id = ?`).run(runId(0));
      expect((db.prepare(`SELECT count(*) AS n FROM run_labels WHERE run_id = ?`).get(runId(0)) as { n: number }).n).toBe(0);
      db.close();
    } finally {
      remove();
    }
  });

  it.runIf(hasPostgres)(
    'PostgreSQL: the migration indexes the runs stored before it; a filtered listing reads run_labels_by_label; a deleted run takes its labels',
    async () => {
      const { url, drop } = await createTestDatabase('agentry_t_', { empty: true });
      const before = openPostgresStore(url);
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      try {
        await before.migrate({ to: 31 });
        await before.close();
        for (const r of rawRuns(300)) await pool.query(INSERT_RUN, r);
        const store = openPostgresStore(url);
        await store.migrate();
        await store.close();
        expect(Number((await pool.query(`SELECT count(*) AS n FROM run_labels`)).rows[0].n)).toBe(2 * (300 + 100));
        await pool.query('ANALYZE');

        const statements: CompiledQuery[] = [];
        const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
        const plans: string[] = [];
        for (const labels of [
          [['team', 'b']],
          [
            ['team', 'a'],
            ['env', 'prod'],
          ],
        ] as [string, string][][]) {
          const page = await listRuns(db, { tenantId: 'default', labels, limit: 5 });
          expect(page.items.map((r) => r.id)).toEqual(expected(300, Object.fromEntries(labels)).slice(0, 5));
          const statement = statements.at(-1)!;
          const client = await pool.connect();
          try {
            await client.query('SET enable_seqscan = off');
            plans.push(
              (await client.query(`EXPLAIN ${statement.sql}`, [...statement.parameters])).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'),
            );
          } finally {
            client.release();
          }
        }
        for (const plan of plans) {
          expect(plan).toMatch(/Index (Only )?Scan (using|on) run_labels_by_label/);
          // Each run by its key (runs_pkey): the tenant's runs are not read.
          expect(plan).toMatch(/Index Scan using runs_pkey on runs/);
          expect(plan).not.toMatch(/Scan on runs|runs_by_created|runs_by_status/);
        }
        await pool.query(`DELETE FROM runs WHERE id = $1`, [runId(0)]);
        expect(Number((await pool.query(`SELECT count(*) AS n FROM run_labels WHERE run_id = $1`, [runId(0)])).rows[0].n)).toBe(0);
      } finally {
        await pool.end();
        await drop();
      }
    },
  );
});
