/**
 * Re-runs: retry from the failed step (earlier successes are reused, not run again), re-run from
 * any step of an ended run, and a step's attempt history across the `retry_of` chain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { diffValues } from '../../src/engine/reruns.js';
import type { RunRecord, StepRecord } from '../../src/types.js';
import { eventsOf, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { storeFactories } from '../helpers/store.js';

/**
 * a → b → c → d. `b` and `c` put the run id into their output and request, so a reused step is
 * recognisable by the old run's id, and two attempts of `c` differ in their input.
 */
const CHAIN = {
  name: 'chain',
  env: { API: {} },
  steps: {
    a: { transform: { n: '{{ input.n }}' } },
    b: { needs: ['a'], transform: { n: '{{ steps.a.output.n + 1 }}', run: '{{ run.id }}' } },
    c: { needs: ['b'], http: { url: '{{ env.API }}/c?n={{ steps.b.output.n }}&run={{ run.id }}' }, retry: { max_attempts: 1 } },
    d: { needs: ['c'], transform: { answer: '{{ steps.c.output.body }}' } },
  },
  output: '{{ steps.d.output }}',
};
const NAP = { name: 'nap', steps: { long: { sleep: '1h' } } };

async function rejection(promise: Promise<unknown>): Promise<AgentryError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AgentryError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

