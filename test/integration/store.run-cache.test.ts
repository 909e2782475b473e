/**
 * A store keeps what its run transactions read and wrote of a run for the run's next
 * transaction (`src/store/run-cache.ts`): the run's spec and input, its top-level steps' JSON.
 * These tests open two stores on one database — two processes — and check that a transaction
 * always sees the rows as they are: changes the other store made meanwhile (with the same
 * clock, a frozen one, or one behind), values as the database stores them, and that a
 * transaction holding several runs writes all of their attempts and events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewRun, Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, newRunRecord, tempDir } from '../helpers/store.js';

interface Pair {
  a: Store;
  b: Store;
  cleanup: () => Promise<void>;
}

type Clock = () => number;

const opens: Record<string, (clockA: Clock, clockB: Clock) => Promise<Pair>> = {
  async sqlite(clockA, clockB) {
    const { dir, remove } = tempDir();
    const file = join(dir, 'agentry.db');
    const a = openSqliteStore(file, { now: clockA });
    await a.migrate();
    const b = openSqliteStore(file, { now: clockB });
    return {
      a,
      b,
      cleanup: async () => {
        await a.close();
        await b.close();
        remove();
      },
    };
  },
  ...(hasPostgres
    ? {
        async postgres(clockA: Clock, clockB: Clock) {
          const db = await createTestDatabase();
          const a = openPostgresStore(db.url, { poolSize: 2, now: clockA });
          const b = openPostgresStore(db.url, { poolSize: 2, now: clockB });
          return {
            a,
            b,
            cleanup: async () => {
              await a.close();
              await b.close();
              await db.drop();
            },
          };
        },
      }
    : {}),
};

function newRun(id: string): NewRun {
  return newRunRecord(id, {
    spec: { name: 'wf', steps: { first: { transform: {} }, second: { transform: {} } } },
    status: 'running',
    input: { list: [1, 2, 3], name: 'Ada' },
    startedAt: 1_000,
  });
}

const steps = (runId: string) => ['first', 'second'].map((stepId) => ({ runId, stepId, kind: 'transform', status: 'pending' as const }));

async function stepsSeenBy(store: Store, runId: string) {
  return (await store.withRun(runId, (tx) => tx.steps()))!;
}

for (const [name, open] of Object.entries(opens)) {
  describe(`run cache (${name})`, () => {
    let pair: Pair | undefined;
    afterEach(async () => {
      await pair?.cleanup();
      pair = undefined;
    });

    const clocks: Array<[string, Clock, Clock]> = [
      ['the same clock', () => Date.now(), () => Date.now()],
      ['a frozen clock', () => 50_000, () => 50_000],
      ['the other store’s clock a minute behind', () => Date.now(), () => Date.now() - 60_000],
    ];
    for (const [clock, clockA, clockB] of clocks) {
      it(`a run's next transaction sees what another store changed meanwhile, with ${clock}`, async () => {
        pair = await open(clockA, clockB);
        const { a, b } = pair;
        await a.createRun(newRun('run_c'), steps('run_c'), () => Promise.resolve());
        // Store a reads the run and its steps and changes them: it keeps them for its next transaction.
        await a.withRun('run_c', async (tx) => {
          await tx.steps();
          await tx.updateStep('first', { status: 'succeeded', output: { v: 1 }, finishedAt: 2_000 });
          await tx.updateStep('second', { status: 'queued', availableAt: 2_000, state: { n: 1 } });
        });
        expect((await stepsSeenBy(a, 'run_c')).map((s) => [s.stepId, s.output, s.state])).toEqual([
          ['first', { v: 1 }, null],
          ['second', null, { n: 1 }],
        ]);
        // Store b changes only the JSON of both steps (their status stays).
        await b.withRun('run_c', async (tx) => {
          await tx.updateStep('first', { output: { v: 2 } });
          await tx.updateStep('second', { state: { n: 2 } });
        });
        const seen = await stepsSeenBy(a, 'run_c');
        expect(seen.map((s) => [s.stepId, s.output, s.state])).toEqual([
          ['first', { v: 2 }, null],
          ['second', null, { n: 2 }],
        ]);
        expect(seen).toEqual(await b.getSteps('run_c'));
        const run = await a.withRun('run_c', (tx) => Promise.resolve(tx.run));
        expect(run?.input).toEqual({ list: [1, 2, 3], name: 'Ada' });
        expect(run?.spec).toEqual(newRun('run_c').spec);
      });
    }

    it('keeps a written value as the database stores it, not the object the transition wrote', async () => {
      pair = await open(Date.now, Date.now);
      const { a, b } = pair;
      await a.createRun(newRun('run_w'), steps('run_w'), () => Promise.resolve());
      const output = { kept: 1, dropped: undefined, when: new Date(0), list: [1, undefined] };
      await a.withRun('run_w', async (tx) => {
        await tx.steps();
        await tx.updateStep('first', { status: 'succeeded', output, finishedAt: 2_000 });
      });
      output.kept = 99; // the writer's object changes afterwards: what was committed does not
      const [first] = await stepsSeenBy(a, 'run_w');
      expect(first!.output).toStrictEqual({ kept: 1, when: '1970-01-01T00:00:00.000Z', list: [1, null] });
      expect(first!.output).toStrictEqual((await b.getSteps('run_w'))[0]!.output);
    });

    it('a transaction holding several runs writes the attempts and events of each', async () => {
      pair = await open(Date.now, Date.now);
      const { a } = pair;
      const ids = ['run_g1', 'run_g2', 'run_g3'];
      for (const id of ids) await a.createRun(newRun(id), steps(id), () => Promise.resolve());
      await a.withRuns(ids, async (tx) => {
        await tx.updateStep('first', { status: 'running', attempt: 1, leaseOwner: 'w', leaseExpiresAt: 9_999_999_999_999 });
        await tx.insertAttempt({
          runId: tx.run.id,
          stepId: 'first',
          attempt: 1,
          status: 'running',
          workerId: 'w',
          input: { of: tx.run.id },
          output: null,
          error: null,
          startedAt: 3_000,
          finishedAt: null,
        });
        await tx.appendEvent('step.started', { attempt: 1 }, 'first');
        await tx.appendEvent('run.resumed', {});
      });
      for (const id of ids) {
        const [attempt] = await a.listAttempts(id, 'first');
        expect(attempt).toMatchObject({ runId: id, attempt: 1, status: 'running', input: { of: id } });
        expect((await a.listEvents(id, 0, 10)).map((e) => [e.seq, e.type])).toEqual([
          [1, 'step.started'],
          [2, 'run.resumed'],
        ]);
        expect((await a.getRun(id))?.eventSeq).toBe(2);
      }
    });
  });
}
