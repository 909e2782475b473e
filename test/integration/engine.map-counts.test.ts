/**
 * A `for_each` map costs O(items): settling it after each item reads the per-status counts the
 * store keeps (`step_item_counts`, maintained by triggers), not every item. These tests check
 * that the counts stay exact whichever path changes an item, on both stores, and (on
 * PostgreSQL, whose statistics count the rows each table gave) that the rows read per item do
 * not grow with the map's size.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { NewRun, RunTx, Store } from '../../src/store/store.js';
import type { StepStatus } from '../../src/types.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, newRunRecord, storeFactories } from '../helpers/store.js';
import { openPostgresStore } from '../../src/store/postgres.js';

function newRun(id: string): NewRun {
  return newRunRecord(id, { status: 'running', startedAt: 1_000 });
}

/** The items of `parent` counted by status from their rows. */
async function recount(store: Store, runId: string, parent: string): Promise<Partial<Record<StepStatus, number>>> {
  const counts: Partial<Record<StepStatus, number>> = {};
  for (const item of await store.listItems(runId, parent)) counts[item.status] = (counts[item.status] ?? 0) + 1;
  return counts;
}

async function counted(store: Store, runId: string, parent: string): Promise<Partial<Record<StepStatus, number>>> {
  return (await store.withRun(runId, (tx) => tx.itemCounts(parent)))!;
}

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES: StepStatus[] = ['pending', 'queued', 'running', 'waiting', 'succeeded', 'failed', 'expired', 'cancelled'];

for (const factory of storeFactories) {
  describe(`map item counts (${factory.name})`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    let t: TestEngine | undefined;
    afterEach(async () => {
      await cleanup?.();
      await t?.cleanup();
      cleanup = undefined;
      t = undefined;
    });

    it('equal a recount of the item rows after random changes, guarded updates, cancels and a deleted run', async () => {
      const opened = await factory.open();
      const store = opened.store;
      cleanup = opened.cleanup;
      const steps = ['a', 'b'].map((stepId) => ({ runId: 'run_m', stepId, kind: 'transform', status: 'running' as const }));
      await store.createRun(newRun('run_m'), steps, async (tx) => {
        await tx.insertItems(
          'a',
          'transform',
          Array.from({ length: 300 }, (_, i) => i),
        );
        await tx.insertItems(
          'b',
          'transform',
          Array.from({ length: 50 }, (_, i) => ({ i })),
        );
      });
      expect(await counted(store, 'run_m', 'a')).toEqual({ pending: 300 });
      expect(await counted(store, 'run_m', 'b')).toEqual({ pending: 50 });

      const next = random(19);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
      for (let round = 0; round < 6; round++) {
        await store.withRun('run_m', async (tx: RunTx) => {
          for (let k = 0; k < 60; k++) {
            const parent = pick(['a', 'a', 'a', 'b']);
            const index = Math.floor(next() * (parent === 'a' ? 300 : 50));
            const status = pick(STATUSES);
            // Some changes are guarded and may not apply (a claim of an item already taken).
            const guard = next() < 0.3 ? { status: [pick(STATUSES)] } : {};
            await tx.updateStep(`${parent}[${index}]`, { status, ...(next() < 0.2 ? { attempt: 2 } : {}) }, guard);
            // An update that leaves the status alone counts nothing.
            if (next() < 0.1) await tx.updateStep(`${parent}[${index}]`, { availableAt: 5_000 });
          }
          if (round === 3) await tx.cancelItems('b', 9_000);
        });
        for (const parent of ['a', 'b']) expect(await counted(store, 'run_m', parent)).toEqual(await recount(store, 'run_m', parent));
      }
      await store.withRun('run_m', (tx) => tx.cancelItems(undefined, 10_000));
      for (const parent of ['a', 'b']) {
        const after = await counted(store, 'run_m', parent);
        expect(after).toEqual(await recount(store, 'run_m', parent));
        expect(Object.keys(after).every((s) => ['succeeded', 'failed', 'expired', 'cancelled'].includes(s))).toBe(true);
      }
      // The counts go with their run.
      await store.createRun(newRun('run_keep'), [{ runId: 'run_keep', stepId: 'a', kind: 'transform', status: 'running' }], (tx) =>
        tx.insertItems('a', 'transform', [1, 2, 3]),
      );
      await store.withRun('run_m', (tx) => tx.updateRun({ status: 'cancelled', finishedAt: 10_000 }));
      expect(await store.pruneRuns({ before: { cancelled: 20_000 }, limit: 10 })).toEqual(['run_m']);
      expect(await counted(store, 'run_keep', 'a')).toEqual({ pending: 3 });
    });

    it('match the items of a finished map with failures, and of a cancelled one', async () => {
      const wf = (name: string, body: Record<string, unknown>) => ({
        name,
        steps: {
          list: { transform: '{{ input.items }}' },
          each: { for_each: { from: 'steps.list.output', concurrency: 7, max_failures: 100 }, ...body },
        },
      });
      t = await startTestEngine(
        factory,
        [wf('mapped', { transform: '{{ item % 9 == 0 ? item.missing : item }}' }), wf('held', { human: { title: 'Check {{ item }}', role: 'reviewer' } })],
        { settings: { concurrency: 10 } },
      );
      const run = await t.engine.startRun('mapped', { items: Array.from({ length: 200 }, (_, i) => i) });
      expect((await t.engine.waitForRun(run.id, { timeoutMs: 60_000 })).status).toBe('succeeded');
      expect(await counted(t.store, run.id, 'each')).toEqual({ succeeded: 177, failed: 23 });
      expect(await counted(t.store, run.id, 'each')).toEqual(await recount(t.store, run.id, 'each'));

      // Seven items wait for a person, the others are pending, when the run is cancelled.
      const held = await t.engine.startRun('held', { items: Array.from({ length: 100 }, (_, i) => i) });
      const store = t.store;
      await expect.poll(() => counted(store, held.id, 'each'), { timeout: 30_000 }).toEqual({ waiting: 7, pending: 93 });
      await t.engine.cancelRun(held.id, 'test');
      expect(await counted(t.store, held.id, 'each')).toEqual({ cancelled: 100 });
      expect(await recount(t.store, held.id, 'each')).toEqual({ cancelled: 100 });
    });
  });
}

