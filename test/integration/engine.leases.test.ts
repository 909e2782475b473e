import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { claimOf, eventsOf, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { LEASE_LOSS_ATTEMPTS } from '../../src/engine/failure.js';
import { AgentryError } from '../../src/lib/errors.js';

for (const factory of storeFactories) {
  describe(`engine leases (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('re-runs a step whose worker stopped renewing its lease, as a new attempt', async () => {
      t = await startTestEngine(factory, [{ name: 'one', steps: { a: { transform: 'done' } } }], {
        start: false,
        settings: { leaseTtlMs: 300 },
      });
      const run = await t.engine.startRun('one', {});
      // Another worker claims the step and then vanishes without a word.
      const claim = await claimOf(t.engine.transitions.startStep(run.id, 'a', 'wrk_gone', Date.now() + 300));
      expect(claim?.key.attempt).toBe(1);
      await t.engine.start();
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: { a: 'done' } });
      expect((await t.store.listAttempts(run.id)).map((a) => [a.attempt, a.status, a.workerId])).toEqual([
        [1, 'lease_expired', 'wrk_gone'],
        [2, 'succeeded', t.engine.workerId],
      ]);
      expect((await eventsOf(t.store, run.id)).some((e) => e.type === 'step.lease_expired' && e.stepId === 'a')).toBe(true);
    });

    it(`fails a step lease_expired once ${LEASE_LOSS_ATTEMPTS} attempts in a row lost their worker`, async () => {
      t = await startTestEngine(factory, [{ name: 'one', steps: { a: { transform: 'done' } } }], { start: false });
      const run = await t.engine.startRun('one', {});
      for (let i = 1; i <= LEASE_LOSS_ATTEMPTS; i++) {
        const claim = await claimOf(t.engine.transitions.startStep(run.id, 'a', `wrk_${i}`, Date.now() + 60_000));
        expect(claim?.key.attempt).toBe(i);
        expect(await t.engine.transitions.expireLease(claim!.key, true)).toBe(true);
      }
      const done = await t.engine.getRun(run.id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'lease_expired' });
      expect((await t.store.listAttempts(run.id)).map((a) => a.status)).toEqual(Array(LEASE_LOSS_ATTEMPTS).fill('lease_expired'));
    });

    it('queues a step released by its stopping worker at once, without counting the attempt against its retries', async () => {
      t = await startTestEngine(factory, [{ name: 'one', steps: { a: { transform: 'done', retry: { max_attempts: 2, initial: '10ms' } } } }], { start: false });
      const run = await t.engine.startRun('one', {});
      const first = await claimOf(t.engine.transitions.startStep(run.id, 'a', 'wrk_stopping', Date.now() + 60_000));
      expect(await t.engine.transitions.releaseStep(first!.key, 'wrk_other')).toBe(false);
      const before = Date.now();
      expect(await t.engine.transitions.releaseStep(first!.key, 'wrk_stopping')).toBe(true);
      const [step] = await t.store.getSteps(run.id);
      expect(step).toMatchObject({ status: 'queued', leaseOwner: null, leaseExpiresAt: null });
      expect(step!.availableAt).toBeLessThanOrEqual(Date.now());
      expect(step!.availableAt).toBeGreaterThanOrEqual(before);
      expect((await eventsOf(t.store, run.id)).filter((e) => e.type === 'step.released').map((e) => e.data)).toEqual([
        { attempt: 1, worker: 'wrk_stopping', duration_ms: expect.any(Number) as number },
      ]);
      // Attempt 2 fails: one failure of two allowed, so the step is retried.
      const second = await claimOf(t.engine.transitions.startStep(run.id, 'a', 'wrk_next', Date.now() + 60_000));
      expect(second?.key.attempt).toBe(2);
      await t.engine.transitions.failStep(second!.key, 'wrk_next', new AgentryError('http_error', 'flaky', { retryable: true }));
      expect((await t.store.getSteps(run.id))[0]).toMatchObject({ status: 'queued', attempt: 2 });
      expect((await t.store.listAttempts(run.id)).map((a) => [a.attempt, a.status])).toEqual([
        [1, 'released'],
        [2, 'failed'],
      ]);
    });

    it('drops the result of an attempt whose lease was taken over', async () => {
      t = await startTestEngine(factory, [{ name: 'one', steps: { a: { transform: 'done' } } }], { start: false });
      const run = await t.engine.startRun('one', {});
      const claim = await claimOf(t.engine.transitions.startStep(run.id, 'a', 'wrk_old', Date.now() + 60_000));
      expect(await t.engine.transitions.expireLease(claim!.key, true)).toBe(true);
      const late = await t.engine.transitions.completeStep(claim!.key, 'wrk_old', { kind: 'output', output: 'late' });
      expect(late).toBe(false);
      const steps = await t.store.getSteps(run.id);
      expect(steps[0]).toMatchObject({ status: 'queued', output: null });
      expect((await eventsOf(t.store, run.id)).filter((e) => e.type === 'step.succeeded')).toEqual([]);
    });
  });
}
