import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { eventsOf, eventually, startTestEngine, type TestEngine } from '../helpers/engine.js';

/** Items whose value is in `input.bad` fail (reading a missing field); the others double. */
function mapper(name: string, maxFailures: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    steps: {
      list: { transform: '{{ input.items }}' },
      each: {
        for_each: { from: 'steps.list.output', concurrency: 10, max_failures: maxFailures, ...extra },
        transform: '{{ item in input.bad ? item.missing : item * 2 }}',
      },
    },
    output: '{{ steps.each.output }}',
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

for (const factory of storeFactories) {
  describe(`for_each (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('maps 1,000 items, at most 10 at once, tolerating one failure, with results in input order', async () => {
      t = await startTestEngine(factory, [mapper('map1000', 1)], { settings: { concurrency: 20 } });
      const run = await t.engine.startRun('map1000', { items: range(1000), bad: [500] });
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 120_000 });
      expect(done.status).toBe('succeeded');
      const output = done.output as (number | null)[];
      expect(output).toHaveLength(1000);
      expect(output[500]).toBeNull();
      expect(output.filter((v, i) => i !== 500 && v !== i * 2)).toEqual([]);

      // Each item is a step of its own, with its own attempt; never more than 10 ran at once.
      const items = await t.store.listItems(run.id, 'each');
      expect(items).toHaveLength(1000);
      expect(items.filter((s) => s.status === 'succeeded')).toHaveLength(999);
      expect(items[500]).toMatchObject({ stepId: 'each[500]', status: 'failed', itemIndex: 500, item: 500, attempt: 1 });
      expect(await t.store.listAttempts(run.id, 'each[500]')).toMatchObject([{ attempt: 1, status: 'failed', error: { code: 'expression_error' } }]);
      let running = 0;
      let most = 0;
      for (const e of await eventsOf(t.store, run.id)) {
        if (!e.stepId?.startsWith('each[')) continue;
        if (e.type === 'step.started') most = Math.max(most, ++running);
        if (e.type === 'step.succeeded' || e.type === 'step.failed') running--;
      }
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(10);
    }, 180_000);

    it('fails the step when more items fail than max_failures allows, and cancels the rest', async () => {
      t = await startTestEngine(factory, [mapper('strict', 1)], { settings: { concurrency: 20 } });
      const run = await t.engine.startRun('strict', { items: range(1000), bad: [3, 4] });
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 60_000 });
      expect(done).toMatchObject({ status: 'failed', error: { code: 'map_failed', details: { failed: [3, 4] } } });
      const items = await t.store.listItems(run.id, 'each');
      expect(items).toHaveLength(1000);
      expect(items.filter((s) => s.status === 'cancelled').length).toBeGreaterThan(900);
      expect(items.every((s) => ['succeeded', 'failed', 'cancelled'].includes(s.status))).toBe(true);
    });

    it('refuses a list longer than max_items, or a value that is not a list', async () => {
      t = await startTestEngine(factory, [mapper('small', 0, { max_items: 3 })]);
      const long = await t.engine.startRun('small', { items: range(4), bad: [] });
      expect(await t.engine.waitForRun(long.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed', error: { code: 'too_many_items' } });
      const scalar = await t.engine.startRun('small', { items: 7, bad: [] });
      expect(await t.engine.waitForRun(scalar.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed', error: { code: 'too_many_items' } });
      const empty = await t.engine.startRun('small', { items: [], bad: [] });
      expect(await t.engine.waitForRun(empty.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: [] });
    });

    it('settles a map of an empty list at once, and the run it ends succeeds once', async () => {
      t = await startTestEngine(factory, [mapper('empty', 0)]);
      const run = await t.engine.startRun('empty', { items: [], bad: [] });
      expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: [] });
      const events = await eventsOf(t.store, run.id);
      expect(events.filter((e) => e.type === 'run.succeeded')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'step.succeeded' && e.stepId === 'each')).toHaveLength(1);
    });

    it('cancelling the run cancels its items', async () => {
      t = await startTestEngine(factory, [{ name: 'naps', steps: { each: { for_each: { from: 'input.items', concurrency: 2 }, sleep: '1h' } } }]);
      const run = await t.engine.startRun('naps', { items: range(5) });
      await eventually(async () => ((await t!.store.listItems(run.id, 'each')).filter((s) => s.status === 'waiting').length === 2 ? true : undefined));
      // Everything it has left waits on timers: the run waits too.
      await eventually(async () => ((await t!.engine.getRun(run.id)).status === 'waiting' ? true : undefined), 5_000, 'run waiting');
      await t.engine.cancelRun(run.id);
      const items = await t.store.listItems(run.id, 'each');
      expect(items.map((s) => s.status)).toEqual(Array(5).fill('cancelled'));
    });
  });
}
