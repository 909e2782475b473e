import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { localOperator } from '../../src/app/caller.js';
import type { RetentionSettings } from '../../src/app/config.js';
import { RetentionService, retentionTask } from '../../src/app/retention.js';
import { compileAll, silentLogger } from '../helpers/engine.js';
import type { CompiledWorkflow } from '../../src/spec/model.js';
import type { NewRun, Store } from '../../src/store/store.js';
import type { RunStatus } from '../../src/types.js';
import { NO_RETENTION, storeFactories } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-06-01T00:00:00Z');

function run(id: string, status: RunStatus, endedDaysAgo: number | null, extra: Partial<NewRun> = {}): NewRun {
  const at = NOW - (endedDaysAgo ?? 100) * DAY;
  return {
    id,
    tenantId: 'default',
    workflow: 'wf',
    specHash: 'h',
    spec: { name: 'wf' },
    status,
    input: {},
    output: null,
    error: null,
    priority: 0,
    createdAt: at - 1000,
    startedAt: at - 1000,
    finishedAt: endedDaysAgo === null ? null : at,
    deadlineAt: null,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: null,
    createdBy: 'ops',
    ...extra,
  };
}

/** A run with a step, a journal entry, an event, an idempotency key and an LLM call in the ledger. */
let clock = NOW;

/** Seeded at the run's own time (events, keys and ledger records are stamped by the store's clock). */
async function seed(store: Store, r: NewRun): Promise<void> {
  clock = r.createdAt;
  await store.createRun(r, [{ runId: r.id, stepId: 's1', kind: 'transform', status: 'succeeded' }], (tx) => tx.appendEvent('run.created', {}), {
    key: `key-${r.id}`,
    requestHash: 'x',
  });
  await store.appendJournal(r.id, 's1', { key: 'turn:1', data: { n: 1 } });
  await store.recordCall({
    id: `call-${r.id}`,
    tenantId: 'default',
    runId: r.id,
    stepId: 's1',
    workflow: r.workflow,
    group: 'g',
    provider: 'mock',
    model: 'm',
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.01,
    latencyMs: 1,
    outcome: 'ok',
    at: r.createdAt,
  });
  clock = NOW;
}

function workflowWithRetention(name: string, retention: Record<string, string>): CompiledWorkflow {
  const wf = compileAll([{ version: 'v1', name, retention, steps: { a: { transform: { output: 1 } } } }]).get(name);
  if (!wf) throw new Error(`no workflow ${name}`);
  return wf;
}

