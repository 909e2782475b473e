import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { eventsOf, startTestEngine, type TestEngine } from '../helpers/engine.js';
import type { EventRecord } from '../../src/types.js';

const keyed = {
  name: 'keyed',
  concurrency: { key: 'input.customer', limit: 2 },
  steps: {
    work: { sleep: '150ms' },
    more: { needs: ['work'], transform: '{{ input.n }}' },
  },
  output: '{{ steps.more.output }}',
};

/** The most runs that were started and not yet ended at any one moment, from their events. */
function mostAtOnce(events: EventRecord[]): number {
  let running = 0;
  let most = 0;
  for (const e of [...events].sort((a, b) => a.at - b.at || (a.type === 'run.started' ? 1 : -1))) {
    if (e.type === 'run.started') most = Math.max(most, ++running);
    if (e.type === 'run.succeeded' || e.type === 'run.failed' || e.type === 'run.cancelled') running--;
  }
  return most;
}

for (const factory of storeFactories) {
  describe(`concurrency keys and priority (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('never runs more than the limit of one key at once; other keys are not held back', async () => {
      t = await startTestEngine(factory, [keyed], { settings: { concurrency: 20 } });
      const runs = [];
      for (let n = 0; n < 10; n++) runs.push(await t.engine.startRun('keyed', { customer: 'acme', n }));
      const other = await t.engine.startRun('keyed', { customer: 'globex', n: 99 });
      for (const run of [...runs, other]) {
        expect(await t.engine.waitForRun(run.id, { timeoutMs: 30_000 })).toMatchObject({ status: 'succeeded' });
      }
      const events = (await Promise.all(runs.map((r) => eventsOf(t!.store, r.id)))).flat();
      expect(mostAtOnce(events)).toBe(2);
      expect(events.filter((e) => e.type === 'run.blocked').length).toBeGreaterThan(0);
      expect(runs[0]!.concurrencyKey).toBe('keyed:acme');
      // globex did not wait behind acme's queue.
      const globex = await eventsOf(t.store, other.id);
      expect(globex.some((e) => e.type === 'run.blocked')).toBe(false);
    }, 60_000);

    it('claims higher-priority runs first', async () => {
      // One slot: the runs start one claim after another. Their order is read from the commits
      // themselves (start times can fall in the same millisecond on a fast machine).
      t = await startTestEngine(factory, [{ name: 'one', steps: { a: { sleep: '20ms' } } }], {
        start: false,
        settings: { concurrency: 1 },
      });
      const started: string[] = [];
      t.engine.onCommitted((events) => started.push(...events.filter((e) => e.event.type === 'run.started').map((e) => e.event.runId)));
      const low = await t.engine.startRun('one', { n: 1 }, { priority: 0 });
      const high = await t.engine.startRun('one', { n: 2 }, { priority: 10 });
      const mid = await t.engine.startRun('one', { n: 3 }, { priority: 5 });
      await t.engine.start();
      for (const run of [low, high, mid]) {
        expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded' });
      }
      expect(started).toEqual([high.id, mid.id, low.id]);
    });
  });
}
