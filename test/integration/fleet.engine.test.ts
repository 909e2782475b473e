/**
 * The fleet on every store, in one process: a drained worker claims nothing from the request's
 * commit on, finishes its running step and stops; maintenance mode keeps every worker from
 * starting a step across many polls and heartbeats, and turning it off lets the run finish;
 * the worker list shows the steps each worker holds and its state; the switches are audited.
 * Migrations record when and how long each took. Processes and the CLI: test/e2e/fleet.*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { localOperator } from '../../src/app/caller.js';
import { FleetService } from '../../src/app/fleet.js';
import type { Engine } from '../../src/engine/engine.js';
import { defaultExecutors } from '../../src/runtime/registry.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { engineOn, eventually, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { storeFactories, tempDir } from '../helpers/store.js';

const cli = localOperator({ USER: 'ops' });

/** `transform: { gate: true }` blocks until `release()`; any other transform answers at once. */
function gated(): { executor: StepExecutor; started: () => number; release: () => void } {
  let calls = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const executor: StepExecutor = {
    kind: 'transform',
    async execute(config) {
      calls++;
      if ((config as { gate?: boolean }).gate === true) await gate;
      return { kind: 'output', output: { ok: true } };
    },
  };
  return { executor, started: () => calls, release: () => open() };
}

const GATED = { name: 'gated', steps: { hold: { transform: { gate: true } }, after: { needs: ['hold'], transform: { gate: false } } } };
const QUICK = { name: 'quick', steps: { one: { transform: { gate: false } } } };

function fleetOf(store: Store): FleetService {
  return new FleetService({ store, audit: new AuditService(store), staleAfterMs: 6_000, deploymentTenant: 'default' });
}

/** Resolves once every listed worker's heartbeat has moved `beats` times (each beat: many polls at 50 ms). */
async function heartbeatsPass(store: Store, workerIds: string[], beats: number): Promise<void> {
  const seen = new Map<string, number[]>();
  await eventually(
    async () => {
      const rows = await store.listWorkers();
      for (const id of workerIds) {
        const at = rows.find((w) => w.id === id)?.heartbeatAt;
        const list = seen.get(id) ?? [];
        if (at !== undefined && list.at(-1) !== at) list.push(at);
        seen.set(id, list);
      }
      return workerIds.every((id) => (seen.get(id)?.length ?? 0) > beats) ? true : undefined;
    },
    30_000,
    `${beats} heartbeats of ${workerIds.join(', ')}`,
  );
}