for (const factory of storeFactories) {
  describe(`re-runs (${factory.name})`, () => {
    let t: TestEngine | undefined;
    let server: TestServer | undefined;
    afterEach(async () => {
      await t?.cleanup();
      await server?.close();
      t = undefined;
      server = undefined;
    });

    /** The engine with `chain` against a server that fails the first `failures` requests to c. */
    async function setUp(failures: number): Promise<TestEngine> {
      let calls = 0;
      server = await startServer((_req, res) => (++calls <= failures ? json(res, 500, { error: 'down' }) : json(res, 200, { call: calls })));
      t = await startTestEngine(factory, [CHAIN, NAP], { env: { API: server.url } });
      return t;
    }

    async function finished(engine: TestEngine, run: RunRecord): Promise<RunRecord> {
      return engine.engine.waitForRun(run.id, { timeoutMs: 10_000 });
    }

    async function stepsOf(engine: TestEngine, runId: string): Promise<Record<string, StepRecord>> {
      return Object.fromEntries((await engine.store.getSteps(runId)).map((s) => [s.stepId, s]));
    }

    it('retries a run from its failed step: earlier steps are reused without an attempt, the rest run', async () => {
      const e = await setUp(1);
      const first = await finished(e, await e.engine.startRun('chain', { n: 1 }));
      expect(first).toMatchObject({ status: 'failed', error: { code: 'http_status' } });

      const retried = await e.engine.retryRun(first.id);
      expect(retried.retryOf).toBe(first.id);
      const second = await finished(e, retried);
      expect(second).toMatchObject({ status: 'succeeded', output: { answer: { call: 2 } }, retryOf: first.id, input: { n: 1 } });

      const steps = await stepsOf(e, second.id);
      expect(Object.fromEntries(Object.values(steps).map((s) => [s.stepId, [s.status, s.attempt]]))).toEqual({
        a: ['succeeded', 0],
        b: ['succeeded', 0],
        c: ['succeeded', 1],
        d: ['succeeded', 1],
      });
      // b's output is the first run's: it carries that run's id.
      expect(steps.b?.output).toEqual({ n: 2, run: first.id });
      expect(await e.store.listAttempts(second.id, 'a')).toEqual([]);
      expect(await e.store.listAttempts(second.id, 'b')).toEqual([]);
      expect(server!.requests.map((r) => r.path)).toEqual([`/c?n=2&run=${first.id}`, `/c?n=2&run=${second.id}`]);

      const events = await eventsOf(e.store, second.id);
      expect(events[0]).toMatchObject({ type: 'run.created', data: { retry_of: first.id } });
      expect(events.filter((ev) => ev.type === 'step.reused').map((ev) => ev.stepId)).toEqual(['a', 'b']);
      expect(events.filter((ev) => ev.type === 'step.started').map((ev) => ev.stepId)).toEqual(['c', 'd']);
    });

    it('re-runs a succeeded run from a step: steps before it are reused, it and its dependants run again', async () => {
      const e = await setUp(0);
      const first = await finished(e, await e.engine.startRun('chain', { n: 5 }));
      expect(first.status).toBe('succeeded');
      // Without a step, a succeeded run has nothing to retry.
      expect(await rejection(e.engine.retryRun(first.id))).toMatchObject({ code: 'conflict' });

      const second = await finished(e, await e.engine.retryRun(first.id, { fromStep: 'b' }));
      expect(second).toMatchObject({ status: 'succeeded', retryOf: first.id, output: { answer: { call: 2 } } });
      const steps = await stepsOf(e, second.id);
      expect([steps.a?.attempt, steps.b?.attempt, steps.c?.attempt, steps.d?.attempt]).toEqual([0, 1, 1, 1]);
      expect(steps.a?.output).toEqual({ n: 5 });
      expect(steps.b?.output).toEqual({ n: 6, run: second.id });
      const events = await eventsOf(e.store, second.id);
      expect(events.filter((ev) => ev.type === 'step.reused').map((ev) => ev.stepId)).toEqual(['a']);
      expect(events.filter((ev) => ev.type === 'step.started').map((ev) => ev.stepId)).toEqual(['b', 'c', 'd']);
    });

    it("lists a step's attempts across the retry_of chain, oldest first, and a reused step's from the run that ran it", async () => {
      const e = await setUp(1);
      const first = await finished(e, await e.engine.startRun('chain', { n: 1 }));
      const second = await finished(e, await e.engine.retryRun(first.id));
      const third = await finished(e, await e.engine.retryRun(second.id, { fromStep: 'c' }));
      expect(third.status).toBe('succeeded');

      const c = await e.engine.stepAttempts(third.id, 'c');
      expect(c.map((a) => [a.runId, a.attempt, a.status])).toEqual([
        [first.id, 1, 'failed'],
        [second.id, 1, 'succeeded'],
        [third.id, 1, 'succeeded'],
      ]);
      expect(c[0]?.error).toMatchObject({ code: 'http_status' });
      // The two tries differ in the run id in the URL, and in what came back.
      expect(diffValues(c[0]!.input, c[1]!.input).map((change) => change.path)).toEqual(['/url']);
      // (Response headers such as `date` may differ too; the body and status are what the server decided.)
      const outputChanges = diffValues(c[1]!.output, c[2]!.output).filter((change) => !change.path.startsWith('/headers/'));
      expect(outputChanges).toEqual([{ path: '/body/call', before: 2, after: 3 }]);

      // a ran once, in the first run; both re-runs reused it.
      expect((await e.engine.stepAttempts(third.id, 'a')).map((a) => [a.runId, a.attempt])).toEqual([[first.id, 1]]);
      // The middle run's history stops at itself and what it re-ran.
      expect((await e.engine.stepAttempts(second.id, 'c')).map((a) => a.runId)).toEqual([first.id, second.id]);
    });

    it('refuses an unknown step and a run that has not ended, starting nothing', async () => {
      const e = await setUp(1);
      const failed = await finished(e, await e.engine.startRun('chain', { n: 1 }));
      const nap = await e.engine.startRun('nap', {});
      const before = (await e.store.listRuns({ limit: 100 })).items.length;

      const unknown = await rejection(e.engine.retryRun(failed.id, { fromStep: 'cc' }));
      expect(unknown).toMatchObject({ code: 'invalid_request', message: expect.stringContaining("did you mean 'c'") });
      expect(await rejection(e.engine.retryRun(nap.id))).toMatchObject({ code: 'conflict' });
      expect(await rejection(e.engine.retryRun(nap.id, { fromStep: 'long' }))).toMatchObject({ code: 'conflict' });
      expect(await rejection(e.engine.retryRun('run_nope'))).toMatchObject({ code: 'not_found' });
      expect((await e.store.listRuns({ limit: 100 })).items.length).toBe(before);

      expect(await rejection(e.engine.stepAttempts(failed.id, 'nope'))).toMatchObject({ code: 'not_found' });
      expect(await rejection(e.engine.stepAttempts('run_nope', 'a'))).toMatchObject({ code: 'not_found' });
    });
  });
}
