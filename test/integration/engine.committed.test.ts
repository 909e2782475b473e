/**
 * The engine reports each committed transaction's events once (`Engine.onCommitted`): the
 * published events of every run are exactly its rows in `events`, in order, also when
 * PostgreSQL rolled a transaction back on a transient error and the store ran it again.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommittedEvent } from '../../src/engine/engine.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { eventsOf, eventually, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, sqliteFactory, type StoreFactory } from '../helpers/store.js';

const CHILD = { name: 'child', steps: { x: { transform: '{{ input.n + 1 }}' } } };
const PARENT = {
  name: 'parent',
  steps: {
    a: { transform: { n: '{{ input.n }}' } },
    sub: { needs: ['a'], workflow: 'child', input: { n: '{{ input.n }}' } },
    each: { needs: ['sub'], for_each: { from: '[1, 2, 3]' }, transform: '{{ item * 2 }}' },
    go: { needs: ['each'], wait: { signal: 'go' } },
    done: { needs: ['go'], transform: { sub: '{{ steps.sub.output }}', go: '{{ steps.go.output }}' } },
  },
};

/**
 * Event types whose first insert fails once with SQLSTATE 40001 (serialization_failure, a
 * transient error the store retries): the run's creation, the transaction that starts a
 * child run (events of two runs), a step's completion, an item's completion, a signal, and
 * the child's end (which wakes its parent).
 */
const INJECTED = ['run.created', 'child.started', 'step.succeeded', 'map.started', 'signal.received', 'run.succeeded'];

const sequenceOf = (type: string): string => `chaos_${type.replace('.', '_')}`;

/** Installs the once-per-type failure in the test's own database; sequences survive the rollback, so each fires once. */
async function injectTransientFailures(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const type of INJECTED) await client.query(`CREATE SEQUENCE ${sequenceOf(type)}`);
  await client.query(`
    CREATE FUNCTION chaos_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval(('chaos_' || replace(NEW.type, '.', '_'))::regclass) = 1 THEN
        RAISE EXCEPTION 'injected transient failure on %', NEW.type USING ERRCODE = '40001';
      END IF;
      RETURN NULL;
    END $$`);
  const types = INJECTED.map((t) => `'${t}'`).join(', ');
  await client.query(`CREATE TRIGGER chaos_events AFTER INSERT ON events FOR EACH ROW WHEN (NEW.type IN (${types})) EXECUTE FUNCTION chaos_fail_once()`);
  return client;
}

/** How often each injected type's insert was tried: 2 or more means a rolled-back attempt ran again. */
async function triesPerType(client: pg.Client): Promise<Record<string, number>> {
  const tries: Record<string, number> = {};
  for (const type of INJECTED) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${sequenceOf(type)}`);
    tries[type] = rows[0]?.is_called ? Number(rows[0].last_value) : 0;
  }
  return tries;
}

const keyOf = (c: CommittedEvent) => ({ runId: c.event.runId, seq: c.event.seq, type: c.event.type, stepId: c.event.stepId });

/** Runs the parent workflow to its end and checks the published events against the `events` table. */
async function runAndCompare(t: TestEngine): Promise<void> {
  const published: CommittedEvent[] = [];
  t.engine.onCommitted((events) => published.push(...events));
  const run = await t.engine.startRun('parent', { n: 41 });
  await eventually(async () => ((await t.store.getRun(run.id))?.status === 'waiting' ? true : undefined), 20_000, 'the run to wait for its signal');
  await t.engine.sendSignal(run.id, 'go', { ok: true });
  const finished = await t.engine.waitForRun(run.id, { timeoutMs: 20_000 });
  expect(finished.status).toBe('succeeded');
  expect(finished.output).toMatchObject({ done: { sub: { x: 42 }, go: { ok: true } } });
  const ended = (): true | undefined => (published.some((c) => c.event.runId === run.id && c.event.type === 'run.succeeded') ? true : undefined);
  await eventually(() => Promise.resolve(ended()));

  const child = (await t.store.listRuns({ limit: 10 })).items.find((r) => r.parentRunId === run.id);
  expect(child).toBeDefined();
  let stored = 0;
  for (const runId of [run.id, child!.id]) {
    const rows = await eventsOf(t.store, runId);
    const mine = published.filter((c) => c.event.runId === runId);
    expect(mine.map(keyOf)).toEqual(rows.map((e) => ({ runId: e.runId, seq: e.seq, type: e.type, stepId: e.stepId })));
    stored += rows.length;
  }
  expect(published).toHaveLength(stored);
  for (const c of published) expect(c.run.id).toBe(c.event.runId);
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

async function engineOn(factory: StoreFactory): Promise<TestEngine> {
  const t = await startTestEngine(factory, [PARENT, CHILD]);
  cleanups.push(t.cleanup);
  return t;
}

describe('committed events (sqlite)', () => {
  it('publishes every committed event once, in order, with its run', async () => {
    await runAndCompare(await engineOn(sqliteFactory));
  });
});

describe.runIf(hasPostgres)('committed events (postgres)', () => {
  it('publishes each committed event exactly once when transactions were rolled back and retried', async () => {
    let chaos: pg.Client | undefined;
    const factory: StoreFactory = {
      name: 'postgres with transient failures',
      async open() {
        const db = await createTestDatabase();
        chaos = await injectTransientFailures(db.url);
        const store: Store = openPostgresStore(db.url, { poolSize: 5 });
        return {
          store,
          cleanup: async () => {
            await chaos?.end();
            await store.close();
            await db.drop();
          },
        };
      },
    };
    await runAndCompare(await engineOn(factory));
    const tries = await triesPerType(chaos!);
    for (const type of INJECTED) expect(tries[type], `tries of the first ${type} insert`).toBeGreaterThanOrEqual(2);
  });
});
