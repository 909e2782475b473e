import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { eventsOf, eventually, labels, startTestEngine, type TestEngine } from '../helpers/engine.js';

function waiter(name: string, nap: string, timeout: string): Record<string, unknown> {
  return {
    name,
    steps: {
      nap: { sleep: nap },
      go: { needs: ['nap'], wait: { signal: 'go', timeout, on_timeout: 'continue', default: { late: true } } },
      done: { transform: { got: '{{ steps.go.output }}' } },
    },
    output: '{{ steps.done.output.got }}',
  };
}
const waiters = [waiter('waiter', '1ms', '1h'), waiter('late_waiter', '600ms', '1h'), waiter('lenient_waiter', '1ms', '300ms')];

const strictWaiter = {
  name: 'strict_waiter',
  steps: { go: { wait: { signal: 'go', timeout: '300ms' } } },
};

const child = {
  name: 'child',
  input: { schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' }, nap: { type: 'boolean' } } } },
  steps: {
    nap: { when: 'input.nap', sleep: '1h' },
    double: { needs: ['nap'], transform: '{{ input.n * 2 }}' },
    check: { when: 'input.n < 0', transform: '{{ input.missing.field }}' },
  },
  output: '{{ steps.double.output }}',
};

const parent = {
  name: 'parent',
  steps: {
    sub: { workflow: 'child', input: { n: '{{ input.n }}', nap: '{{ input.nap }}' } },
    after: { transform: { doubled: '{{ steps.sub.output }}' } },
  },
  output: '{{ steps.after.output }}',
};

for (const factory of storeFactories) {
  describe(`signals (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('resumes a waiting step with the payload; a repeat changes nothing, another payload conflicts', async () => {
      t = await startTestEngine(factory, waiters);
      const run = await t.engine.startRun('waiter', {});
      await eventually(async () => ((await t!.engine.getRun(run.id)).status === 'waiting' ? true : undefined), 10_000, 'run waiting');
      await expect(t.engine.sendSignal(run.id, 'stop', {})).rejects.toMatchObject({ code: 'invalid_request' });
      const first = await t.engine.sendSignal(run.id, 'go', { answer: 42 });
      expect(first.duplicate).toBe(false);
      const again = await t.engine.sendSignal(run.id, 'go', { answer: 42 });
      expect(again).toMatchObject({ duplicate: true, signal: { payload: { answer: 42 } } });
      await expect(t.engine.sendSignal(run.id, 'go', { answer: 43 })).rejects.toMatchObject({ code: 'conflict' });
      expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: { answer: 42 } });
      expect(labels(await eventsOf(t.store, run.id)).filter((l) => l === 'signal.received')).toHaveLength(1);
      // Resending after the run ended is still answered as a repeat; the run takes nothing new.
      await expect(t.engine.sendSignal(run.id, 'go', { answer: 42 })).resolves.toMatchObject({ duplicate: true });
      await expect(t.engine.sendSignal('run_missing', 'go', {})).rejects.toMatchObject({ code: 'not_found' });
    });

    it('refuses a signal to a run that ended', async () => {
      t = await startTestEngine(factory, waiters);
      const run = await t.engine.startRun('waiter', {});
      await t.engine.cancelRun(run.id);
      await expect(t.engine.sendSignal(run.id, 'go', 1)).rejects.toMatchObject({ code: 'conflict' });
    });

    it('keeps a signal sent before the step waits, and the step takes it when it starts', async () => {
      t = await startTestEngine(factory, waiters);
      const run = await t.engine.startRun('late_waiter', {});
      await t.engine.sendSignal(run.id, 'go', 'early');
      expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: 'early' });
    });

    it('times out: continue takes the default, fail fails the step', async () => {
      t = await startTestEngine(factory, [...waiters, strictWaiter]);
      const lenient = await t.engine.startRun('lenient_waiter', {});
      const strict = await t.engine.startRun('strict_waiter', {});
      expect(await t.engine.waitForRun(lenient.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: { late: true } });
      expect(await t.engine.waitForRun(strict.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed', error: { code: 'signal_timeout' } });
    });
  });

  describe(`sub-workflows (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('starts a child run, waits for it and takes its output; both link to each other', async () => {
      t = await startTestEngine(factory, [child, parent]);
      const run = await t.engine.startRun('parent', { n: 21, nap: false });
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: { doubled: 42 } });
      const [kid] = await t.engine.childRuns(run.id);
      expect(kid).toMatchObject({ workflow: 'child', status: 'succeeded', parentRunId: run.id, parentStepId: 'sub', output: 42 });
      const started = (await eventsOf(t.store, run.id)).find((e) => e.type === 'child.started');
      expect(started?.data).toMatchObject({ run_id: kid!.id });
    });

    it('cancelling the parent cancels the running child', async () => {
      t = await startTestEngine(factory, [child, parent]);
      const run = await t.engine.startRun('parent', { n: 1, nap: true });
      const kid = await eventually(async () => (await t!.engine.childRuns(run.id))[0], 10_000, 'child run');
      await eventually(async () => ((await t!.engine.getRun(kid.id)).status === 'waiting' ? true : undefined), 10_000, 'child sleeping');
      await t.engine.cancelRun(run.id);
      expect((await t.engine.getRun(run.id)).status).toBe('cancelled');
      expect(await t.engine.getRun(kid.id)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
      const kidSteps = await t.store.getSteps(kid.id);
      expect(kidSteps.every((s) => ['cancelled', 'succeeded', 'skipped'].includes(s.status))).toBe(true);
    });

    it('fails the step, not the claim, when the child cannot be created', async () => {
      const keyed = { name: 'keyed_child', concurrency: { key: 'input.customer.id', limit: 1 }, steps: { a: { transform: 1 } } };
      const caller = { name: 'caller', steps: { sub: { workflow: 'keyed_child', input: { customer: '{{ input.customer }}' } } } };
      t = await startTestEngine(factory, [keyed, caller]);
      const run = await t.engine.startRun('caller', { customer: 'no id here' });
      expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed', error: { code: 'input_invalid' } });
      expect(await t.engine.childRuns(run.id)).toEqual([]);
    });

    it('a child failure fails the step, retried like any step', async () => {
      const retried = {
        ...parent,
        name: 'retrying_parent',
        steps: { ...parent.steps, sub: { ...parent.steps.sub, retry: { max_attempts: 2, initial: '10ms' } } },
      };
      t = await startTestEngine(factory, [child, parent, retried]);
      const once = await t.engine.startRun('parent', { n: -1, nap: false });
      const failed = await t.engine.waitForRun(once.id, { timeoutMs: 10_000 });
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'child_failed' } });
      expect(await t.engine.childRuns(once.id)).toHaveLength(1);
      const twice = await t.engine.startRun('retrying_parent', { n: -1, nap: false });
      expect(await t.engine.waitForRun(twice.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed' });
      expect(await t.engine.childRuns(twice.id)).toHaveLength(2);
      const badInput = await t.engine.startRun('parent', { n: 'x', nap: false });
      expect(await t.engine.waitForRun(badInput.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'failed', error: { code: 'input_invalid' } });
    });
  });
}
