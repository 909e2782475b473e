import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.js';
import { IdempotencyKeyUsed, type NewRun, type Store } from '../../src/store/store.js';
import { AgentryError } from '../../src/lib/errors.js';
import { storeFactories, tempDir } from '../helpers/store.js';

function newRun(id: string, createdAt: number, extra: Partial<NewRun> = {}): NewRun {
  return {
    id,
    tenantId: 'default',
    workflow: 'wf',
    specHash: 'h',
    spec: { name: 'wf' },
    status: 'queued',
    input: { n: 1 },
    output: null,
    error: null,
    priority: 0,
    createdAt,
    startedAt: null,
    finishedAt: null,
    deadlineAt: null,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: null,
    createdBy: null,
    ...extra,
  };
}

for (const factory of storeFactories) {
  describe(`store (${factory.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory.open());
    });
    afterEach(() => cleanup());

    it('applies every migration once and reports the schema as current', async () => {
      expect(await store.schemaState()).toEqual({ current: LATEST_SCHEMA_VERSION, latest: LATEST_SCHEMA_VERSION });
      const again = await store.migrate();
      expect(again.applied).toEqual([]);
    });

    it('creates a run with its steps and numbers its events from 1 without gaps', async () => {
      await store.createRun(newRun('run_a', 1000), [{ runId: 'run_a', stepId: 's1', kind: 'transform', status: 'pending' }], async (tx) => {
        await tx.appendEvent('run.created', { workflow: 'wf' });
        await tx.appendEvent('step.queued', {}, 's1');
      });
      await store.withRun('run_a', (tx) => tx.appendEvent('step.started', { attempt: 1 }, 's1'));
      const events = await store.listEvents('run_a', 0, 100);
      expect(events.map((e) => [e.seq, e.type, e.stepId])).toEqual([
        [1, 'run.created', null],
        [2, 'step.queued', 's1'],
        [3, 'step.started', 's1'],
      ]);
      expect((await store.listEvents('run_a', 2, 100)).map((e) => e.seq)).toEqual([3]);
      expect((await store.getRun('run_a'))?.eventSeq).toBe(3);
    });

    it("reads one step's ledger records (failed attempts too, oldest first) and its journal with the time of each entry", async () => {
      await store.createRun(newRun('run_j', 1000), [{ runId: 'run_j', stepId: 'ask', kind: 'agent', status: 'pending' }], async () => {});
      const call = (id: string, stepId: string, at: number, outcome: 'ok' | 'error' = 'ok') =>
        store.recordCall({
          id,
          tenantId: 'default',
          runId: 'run_j',
          stepId,
          workflow: 'wf',
          group: 'smart',
          provider: 'up',
          model: 'm-1',
          inputTokens: 12,
          outputTokens: 34,
          costUsd: 0.25,
          latencyMs: 56,
          outcome,
          ...(outcome === 'error' ? { errorCode: 'provider_unavailable' } : {}),
          at,
        });
      await call('call_2', 'ask', 2000);
      await call('call_1', 'ask', 1500, 'error');
      await call('call_other', 'other', 1800);
      expect(await store.stepCalls('run_j', 'ask')).toEqual([
        expect.objectContaining({ id: 'call_1', outcome: 'error', errorCode: 'provider_unavailable', at: 1500 }),
        {
          id: 'call_2',
          tenantId: 'default',
          runId: 'run_j',
          stepId: 'ask',
          workflow: 'wf',
          group: 'smart',
          provider: 'up',
          model: 'm-1',
          inputTokens: 12,
          outputTokens: 34,
          costUsd: 0.25,
          latencyMs: 56,
          outcome: 'ok',
          at: 2000,
        },
      ]);
      await store.appendJournal('run_j', 'ask', { key: 'model:1', data: { n: 1 } });
      const [entry] = await store.loadJournal('run_j', 'ask');
      expect(entry).toEqual({ key: 'model:1', data: { n: 1 }, at: expect.any(Number) });
      expect(entry!.at).toBeGreaterThan(0);
    });

    it('rolls back every change of a transition that throws', async () => {
      await store.createRun(newRun('run_b', 1000), [{ runId: 'run_b', stepId: 's1', kind: 'transform', status: 'pending' }], async () => {});
      await expect(
        store.withRun('run_b', async (tx) => {
          await tx.updateRun({ status: 'running' });
          await tx.appendEvent('run.started');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await store.getRun('run_b'))?.status).toBe('queued');
      expect(await store.listEvents('run_b', 0, 10)).toEqual([]);
    });

    it('applies a guarded step update only when every guard holds', async () => {
      await store.createRun(newRun('run_c', 1000), [{ runId: 'run_c', stepId: 's1', kind: 'http', status: 'running' }], async (tx) => {
        await tx.updateStep('s1', { attempt: 2, leaseOwner: 'w1', leaseExpiresAt: 5000 });
      });
      const results = await store.withRun('run_c', async (tx) => [
        await tx.updateStep('s1', { status: 'succeeded' }, { status: ['running'], attempt: 1, leaseOwner: 'w1' }),
        await tx.updateStep('s1', { status: 'succeeded' }, { status: ['running'], attempt: 2, leaseOwner: 'w2' }),
        await tx.updateStep('s1', { status: 'succeeded', output: { ok: true } }, { status: ['running'], attempt: 2, leaseOwner: 'w1' }),
        await tx.updateStep('s1', { status: 'failed' }, { status: ['running'] }),
      ]);
      expect(results).toEqual([false, false, true, false]);
      const [step] = await store.getSteps('run_c');
      expect(step).toMatchObject({ status: 'succeeded', output: { ok: true }, attempt: 2 });
    });

    it('keeps one attempt row per step and attempt number', async () => {
      await store.createRun(newRun('run_d', 1000), [{ runId: 'run_d', stepId: 's1', kind: 'http', status: 'running' }], async () => {});
      const attempt = {
        runId: 'run_d',
        stepId: 's1',
        attempt: 1,
        status: 'running' as const,
        workerId: 'w',
        input: null,
        output: null,
        error: null,
        startedAt: 1,
        finishedAt: null,
      };
      await store.withRun('run_d', (tx) => tx.insertAttempt(attempt));
      await expect(store.withRun('run_d', (tx) => tx.insertAttempt(attempt))).rejects.toThrow();
      expect(await store.listAttempts('run_d')).toHaveLength(1);
    });

    it('lists due steps best priority first and earliest first, and reports the next due time', async () => {
      await store.createRun(
        newRun('run_e', 1000),
        [
          { runId: 'run_e', stepId: 'late', kind: 'sleep', status: 'pending' },
          { runId: 'run_e', stepId: 'now', kind: 'sleep', status: 'pending' },
          { runId: 'run_e', stepId: 'future', kind: 'sleep', status: 'pending' },
        ],
        async (tx) => {
          await tx.updateStep('late', { status: 'queued', availableAt: 200 });
          await tx.updateStep('now', { status: 'waiting', availableAt: 100 });
          await tx.updateStep('future', { status: 'queued', availableAt: 10_000 });
        },
      );
      expect(await store.dueSteps(500, 10)).toEqual([
        { runId: 'run_e', stepId: 'now', priority: 0 },
        { runId: 'run_e', stepId: 'late', priority: 0 },
      ]);
      expect(await store.nextDueAt()).toBe(100);
    });

    it('renews only the leases the worker still holds and finds lapsed ones', async () => {
      await store.createRun(
        newRun('run_f', 1000),
        [
          { runId: 'run_f', stepId: 'a', kind: 'http', status: 'running' },
          { runId: 'run_f', stepId: 'b', kind: 'http', status: 'running' },
        ],
        async (tx) => {
          await tx.updateStep('a', { attempt: 1, leaseOwner: 'w1', leaseExpiresAt: 100 });
          await tx.updateStep('b', { attempt: 1, leaseOwner: 'w2', leaseExpiresAt: 100 });
        },
      );
      const held = await store.renewLeases(
        'w1',
        [
          { runId: 'run_f', stepId: 'a', attempt: 1 },
          { runId: 'run_f', stepId: 'b', attempt: 1 },
        ],
        9_000,
      );
      expect(held).toEqual([{ runId: 'run_f', stepId: 'a', attempt: 1 }]);
      expect(await store.expiredLeases(500, 10)).toEqual([{ runId: 'run_f', stepId: 'b', attempt: 1, leaseOwner: 'w2' }]);
      expect(await store.leasesOf('w1')).toEqual([{ runId: 'run_f', stepId: 'a', attempt: 1 }]);
    });

    it('pages through runs newest first with a cursor and filters by status and workflow', async () => {
      for (let i = 0; i < 5; i++) {
        await store.createRun(newRun(`run_${i}`, 1000 + i, { status: i % 2 ? 'succeeded' : 'queued', workflow: i < 4 ? 'wf' : 'other' }), [], async () => {});
      }
      const first = await store.listRuns({ limit: 2 });
      expect(first.items.map((r) => r.id)).toEqual(['run_4', 'run_3']);
      const second = await store.listRuns({ limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((r) => r.id)).toEqual(['run_2', 'run_1']);
      const third = await store.listRuns({ limit: 2, cursor: second.nextCursor! });
      expect(third.items.map((r) => r.id)).toEqual(['run_0']);
      expect(third.nextCursor).toBeNull();
      expect((await store.listRuns({ limit: 10, status: ['queued'], workflow: 'wf' })).items.map((r) => r.id)).toEqual(['run_2', 'run_0']);
      await expect(store.listRuns({ limit: 2, cursor: 'garbage' })).rejects.toMatchObject({ code: 'invalid_request' });
    });

    it('records who started a run, and lists the runs one principal started', async () => {
      await store.createRun(newRun('run_mine', 1000, { createdBy: 'ci' }), [], async () => {});
      await store.createRun(newRun('run_theirs', 1001, { createdBy: 'other' }), [], async () => {});
      await store.createRun(newRun('run_old', 1002), [], async () => {});
      expect((await store.getRun('run_mine'))?.createdBy).toBe('ci');
      expect((await store.getRun('run_old'))?.createdBy).toBeNull();
      expect((await store.listRuns({ limit: 10, createdBy: 'ci' })).items.map((r) => r.id)).toEqual(['run_mine']);
      expect((await store.listRuns({ limit: 10 })).items.map((r) => r.id)).toEqual(['run_old', 'run_theirs', 'run_mine']);
    });

    it('finds unfinished runs past their deadline', async () => {
      await store.createRun(newRun('run_late', 1000, { deadlineAt: 2000 }), [], async () => {});
      await store.createRun(newRun('run_done', 1000, { deadlineAt: 2000, status: 'succeeded' }), [], async () => {});
      await store.createRun(newRun('run_ok', 1000, { deadlineAt: 9000 }), [], async () => {});
      expect(await store.overdueRuns(3000, 10)).toEqual(['run_late']);
    });

    it('records an idempotency key with its run, and refuses the key a second time without creating anything', async () => {
      await store.createRun(newRun('run_i1', 1000), [], async () => {}, { key: 'k1', requestHash: 'h1' });
      expect(await store.findIdempotencyKey('default', '', 'k1')).toMatchObject({ runId: 'run_i1', requestHash: 'h1', principal: '' });
      const error = await store.createRun(newRun('run_i2', 1001), [], async () => {}, { key: 'k1', requestHash: 'h2' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IdempotencyKeyUsed);
      expect((error as IdempotencyKeyUsed).record.runId).toBe('run_i1');
      expect(await store.getRun('run_i2')).toBeUndefined();
      expect(await store.findIdempotencyKey('other-tenant', '', 'k1')).toBeUndefined();
    });

    it('keeps idempotency keys per tenant and starter: another starter of the tenant may use the same key', async () => {
      await store.createRun(newRun('run_p1', 1000, { createdBy: 'alice' }), [], async () => {}, { key: 'same', requestHash: 'h1' });
      await store.createRun(newRun('run_p2', 1001, { createdBy: 'bob' }), [], async () => {}, { key: 'same', requestHash: 'h2' });
      expect(await store.findIdempotencyKey('default', 'alice', 'same')).toMatchObject({ runId: 'run_p1', principal: 'alice' });
      expect(await store.findIdempotencyKey('default', 'bob', 'same')).toMatchObject({ runId: 'run_p2', principal: 'bob' });
      expect(await store.findIdempotencyKey('default', 'carol', 'same')).toBeUndefined();
      const again = await store
        .createRun(newRun('run_p3', 1002, { createdBy: 'alice' }), [], async () => {}, { key: 'same', requestHash: 'h3' })
        .catch((e: unknown) => e);
      expect((again as IdempotencyKeyUsed).record.runId).toBe('run_p1');
      expect(await store.getRun('run_p3')).toBeUndefined();
    });

    it('records workers and their heartbeats', async () => {
      const worker = { id: 'wrk_1', host: 'h', pid: 1, roles: ['worker'], concurrency: 4, startedAt: 1, heartbeatAt: 2 };
      expect(await store.upsertWorker(worker)).toBeNull();
      expect(await store.upsertWorker({ ...worker, heartbeatAt: 3 })).toBeNull();
      expect(await store.listWorkers()).toEqual([{ ...worker, heartbeatAt: 3, drainRequestedAt: null }]);
      await store.removeWorker('wrk_1');
      expect(await store.listWorkers()).toEqual([]);
    });
  });
}

describe('sqlite migrations', () => {
  it('refuses a database whose schema is newer than this build, saying what to do', async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, 'a.db');
      const store = openSqliteStore(file);
      await store.migrate();
      await store.close();
      const raw = new Database(file);
      raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'future', 0);
      raw.close();
      const again = openSqliteStore(file);
      const error = await again.migrate().catch((e: unknown) => e);
      await again.close();
      expect(error).toBeInstanceOf(AgentryError);
      expect(error).toMatchObject({ code: 'schema_too_new' });
      expect((error as Error).message).toMatch(/newer than this build.*restore the backup/);
    } finally {
      remove();
    }
  });

  it('reports a failed migration as migration_failed and leaves none of it applied', async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, 'b.db');
      const raw = new Database(file);
      // A table in the way makes migration 1 fail half-way through its statements.
      raw.exec('CREATE TABLE events (x INTEGER)');
      raw.close();
      const store = openSqliteStore(file);
      const error = await store.migrate().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'migration_failed' });
      expect((error as Error).message).toMatch(/migration 1 .* failed/);
      expect(await store.schemaState()).toEqual({ current: 0, latest: LATEST_SCHEMA_VERSION });
      await store.close();
      const check = new Database(file, { readonly: true });
      const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'runs'").all();
      check.close();
      expect(tables).toEqual([]);
    } finally {
      remove();
    }
  });
});