/**
 * Rows of `steps` read in the database, from PostgreSQL's statistics (`seq_tup_read` +
 * `idx_tup_fetch`). A backend reports its counts when it exits: the store is closed first.
 */
async function stepRowsRead(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let last = -1;
    for (;;) {
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: string }>(
        `SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables WHERE relname = 'steps'`,
      );
      const n = Number(rows[0]?.n ?? 0);
      // The exiting backends' counts arrive shortly after they close: read until it settles.
      if (n === last) return n;
      last = n;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    await client.end();
  }
}

describe.runIf(hasPostgres)('map item reads (postgres)', () => {
  /** Rows of `steps` read per item by a map of `items` items run to its end. */
  async function rowsPerItem(items: number): Promise<number> {
    const db = await createTestDatabase();
    try {
      const factory = {
        name: 'postgres',
        open: () => {
          const store = openPostgresStore(db.url, { poolSize: 3 });
          return Promise.resolve({ store, cleanup: () => store.close() });
        },
      };
      const t = await startTestEngine(
        factory,
        [
          {
            name: 'm',
            steps: {
              list: { transform: '{{ input.items }}' },
              each: { for_each: { from: 'steps.list.output', concurrency: 10 }, transform: '{{ item }}' },
            },
          },
        ],
        { settings: { concurrency: 10 } },
      );
      const before = await stepRowsRead(db.url);
      try {
        const run = await t.engine.startRun('m', { items: Array.from({ length: items }, (_, i) => i) });
        expect((await t.engine.waitForRun(run.id, { timeoutMs: 120_000 })).status).toBe('succeeded');
      } finally {
        await t.cleanup();
      }
      return ((await stepRowsRead(db.url)) - before) / items;
    } finally {
      await db.drop();
    }
  }

  it('does not grow with the size of the map (no scan of every item per item)', async () => {
    const small = await rowsPerItem(100);
    const large = await rowsPerItem(400);
    // Reading every item after each item (O(n²)) makes this ratio about 4; O(n) keeps it near 1.
    const seen = `steps rows read per item: ${small.toFixed(1)} in a map of 100 items, ${large.toFixed(1)} in one of 400`;
    if (process.env.AGENTRY_TEST_VERBOSE) console.log(seen);
    expect(large / small, seen).toBeLessThan(1.6);
    expect(large, seen).toBeLessThan(40);
  }, 300_000);
});

describe.runIf(hasPostgres)('map item counts written per statement (postgres)', () => {
  /** Rows of `step_item_counts` written by `client` and not yet reported to the statistics (a running total: compare two readings). */
  async function countRowsWritten(client: pg.Client): Promise<number> {
    const { rows } = await client.query<{ n: string }>(
      `SELECT pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid) + pg_stat_get_xact_tuples_deleted(c.oid) AS n
         FROM pg_class c WHERE c.relname = 'step_item_counts'`,
    );
    return Number(rows[0]!.n);
  }

  it('cancelling or deleting every item of a large map writes each count row once, not once per item', async () => {
    const db = await createTestDatabase();
    const store = openPostgresStore(db.url, { poolSize: 2 });
    const client = new pg.Client({ connectionString: db.url });
    try {
      await store.createRun(newRun('run_big'), [{ runId: 'run_big', stepId: 'each', kind: 'transform', status: 'running' }], (tx) =>
        tx.insertItems(
          'each',
          'transform',
          Array.from({ length: 2_000 }, (_, i) => i),
        ),
      );
      await client.connect();
      // A row trigger moved the `pending` and `cancelled` rows once per item: 4,000 writes here.
      await client.query('BEGIN');
      let before = await countRowsWritten(client);
      await client.query(`UPDATE steps SET status = 'cancelled' WHERE run_id = 'run_big' AND parent_step = 'each' AND status = 'pending'`);
      expect((await countRowsWritten(client)) - before).toBeLessThanOrEqual(2);
      await client.query('COMMIT');
      expect(await counted(store, 'run_big', 'each')).toEqual({ cancelled: 2_000 });

      await client.query('BEGIN');
      before = await countRowsWritten(client);
      await client.query(`DELETE FROM steps WHERE run_id = 'run_big' AND parent_step = 'each' AND item_index < 500`);
      expect((await countRowsWritten(client)) - before).toBeLessThanOrEqual(1);
      await client.query('COMMIT');
      expect(await counted(store, 'run_big', 'each')).toEqual({ cancelled: 1_500 });
    } finally {
      await client.end();
      await store.close();
      await db.drop();
    }
  }, 120_000);
});