for (const factory of storeFactories) {
  describe(`retention (${factory.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let retention: RetentionService;

    beforeEach(async () => {
      ({ store, cleanup } = await factory.open({ now: () => clock }));
      retention = new RetentionService(store, new AuditService(store, () => NOW), () => NOW, 2);
    });
    afterEach(() => cleanup());

    it('prunes old ended runs with every row, keeps the LLM ledger, and never touches unended runs or parents of unended children', async () => {
      await seed(store, run('old_ok', 'succeeded', 40));
      await seed(store, run('old_failed', 'failed', 40));
      await seed(store, run('old_timed_out', 'timed_out', 40));
      await seed(store, run('recent_ok', 'succeeded', 5));
      await seed(store, run('running', 'running', null));
      await seed(store, run('parent', 'succeeded', 40));
      await seed(store, run('child', 'running', null, { parentRunId: 'parent', parentStepId: 's1' }));
      await seed(store, run('ended_child', 'succeeded', 40, { parentRunId: 'running', parentStepId: 's1' }));

      const dry = await retention.prune({ olderThanMs: 30 * DAY, dryRun: true }, localOperator({}));
      expect(dry).toMatchObject({ runs: 3, dry_run: true });
      expect(await store.getRun('old_ok')).toBeDefined();

      const result = await retention.prune({ olderThanMs: 30 * DAY }, localOperator({}));
      expect(result.runs).toBe(3);
      for (const id of ['old_ok', 'old_failed', 'old_timed_out']) {
        expect(await store.getRun(id)).toBeUndefined();
        expect(await store.getSteps(id)).toEqual([]);
        expect(await store.listEvents(id, 0, 100)).toEqual([]);
        expect(await store.findIdempotencyKey('default', 'ops', `key-${id}`)).toBeUndefined();
        expect(await store.loadJournal(id, 's1')).toEqual([]);
        // usage history outlives the run
        expect((await store.spent({ scope: 'run', runId: id })).tokens).toBe(15);
      }
      for (const id of ['recent_ok', 'running', 'parent', 'child', 'ended_child']) {
        expect((await store.getRun(id))?.id).toBe(id);
        expect(await store.getSteps(id)).toHaveLength(1);
      }
      const entries = await store.listAudit({ limit: 10 });
      expect(entries.items.find((e) => e.action === 'runs.prune')?.details).toMatchObject({ runs: 3, dry_run: false });
    });

    it('prunes only the given statuses and workflow', async () => {
      await seed(store, run('ok_a', 'succeeded', 40, { workflow: 'a' }));
      await seed(store, run('ok_b', 'succeeded', 40, { workflow: 'b' }));
      await seed(store, run('failed_a', 'failed', 40, { workflow: 'a' }));
      expect((await retention.prune({ olderThanMs: DAY, statuses: ['succeeded'], workflow: 'a' }, localOperator({}))).runs).toBe(1);
      expect(await store.getRun('ok_a')).toBeUndefined();
      expect(await store.getRun('ok_b')).toBeDefined();
      expect(await store.getRun('failed_a')).toBeDefined();
    });

    it("applies the deployment's windows in batches, a workflow's retention overriding them, and expires idempotency keys", async () => {
      for (let i = 0; i < 5; i++) await seed(store, run(`g${i}`, 'succeeded', 40));
      await seed(store, run('g_recent', 'succeeded', 20));
      await seed(store, run('g_failed', 'failed', 40));
      await seed(store, run('keep_long', 'succeeded', 40, { workflow: 'audited' }));
      await seed(store, run('short', 'succeeded', 3, { workflow: 'brief' }));
      await seed(store, run('events_only', 'failed', 10));
      await seed(store, run('live', 'running', null));
      const workflows = [workflowWithRetention('audited', { succeeded: '365d' }), workflowWithRetention('brief', { succeeded: '1d' })];
      const settings: RetentionSettings = { ...NO_RETENTION, succeededMs: 30 * DAY, eventsMs: 7 * DAY, idempotencyKeysMs: 15 * DAY };

      const counts = await retention.apply(settings, workflows);
      // batches of 2: all five old runs of the deployment's window go in one turn, plus `brief`'s
      expect(counts.runs).toBe(6);
      for (let i = 0; i < 5; i++) expect(await store.getRun(`g${i}`)).toBeUndefined();
      expect(await store.getRun('short')).toBeUndefined();
      expect(await store.getRun('keep_long')).toBeDefined();
      expect(await store.getRun('g_recent')).toBeDefined();
      expect(await store.getRun('g_failed')).toBeDefined(); // no failed window
      // events of ended runs older than 7 days go; the runs stay
      expect(await store.listEvents('events_only', 0, 100)).toEqual([]);
      expect(await store.getRun('events_only')).toBeDefined();
      expect(await store.listEvents('g_recent', 0, 100)).toEqual([]);
      expect(await store.listEvents('live', 0, 100)).toHaveLength(1);
      // idempotency keys older than 15 days: created 100 days ago for `live`, 21 for g_recent
      expect(await store.findIdempotencyKey('default', 'ops', 'key-live')).toBeUndefined();
      expect(await store.findIdempotencyKey('default', 'ops', 'key-g_recent')).toBeUndefined();
      expect(counts.idempotency_keys).toBeGreaterThan(0);
      expect((await store.listAudit({ limit: 10 })).items.find((e) => e.action === 'runs.retention')?.principal).toBe('system');

      // a second turn finds nothing more
      expect(await retention.apply(settings, workflows)).toMatchObject({ runs: 0, events: 0 });
    });

    it('as a maintenance task, tells its observer what each turn deleted', async () => {
      await seed(store, run('old', 'succeeded', 40));
      await seed(store, run('kept', 'failed', 40));
      const told: Array<[string, number]> = [];
      const task = retentionTask(retention, { ...NO_RETENTION, succeededMs: DAY, idempotencyKeysMs: 50 * DAY }, [], silentLogger, {
        retentionPruned: (kind, n) => told.push([kind, n]),
      });
      await task.run();
      expect(told).toEqual([
        ['runs', 1],
        ['events', 0],
        ['idempotency_keys', 0],
        ['memory', 0],
      ]);
      expect(await store.getRun('old')).toBeUndefined();
      expect(await store.getRun('kept')).toBeDefined();
    });
  });
}