describe.each(storeFactories)('the fleet on $name', (factory) => {
  let t: TestEngine | undefined;
  const others: Engine[] = [];
  afterEach(async () => {
    for (const engine of others.splice(0)) await engine.stop();
    await t?.cleanup();
    t = undefined;
  });

  it('records when each migration was applied and how long it took', async () => {
    t = await startTestEngine(factory, [QUICK], { start: false });
    const history = await t.store.migrationHistory();
    expect(history.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    for (const m of history) {
      expect(m.appliedAt, `migration ${m.version}`).toBeGreaterThan(Date.parse('2024-01-01'));
      expect(m.durationMs, `migration ${m.version}`).toEqual(expect.any(Number));
    }
    expect(await t.store.schemaState()).toEqual({ current: MIGRATIONS.at(-1)!.version, latest: MIGRATIONS.at(-1)!.version });
  });

  it('drains a worker: it claims nothing from the request on, finishes its running step, hands nothing back and stops', async () => {
    const gate = gated();
    const executors = [gate.executor, ...defaultExecutors().filter((e) => e.kind !== 'transform')];
    t = await startTestEngine(factory, [GATED, QUICK], { executors, settings: { leaseTtlMs: 1_500 } });
    const { engine, store } = t;
    const held = await engine.startRun('gated', {});
    await eventually(() => Promise.resolve(gate.started() === 1 ? true : undefined), 10_000, 'the gated step to start');
    const drained = new Promise<void>((resolve) => engine.onDrained(resolve));
    const fleet = fleetOf(store);

    const before = (await fleet.list(cli)).items.find((w) => w.id === engine.workerId);
    expect(before).toMatchObject({ state: 'active', current_steps: 1, roles: ['worker', 'scheduler'] });
    const draining = await fleet.drain(cli, engine.workerId);
    expect(draining).toMatchObject({ id: engine.workerId, state: 'draining', current_steps: 1 });
    expect(draining.drain_requested_at).not.toBeNull();
    // From the request's commit on, the claim loop finds nothing for this worker.
    const later = await engine.startRun('quick', {});
    await eventually(() => Promise.resolve(engine.draining ? true : undefined), 10_000, 'the heartbeat to see the drain');
    expect(engine.loops().worker?.state).toBe('stopping');

    gate.release();
    await drained;
    // The running step finished on this worker (not handed back); nothing else was claimed.
    expect(gate.started()).toBe(1);
    const attempts = await store.listAttempts(held.id);
    expect(attempts.map((a) => [a.stepId, a.status, a.workerId])).toEqual([['hold', 'succeeded', engine.workerId]]);
    expect((await store.getSteps(later.id)).map((s) => s.status)).toEqual(['queued']);
    expect(Object.fromEntries((await store.getSteps(held.id)).map((s) => [s.stepId, s.status]))).toEqual({ hold: 'succeeded', after: 'queued' });
    expect((await store.listWorkers()).map((w) => w.id)).not.toContain(engine.workerId);

    // Another worker takes over what was left.
    const next = await engineOn(store, [GATED, QUICK]);
    others.push(next);
    expect((await next.waitForRun(held.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    expect((await next.waitForRun(later.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    expect((await store.listAttempts(later.id)).map((a) => a.workerId)).toEqual([next.workerId]);
  });

  it('stops claiming at once on stop (SIGTERM), and hands back the step still running after the shutdown grace', async () => {
    const gate = gated();
    const executors = [gate.executor, ...defaultExecutors().filter((e) => e.kind !== 'transform')];
    t = await startTestEngine(factory, [GATED, QUICK], { executors, settings: { shutdownGraceMs: 300 } });
    const { engine, store } = t;
    const held = await engine.startRun('gated', {});
    await eventually(() => Promise.resolve(gate.started() === 1 ? true : undefined), 10_000, 'the gated step to start');
    const stopped = engine.stop();
    const later = await engine.startRun('quick', {});
    await stopped;
    gate.release();
    expect(gate.started()).toBe(1);
    expect((await store.listAttempts(held.id)).map((a) => [a.stepId, a.status])).toEqual([['hold', 'released']]);
    expect((await store.getSteps(held.id)).find((s) => s.stepId === 'hold')).toMatchObject({ status: 'queued', leaseOwner: null });
    expect(await store.listAttempts(later.id)).toEqual([]);
    expect((await store.getSteps(later.id)).map((s) => s.status)).toEqual(['queued']);
  });

  it('keeps every worker from starting a step in maintenance mode, across many polls and heartbeats; off, the run finishes', async () => {
    t = await startTestEngine(factory, [QUICK], { settings: { leaseTtlMs: 1_500 } });
    const second = await engineOn(t.store, [QUICK], { leaseTtlMs: 1_500 });
    others.push(second);
    const fleet = fleetOf(t.store);
    const ids = [t.engine.workerId, second.workerId];

    expect(await fleet.startMaintenance(cli, 'upgrade to 2.0')).toMatchObject({ on: true, reason: 'upgrade to 2.0', by: 'ops' });
    const run = await t.engine.startRun('quick', {});
    // Polls every 50 ms; three heartbeats of each worker are dozens of polls of each.
    await heartbeatsPass(t.store, ids, 3);
    expect((await t.store.getRun(run.id))?.status).toBe('queued');
    expect((await t.store.getSteps(run.id)).map((s) => s.status)).toEqual(['queued']);
    expect(await t.store.listAttempts(run.id)).toEqual([]);
    // Each worker's heartbeat read the mode too.
    for (const engine of [t.engine, second]) expect(engine.maintenance).toMatchObject({ reason: 'upgrade to 2.0', startedBy: 'ops' });

    expect(await fleet.endMaintenance(cli)).toEqual({ on: false, quiesce: false, reason: null, since: null, by: null });
    expect((await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    await eventually(
      () => Promise.resolve(t!.engine.maintenance === null && second.maintenance === null ? true : undefined),
      10_000,
      'the heartbeats to see it off',
    );
  });

  it('lists workers with their state: active, draining, stale; drains an unknown id as not_found', async () => {
    t = await startTestEngine(factory, [QUICK], { start: false });
    const { store } = t;
    const now = Date.now();
    const base = { host: 'h', pid: 1, roles: ['worker'], concurrency: 4, startedAt: now - 60_000 };
    await store.upsertWorker({ ...base, id: 'wrk_active', heartbeatAt: now });
    await store.upsertWorker({ ...base, id: 'wrk_stale', heartbeatAt: now - 60_000 });
    await store.upsertWorker({ ...base, id: 'wrk_drained', heartbeatAt: now });
    const fleet = fleetOf(store);
    await fleet.drain(cli, 'wrk_drained');
    // A second drain changes nothing (the first request's time stays).
    const first = (await fleet.list(cli)).items.find((w) => w.id === 'wrk_drained')!.drain_requested_at;
    expect((await fleet.drain(cli, 'wrk_drained')).drain_requested_at).toBe(first);
    // A heartbeat keeps the request, and reads it back.
    expect(await store.upsertWorker({ ...base, id: 'wrk_drained', heartbeatAt: now + 1 })).toBe(Date.parse(first!));
    const states = Object.fromEntries((await fleet.list(cli)).items.map((w) => [w.id, w.state]));
    expect(states).toEqual({ wrk_active: 'active', wrk_stale: 'stale', wrk_drained: 'draining' });

    await expect(fleet.drain(cli, 'wrk_nope')).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('wrk_active') });
    const entries = (await store.listAudit({ action: 'worker.drain', limit: 10 })).items;
    expect(entries.map((e) => [e.target, e.outcome])).toEqual([
      ['worker:wrk_nope', 'denied'],
      ['worker:wrk_drained', 'success'],
      ['worker:wrk_drained', 'success'],
    ]);
  });

  it('switches maintenance mode on and off, keeps its start when only the reason changes, and audits each switch', async () => {
    t = await startTestEngine(factory, [QUICK], { start: false });
    const fleet = fleetOf(t.store);
    expect(await fleet.maintenance(cli)).toEqual({ on: false, quiesce: false, reason: null, since: null, by: null });
    const on = await fleet.startMaintenance(cli, 'restore');
    const again = await fleet.startMaintenance(localOperator({ USER: 'other' }), 'restore, step 2');
    expect(again).toEqual({ on: true, quiesce: false, reason: 'restore, step 2', since: on.since, by: 'ops' });
    await expect(fleet.startMaintenance(cli, 'x'.repeat(501))).rejects.toMatchObject({ code: 'invalid_request' });
    expect((await fleet.maintenance(cli)).reason).toBe('restore, step 2');
    await fleet.endMaintenance(cli);
    await fleet.endMaintenance(cli);
    expect(await t.store.getMaintenance()).toBeNull();
    const entries = (await t.store.listAudit({ limit: 20 })).items.filter((e) => e.action.startsWith('maintenance.'));
    expect(entries.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['maintenance.off', 'success', { was_on: false }],
      ['maintenance.off', 'success', { was_on: true, quiesce: false, since: on.since, by: 'ops', reason: 'restore, step 2' }],
      ['maintenance.on', 'denied', { error: 'invalid_request' }],
      ['maintenance.on', 'success', { reason: 'restore, step 2', quiesce: false }],
      ['maintenance.on', 'success', { reason: 'restore', quiesce: false }],
    ]);
  });
});

describe('the schema of a database nothing was applied to', () => {
  it('reads as version 0 without creating a table, and shows migrations applied before durations were recorded without one', async () => {
    const { dir, remove } = tempDir();
    const store = openSqliteStore(`${dir}/agentry.db`);
    try {
      expect(await store.schemaState()).toEqual({ current: 0, latest: MIGRATIONS.at(-1)!.version });
      expect(await store.migrationHistory()).toEqual([]);
      // Still empty: reading created nothing (a migration would now start from 1).
      await store.migrate({ to: 15 });
      expect((await store.migrationHistory())[0]).toMatchObject({ version: 1 });
      const report = await store.migrate();
      expect(report).toMatchObject({ from: 15, applied: MIGRATIONS.filter((m) => m.version > 15).map((m) => m.version) });
      const history = await store.migrationHistory();
      expect(history.filter((m) => m.version <= 15).map((m) => m.durationMs)).toEqual(Array(15).fill(null));
      expect(history.find((m) => m.version === 16)?.durationMs).toEqual(expect.any(Number));
    } finally {
      await store.close();
      remove();
    }
  });
});
