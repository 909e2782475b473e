import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewRun, Store } from '../../src/store/store.js';
import { storeFactories } from '../helpers/store.js';

function newRun(id: string, extra: Partial<NewRun> = {}): NewRun {
  return {
    id,
    tenantId: 'default',
    workflow: 'wf',
    specHash: 'h',
    spec: { name: 'wf', steps: { b: {}, a: {} } },
    status: 'running',
    input: { n: 1, nested: { list: [1, 'two'] } },
    output: null,
    error: null,
    priority: 3,
    createdAt: 1000,
    startedAt: 1100,
    finishedAt: null,
    deadlineAt: 9000,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: 'k',
    createdBy: 'ops',
    ...extra,
  };
}

function call(store: Store, id: string, runId: string, inputTokens: number, costUsd: number) {
  return store.recordCall({
    id,
    tenantId: 'default',
    runId,
    stepId: 'a',
    workflow: 'wf',
    group: 'smart',
    provider: 'up',
    model: id.endsWith('x') ? 'm-2' : 'm-1',
    inputTokens,
    outputTokens: 2 * inputTokens,
    costUsd,
    latencyMs: 5,
    outcome: 'ok',
    at: 2000,
  });
}

for (const factory of storeFactories) {
  describe(`run view (${factory.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory.open());
    });
    afterEach(() => cleanup());

    it('reads the run, its top-level steps, usage totals and whether it has children in one statement, as the single reads give them', async () => {
      await store.createRun(
        newRun('run_v'),
        [
          {
            runId: 'run_v',
            stepId: 'b',
            kind: 'transform',
            status: 'succeeded',
            output: { ok: true },
            meta: { rationale: 'x', flags: ['f'] },
            startedAt: 1200,
            finishedAt: 1300,
          },
          { runId: 'run_v', stepId: 'a', kind: 'map', status: 'pending' },
        ],
        async (tx) => {
          await tx.appendEvent('run.created', {});
        },
      );
      await store.withRun('run_v', (tx) => tx.insertItems('a', 'transform', ['x', 'y']));
      await store.createRun(newRun('run_child', { parentRunId: 'run_v', parentStepId: 'b', createdAt: 1500 }), [], async () => {});
      await call(store, 'c1', 'run_v', 10, 0.1);
      await call(store, 'c2x', 'run_v', 5, 0.2);
      await call(store, 'c3', 'run_child', 7, 1);

      const view = await store.runView('run_v');
      expect(view?.run).toEqual(await store.getRun('run_v'));
      const steps = await store.getSteps('run_v');
      expect(steps.map((s) => s.stepId)).toEqual(['a', 'b']);
      expect(view?.steps).toEqual(
        steps.map((s) => ({
          runId: s.runId,
          stepId: s.stepId,
          kind: s.kind,
          status: s.status,
          attempt: s.attempt,
          availableAt: s.availableAt,
          output: s.output,
          error: s.error,
          meta: s.meta,
          startedAt: s.startedAt,
          finishedAt: s.finishedAt,
          updatedAt: s.updatedAt,
        })),
      );
      expect(view?.hasChildren).toBe(true);
      expect(view?.usage.calls).toBe(2);
      expect(view?.usage.inputTokens).toBe(15);
      expect(view?.usage.outputTokens).toBe(30);
      expect(view?.usage.costUsd).toBeCloseTo(0.3, 10);

      const child = await store.runView('run_child');
      expect(child?.run).toEqual(await store.getRun('run_child'));
      expect(child).toMatchObject({ steps: [], hasChildren: false, usage: { calls: 1, inputTokens: 7, outputTokens: 14, costUsd: 1 } });
    });

    it('gives zero usage for a run without ledger records, and undefined for an unknown run', async () => {
      await store.createRun(
        newRun('run_q', { status: 'queued', startedAt: null }),
        [{ runId: 'run_q', stepId: 's', kind: 'transform', status: 'pending' }],
        async () => {},
      );
      expect(await store.runView('run_q')).toMatchObject({ hasChildren: false, usage: { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 } });
      expect(await store.runView('run_nope')).toBeUndefined();
    });

    it('says whether the run has artifacts, so that a run without any needs no second read', async () => {
      for (const id of ['run_art', 'run_none']) await store.createRun(newRun(id), [], async () => {});
      await store.artifacts.put({
        runId: 'run_art',
        tenantId: 'default',
        stepId: 'a',
        name: 'report.txt',
        contentType: 'text/plain',
        content: Buffer.from('done'),
        maxRunBytes: 1_000,
      });
      expect(await store.runView('run_art')).toMatchObject({ hasArtifacts: true, hasChildren: false });
      expect(await store.runView('run_none')).toMatchObject({ hasArtifacts: false });
    });
  });
}
