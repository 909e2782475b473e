import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { eventsOf, indexOf, labels, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';

for (const factory of storeFactories) {
  describe(`engine flow (${factory.name})`, () => {
    let t: TestEngine | undefined;
    let server: TestServer | undefined;
    afterEach(async () => {
      await t?.cleanup();
      await server?.close();
      t = undefined;
      server = undefined;
    });

    it('runs independent branches in parallel and a join only after both', async () => {
      // The server answers the two branch requests only once both are in flight together:
      // run one at a time, the first would wait for its partner and report `alone`.
      const waiting: Array<() => void> = [];
      server = await startServer((_req, res) => {
        const answer = (together: boolean) => json(res, 200, { together });
        if (waiting.length === 1) {
          waiting.shift()!();
          answer(true);
          return;
        }
        const timer = setTimeout(() => {
          waiting.length = 0;
          answer(false);
        }, 3_000);
        waiting.push(() => {
          clearTimeout(timer);
          answer(true);
        });
      });
      t = await startTestEngine(
        factory,
        [
          {
            name: 'diamond',
            env: { API: {} },
            steps: {
              a: { transform: { n: '{{ input.n }}' } },
              b: { needs: ['a'], http: { url: '{{ env.API }}/b' } },
              c: { needs: ['a'], http: { url: '{{ env.API }}/c' } },
              d: { transform: { b: '{{ steps.b.output.body.together }}', c: '{{ steps.c.output.body.together }}' } },
            },
            output: '{{ steps.d.output }}',
          },
        ],
        { env: { API: server.url } },
      );
      const run = await t.engine.startRun('diamond', { n: 1 });
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done.status).toBe('succeeded');
      expect(done.output).toEqual({ b: true, c: true });
      const events = await eventsOf(t.store, run.id);
      const dStart = indexOf(events, 'step.started', 'd');
      expect(dStart).toBeGreaterThan(indexOf(events, 'step.succeeded', 'b'));
      expect(dStart).toBeGreaterThan(indexOf(events, 'step.succeeded', 'c'));
    });

    it('tells the whole story of a run in its event log, in order', async () => {
      t = await startTestEngine(factory, [
        { name: 'two', steps: { a: { transform: 1 }, b: { transform: '{{ steps.a.output + 1 }}' } }, output: '{{ steps.b.output }}' },
      ]);
      const run = await t.engine.startRun('two', {});
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: 2 });
      expect(labels(await eventsOf(t.store, run.id))).toEqual([
        'run.created',
        'step.queued:a',
        'run.started',
        'step.started:a',
        'step.succeeded:a',
        'step.queued:b',
        'step.started:b',
        'step.succeeded:b',
        'run.succeeded',
      ]);
    });

    it('skips a step whose condition is false and lets its dependants run', async () => {
      t = await startTestEngine(factory, [
        {
          name: 'cond',
          steps: {
            check: { transform: '{{ input.level }}' },
            escalate: { needs: ['check'], when: "steps.check.output == 'high'", transform: 'paged' },
            finish: { needs: ['escalate'], transform: '{{ steps.escalate.status }}' },
          },
          output: '{{ steps.finish.output }}',
        },
      ]);
      const low = await t.engine.waitForRun((await t.engine.startRun('cond', { level: 'low' })).id, { timeoutMs: 10_000 });
      const high = await t.engine.waitForRun((await t.engine.startRun('cond', { level: 'high' })).id, { timeoutMs: 10_000 });
      expect(low).toMatchObject({ status: 'succeeded', output: 'skipped' });
      expect(high).toMatchObject({ status: 'succeeded', output: 'succeeded' });
      const steps = await t.store.getSteps(low.id);
      expect(steps.find((s) => s.stepId === 'escalate')?.status).toBe('skipped');
    });

    it('retries a failing step with back-off until it succeeds, keeping every attempt', async () => {
      let calls = 0;
      server = await startServer((_req, res) => (++calls < 3 ? json(res, 503, { error: 'busy' }) : json(res, 200, { ok: calls })));
      t = await startTestEngine(
        factory,
        [
          {
            name: 'flaky',
            env: { API: {} },
            steps: { call: { http: { url: '{{ env.API }}' }, retry: { max_attempts: 3, initial: '10ms', max: '50ms' } } },
            output: '{{ steps.call.output.body }}',
          },
        ],
        { env: { API: server.url } },
      );
      const run = await t.engine.startRun('flaky', {});
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: { ok: 3 } });
      const attempts = await t.store.listAttempts(run.id, 'call');
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
        [3, 'succeeded'],
      ]);
      expect(attempts[0]?.error).toMatchObject({ code: 'http_status', retryable: true });
      const events = await eventsOf(t.store, run.id);
      expect(events.filter((e) => e.type === 'step.retry_scheduled')).toHaveLength(2);
    });

    it("applies the workflow's egress: a loopback call it denies fails at once with egress_denied", async () => {
      let calls = 0;
      server = await startServer((_req, res) => json(res, 200, { ok: ++calls }));
      t = await startTestEngine(
        factory,
        [
          {
            name: 'fenced',
            env: { API: {} },
            egress: { deny: ['127.0.0.0/8'] },
            steps: { call: { http: { url: '{{ env.API }}' }, retry: { max_attempts: 3, initial: '10ms', max: '50ms' } } },
          },
        ],
        { env: { API: server.url } },
      );
      const run = await t.engine.startRun('fenced', {});
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'failed', error: { code: 'egress_denied' } });
      expect(await t.store.listAttempts(run.id, 'call')).toHaveLength(1);
      expect(calls).toBe(0);
    });

    it('fails the run when retries run out, and does not start the dependants', async () => {
      server = await startServer((_req, res) => json(res, 500, { error: 'down' }));
      t = await startTestEngine(
        factory,
        [
          {
            name: 'down',
            env: { API: {} },
            steps: {
              call: { http: { url: '{{ env.API }}' }, retry: { max_attempts: 2, initial: '10ms' } },
              after: { needs: ['call'], transform: 'never' },
            },
          },
        ],
        { env: { API: server.url } },
      );
      const run = await t.engine.startRun('down', {});
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'http_status' });
      expect(server.requests).toHaveLength(2);
      const events = await eventsOf(t.store, run.id);
      expect(indexOf(events, 'step.started', 'after')).toBe(-1);
      expect((await t.store.getSteps(run.id)).find((s) => s.stepId === 'after')?.status).toBe('cancelled');
    });

    it('does not retry an error that retrying cannot fix', async () => {
      server = await startServer((_req, res) => json(res, 404, {}));
      t = await startTestEngine(
        factory,
        [{ name: 'missing', env: { API: {} }, steps: { call: { http: { url: '{{ env.API }}' }, retry: { max_attempts: 5, initial: '10ms' } } } }],
        { env: { API: server.url } },
      );
      const done = await t.engine.waitForRun((await t.engine.startRun('missing', {})).id, { timeoutMs: 10_000 });
      expect(done.status).toBe('failed');
      expect(server.requests).toHaveLength(1);
    });

    it('fails a step whose output does not match its schema, and strips reserved fields from valid output', async () => {
      t = await startTestEngine(factory, [
        {
          name: 'schema',
          steps: {
            score: {
              transform: { score: '{{ input.score }}', _rationale: 'because', _flags: ['requires_review'], _confidence: 0.4 },
              output: { schema: { type: 'object', required: ['score'], properties: { score: { type: 'number' } } } },
            },
            next: { transform: '{{ steps.score.output }}' },
          },
          output: '{{ steps.next.output }}',
        },
      ]);
      const good = await t.engine.waitForRun((await t.engine.startRun('schema', { score: 0.5 })).id, { timeoutMs: 10_000 });
      expect(good).toMatchObject({ status: 'succeeded', output: { score: 0.5 } });
      const step = (await t.store.getSteps(good.id)).find((s) => s.stepId === 'score');
      expect(step?.meta).toEqual({ rationale: 'because', flags: ['requires_review'], confidence: 0.4 });
      const bad = await t.engine.waitForRun((await t.engine.startRun('schema', { score: 'x' })).id, { timeoutMs: 10_000 });
      expect(bad.status).toBe('failed');
      expect(bad.error).toMatchObject({ code: 'output_invalid' });
      expect((await t.store.getSteps(bad.id)).find((s) => s.stepId === 'next')?.status).toBe('cancelled');
    });

    it('rejects input that does not match the workflow input schema and creates no run', async () => {
      t = await startTestEngine(factory, [
        {
          name: 'typed',
          input: { schema: { type: 'object', required: ['ticket'], properties: { ticket: { type: 'string' } } } },
          steps: { a: { transform: 1 } },
        },
      ]);
      await expect(t.engine.startRun('typed', { ticket: 5 })).rejects.toMatchObject({ code: 'input_invalid' });
      await expect(t.engine.startRun('nope', {})).rejects.toMatchObject({ code: 'not_found' });
      expect((await t.store.listRuns({ limit: 10 })).items).toEqual([]);
    });

    it('returns the first run for a repeated idempotency key and refuses the key for a different request', async () => {
      t = await startTestEngine(factory, [{ name: 'once', steps: { a: { transform: '{{ input.n }}' } } }], { start: false });
      const first = await t.engine.startRunIdempotent('once', { n: 1 }, { idempotencyKey: 'abc' });
      const again = await t.engine.startRunIdempotent('once', { n: 1 }, { idempotencyKey: 'abc' });
      expect(first.replayed).toBe(false);
      expect(again).toMatchObject({ replayed: true, run: { id: first.run.id } });
      await expect(t.engine.startRunIdempotent('once', { n: 2 }, { idempotencyKey: 'abc' })).rejects.toMatchObject({ code: 'idempotency_conflict' });
      const other = await t.engine.startRunIdempotent('once', { n: 2 }, { idempotencyKey: 'abc', tenantId: 't2' });
      expect(other.replayed).toBe(false);
      expect((await t.store.listRuns({ tenantId: 'default', limit: 10 })).items).toHaveLength(1);
    });

    it('fails a step whose template cannot be evaluated, naming the expression', async () => {
      t = await startTestEngine(factory, [{ name: 'badexpr', steps: { a: { transform: '{{ input.missing.deeper }}' } } }]);
      const done = await t.engine.waitForRun((await t.engine.startRun('badexpr', {})).id, { timeoutMs: 10_000 });
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'expression_error' });
    });

    it('never runs more attempts at once than the pool allows', async () => {
      let inFlight = 0;
      let peak = 0;
      server = await startServer(async (_req, res) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight--;
        json(res, 200, {});
      });
      t = await startTestEngine(factory, [{ name: 'slow', env: { API: {} }, steps: { call: { http: { url: '{{ env.API }}' } } } }], {
        env: { API: server.url },
        settings: { concurrency: 2 },
      });
      const runs = await Promise.all(Array.from({ length: 6 }, () => t!.engine.startRun('slow', {})));
      for (const run of runs) expect((await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
      expect(server.requests).toHaveLength(6);
      expect(peak).toBe(2);
    });
  });
}
