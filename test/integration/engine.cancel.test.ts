import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { eventsOf, indexOf, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { defaultExecutors } from '../../src/runtime/registry.js';

/** Resolves once `predicate` holds, polling; fails the test after `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const factory of storeFactories) {
  describe(`engine cancellation and time limits (${factory.name})`, () => {
    let t: TestEngine | undefined;
    let server: TestServer | undefined;
    afterEach(async () => {
      await t?.cleanup();
      await server?.close();
      t = undefined;
      server = undefined;
    });

    it('aborts the running http request on cancel and starts no later step', async () => {
      let requestClosed = false;
      let received = false;
      // The endpoint never answers; we watch its socket close when the step is aborted.
      server = await startServer((req) => {
        received = true;
        req.socket.on('close', () => (requestClosed = true));
      });
      t = await startTestEngine(
        factory,
        [
          {
            name: 'slow',
            env: { API: {} },
            steps: { call: { http: { url: '{{ env.API }}', timeout: '60s' } }, later: { needs: ['call'], transform: 1 } },
          },
        ],
        { env: { API: server.url } },
      );
      const run = await t.engine.startRun('slow', {});
      await until(() => received);
      const cancelled = await t.engine.cancelRun(run.id, 'operator said stop');
      expect(cancelled.status).toBe('cancelled');
      await until(() => requestClosed);
      const events = await eventsOf(t.store, run.id);
      expect(indexOf(events, 'run.cancelled')).toBeGreaterThan(0);
      expect(indexOf(events, 'step.started', 'later')).toBe(-1);
      expect(indexOf(events, 'step.succeeded', 'call')).toBe(-1);
      const steps = await t.store.getSteps(run.id);
      expect(steps.map((s) => [s.stepId, s.status])).toEqual([
        ['call', 'cancelled'],
        ['later', 'cancelled'],
      ]);
      await expect(t.engine.cancelRun(run.id)).rejects.toMatchObject({ code: 'conflict' });
      await expect(t.engine.cancelRun('run_missing')).rejects.toMatchObject({ code: 'not_found' });
    });

    it('fires the AbortSignal of a running step when its run is cancelled, and keeps the cancelled status', async () => {
      let aborted = false;
      let started = false;
      const blocking: StepExecutor = {
        kind: 'transform',
        execute: (_config, ctx) =>
          new Promise((_resolve, reject) => {
            started = true;
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
          }),
      };
      const executors = [blocking, ...defaultExecutors().filter((e) => e.kind !== 'transform')];
      t = await startTestEngine(factory, [{ name: 'block', steps: { a: { transform: 1 } } }], { executors });
      const run = await t.engine.startRun('block', {});
      await until(() => started);
      await t.engine.cancelRun(run.id);
      await until(() => aborted);
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 5_000 });
      expect(done.status).toBe('cancelled');
      expect((await t.store.listAttempts(run.id))[0]?.status).toBe('cancelled');
    });

    it('fails a step that takes longer than its timeout with step_timeout', async () => {
      server = await startServer(() => undefined);
      t = await startTestEngine(factory, [{ name: 'timeout', env: { API: {} }, steps: { call: { http: { url: '{{ env.API }}' }, timeout: '200ms' } } }], {
        env: { API: server.url },
      });
      const done = await t.engine.waitForRun((await t.engine.startRun('timeout', {})).id, { timeoutMs: 10_000 });
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'step_timeout' });
    });

    it('times out a step whose executor ignores its AbortSignal', async () => {
      const deaf: StepExecutor = { kind: 'transform', execute: () => new Promise(() => undefined) };
      const executors = [deaf, ...defaultExecutors().filter((e) => e.kind !== 'transform')];
      t = await startTestEngine(factory, [{ name: 'deaf', steps: { a: { transform: 1, timeout: '100ms' } } }], { executors });
      const done = await t.engine.waitForRun((await t.engine.startRun('deaf', {})).id, { timeoutMs: 10_000 });
      expect(done.error).toMatchObject({ code: 'step_timeout' });
    });

    it('ends a run past its deadline timed_out and cancels its waiting steps', async () => {
      t = await startTestEngine(factory, [{ name: 'late', deadline: '300ms', steps: { nap: { sleep: '30s' }, after: { needs: ['nap'], transform: 1 } } }]);
      const run = await t.engine.startRun('late', {});
      expect(run.deadlineAt).toBe(run.createdAt + 300);
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done.status).toBe('timed_out');
      expect(done.error).toMatchObject({ code: 'run_timed_out' });
      const steps = await t.store.getSteps(run.id);
      expect(steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
      const events = await eventsOf(t.store, run.id);
      expect(events.at(-1)?.type).toBe('run.timed_out');
    });

    it('parks a sleeping step without holding a worker slot', async () => {
      t = await startTestEngine(factory, [{ name: 'nap', steps: { nap: { sleep: '300ms' }, after: { needs: ['nap'], transform: 'awake' } } }], {
        settings: { concurrency: 1 },
      });
      const sleepers = await Promise.all([t.engine.startRun('nap', {}), t.engine.startRun('nap', {})]);
      await until(async () => (await Promise.all(sleepers.map((r) => t!.store.getRun(r.id)))).every((r) => r?.status === 'waiting'));
      expect(t.engine.activeAttempts).toBe(0);
      for (const run of sleepers) expect((await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    });
  });
}
