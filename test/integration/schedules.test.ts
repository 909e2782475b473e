/**
 * Workflow schedules on every store: exactly one run per tick with several schedulers,
 * overlap, pause/resume, catch-up after downtime.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, type EngineRole } from '../../src/engine/engine.js';
import { fireDueSchedules, nextTick, pauseSchedule, resumeSchedule, syncSchedules, tickKey, type ScheduleContext } from '../../src/engine/schedules.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import type { CompiledWorkflow } from '../../src/spec/model.js';
import type { Store } from '../../src/store/store.js';
import type { RunRecord } from '../../src/types.js';
import { clientEngine, compileAll, silentLogger } from '../helpers/engine.js';
import { storeFactories } from '../helpers/store.js';

const at = (iso: string) => Date.parse(iso);

/** A workflow that runs every `cron`, with a step that finishes at once. */
function scheduled(name: string, schedule: Record<string, unknown>): Record<string, unknown> {
  return { name, schedule, steps: { report: { transform: { tick: '{{ input.kind }}' } } } };
}

async function runsOf(store: Store, workflow: string): Promise<RunRecord[]> {
  return (await store.listRuns({ workflow, limit: 200 })).items;
}

/**
 * The tick of each run, found through the idempotency keys of the ticks from `from` to `to`
 * (one key per tick); throws when a run belongs to no tick.
 */
async function ticksOfRuns(store: Store, workflow: string, cron: string, from: number, to: number): Promise<Map<string, number>> {
  const tickOf = new Map<string, number>();
  for (let tick = nextTick(cron, 'UTC', from - 1); tick !== null && tick <= to; tick = nextTick(cron, 'UTC', tick)) {
    const record = await store.findIdempotencyKey('default', `schedule:${workflow}`, tickKey(workflow, tick));
    if (record === undefined) continue;
    expect(tickOf.has(record.runId), `run ${record.runId} is the run of two ticks`).toBe(false);
    tickOf.set(record.runId, tick);
  }
  return tickOf;
}

for (const factory of storeFactories) {
  describe(`schedules (${factory.name})`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups.length = 0;
    });

    async function openStore(): Promise<Store> {
      const { store, cleanup } = await factory.open();
      cleanups.push(cleanup);
      return store;
    }

    /** An engine on `store` running only `roles` (stopped after the test, before the store closes). */
    async function startEngine(store: Store, workflows: Map<string, CompiledWorkflow>, roles: EngineRole[], pollIntervalMs: number): Promise<Engine> {
      const engine = new Engine({
        store,
        workflows,
        executors: createExecutorRegistry(defaultExecutors()),
        executorSettings: DEFAULT_EXECUTOR_SETTINGS,
        logger: silentLogger,
        settings: { pollIntervalMs, leaseTtlMs: 2_000, shutdownGraceMs: 1_000 },
        env: {},
      });
      cleanups.push(() => engine.stop());
      await engine.start({ roles });
      return engine;
    }

    /** Schedules of `specs` on `store`, synced at `now`, fired by `fire(now)`. */
    async function scheduling(store: Store, specs: Record<string, unknown>[], now: number) {
      const engine = clientEngine(store, specs);
      const ctx: ScheduleContext = { store, transitions: engine.transitions, workflows: engine.workflows, logger: silentLogger };
      await syncSchedules(store, engine.workflows, now);
      return { engine, ctx, fire: (t: number) => fireDueSchedules(ctx, t) };
    }

    it('starts exactly one run per tick with two schedulers racing on a per-second cron', async () => {
      const store = await openStore();
      const workflows = compileAll([scheduled('every_second', { cron: '* * * * * *', overlap: 'allow', input: { kind: 'tick' } })]);
      const from = Date.now();
      // A long poll interval: the schedulers must wake at each tick on their own.
      await startEngine(store, workflows, ['scheduler'], 60_000);
      await startEngine(store, workflows, ['scheduler'], 60_000);
      const deadline = Date.now() + 20_000;
      while ((await runsOf(store, 'every_second')).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const cleanup of cleanups.splice(1).reverse()) await cleanup(); // stop both schedulers
      const to = Date.now();

      const runs = await runsOf(store, 'every_second');
      expect(runs.length).toBeGreaterThanOrEqual(3);
      const tickOf = await ticksOfRuns(store, 'every_second', '* * * * * *', from, to);
      // Every run is the run of one tick (its idempotency key), and no tick has two.
      expect(new Set(runs.map((r) => r.id))).toEqual(new Set(tickOf.keys()));
      expect(new Set(tickOf.values()).size).toBe(runs.length);
      expect(runs.every((r) => JSON.stringify(r.input) === '{"kind":"tick"}')).toBe(true);
      const row = await store.getSchedule('every_second');
      expect(row!.lastRunId).not.toBeNull();
      expect(tickOf.get(row!.lastRunId!)).toBe(row!.lastTickAt);
    });

    it('creates one run when several schedulers fire the same tick at once', async () => {
      const store = await openStore();
      const specs = [scheduled('hourly', { cron: '0 * * * *', overlap: 'allow' })];
      const t0 = at('2025-06-01T09:30:00Z');
      const a = await scheduling(store, specs, t0);
      const b = clientEngine(store, specs);
      const ctxB: ScheduleContext = { ...a.ctx, transitions: b.transitions };
      const tick = at('2025-06-01T10:00:00Z');
      const reports = await Promise.all([a.fire(tick + 5), fireDueSchedules(ctxB, tick + 5), a.fire(tick + 7), fireDueSchedules(ctxB, tick + 9)]);

      const runs = await runsOf(store, 'hourly');
      expect(runs).toHaveLength(1);
      const created = reports.flatMap((r) => r.fired).filter((f) => f.created);
      expect(created).toEqual([{ workflow: 'hourly', tick, runId: runs[0]!.id, created: true }]);
      expect((await store.findIdempotencyKey('default', 'schedule:hourly', tickKey('hourly', tick)))?.runId).toBe(runs[0]!.id);
      expect(await store.getSchedule('hourly')).toMatchObject({ nextAt: at('2025-06-01T11:00:00Z'), lastTickAt: tick, lastRunId: runs[0]!.id });
    });

    it('repeats a start that crashed before the schedule moved on without a second run', async () => {
      const store = await openStore();
      const specs = [scheduled('hourly', { cron: '0 * * * *' })];
      const s = await scheduling(store, specs, at('2025-06-01T09:30:00Z'));
      const tick = at('2025-06-01T10:00:00Z');
      // The run of the tick was created (owned by the schedule), then the process died before advancing the row.
      const first = await s.engine.transitions.create(
        s.engine.workflow('hourly'),
        {},
        { idempotencyKey: tickKey('hourly', tick), tenantId: 'default', createdBy: 'schedule:hourly' },
      );
      const report = await s.fire(tick + 1_000);
      expect(report.fired).toEqual([{ workflow: 'hourly', tick, runId: first.run.id, created: false }]);
      expect(await runsOf(store, 'hourly')).toHaveLength(1);
      expect(await store.getSchedule('hourly')).toMatchObject({ nextAt: at('2025-06-01T11:00:00Z'), lastRunId: first.run.id });
    });

    it('overlap skip: starts no run for a tick while the last run has not ended', async () => {
      const store = await openStore();
      const s = await scheduling(store, [scheduled('hourly', { cron: '0 * * * *' })], at('2025-06-01T09:30:00Z'));
      const first = await s.fire(at('2025-06-01T10:00:01Z'));
      expect(first.fired).toHaveLength(1);
      const runId = first.fired[0]!.runId;
      // A scheduled run is owned by its schedule: only keys that reach every run act on it.
      expect(await store.getRun(runId)).toMatchObject({ createdBy: 'schedule:hourly' });
      // No worker runs here: the run is still queued when the next tick comes.
      const second = await s.fire(at('2025-06-01T11:00:01Z'));
      expect(second.fired).toEqual([]);
      expect(second.skipped).toEqual([{ workflow: 'hourly', tick: at('2025-06-01T11:00:00Z'), reason: 'overlap' }]);
      expect(await runsOf(store, 'hourly')).toHaveLength(1);
      expect(await store.getSchedule('hourly')).toMatchObject({ nextAt: at('2025-06-01T12:00:00Z'), lastRunId: runId });

      await s.engine.cancelRun(runId, 'test');
      const third = await s.fire(at('2025-06-01T12:00:01Z'));
      expect(third.fired).toHaveLength(1);
      expect(await runsOf(store, 'hourly')).toHaveLength(2);
    });

    it('overlap allow: starts a run for each tick even while earlier ones run', async () => {
      const store = await openStore();
      const s = await scheduling(store, [scheduled('hourly', { cron: '0 * * * *', overlap: 'allow' })], at('2025-06-01T09:30:00Z'));
      await s.fire(at('2025-06-01T10:00:01Z'));
      await s.fire(at('2025-06-01T11:00:01Z'));
      const runs = await runsOf(store, 'hourly');
      expect(runs.map((r) => r.status)).toEqual(['queued', 'queued']);
    });

    it('pause: no runs while paused; resume: runs again from the next tick, none for the ticks in between', async () => {
      const store = await openStore();
      const s = await scheduling(store, [scheduled('hourly', { cron: '0 * * * *', catch_up: 'one', overlap: 'allow' })], at('2025-06-01T09:30:00Z'));
      const paused = await pauseSchedule(store, 'hourly');
      expect(paused).toMatchObject({ paused: true, nextAt: null });
      for (const hour of ['10', '11', '12']) expect((await s.fire(at(`2025-06-01T${hour}:00:01Z`))).fired).toEqual([]);
      expect(await runsOf(store, 'hourly')).toHaveLength(0);
      // A sync (a scheduler restarting) keeps the pause.
      await syncSchedules(store, s.engine.workflows, at('2025-06-01T12:10:00Z'));
      expect((await store.getSchedule('hourly'))?.paused).toBe(true);

      const resumed = await resumeSchedule(store, 'hourly', at('2025-06-01T12:30:00Z'));
      expect(resumed).toMatchObject({ paused: false, nextAt: at('2025-06-01T13:00:00Z') });
      expect((await s.fire(at('2025-06-01T12:59:00Z'))).fired).toEqual([]);
      const report = await s.fire(at('2025-06-01T13:00:00.500Z'));
      expect(report.fired.map((f) => f.tick)).toEqual([at('2025-06-01T13:00:00Z')]);
      expect(await runsOf(store, 'hourly')).toHaveLength(1);
    });

    it('pause and resume answer not_found for a workflow without a schedule', async () => {
      const store = await openStore();
      await scheduling(store, [scheduled('hourly', { cron: '0 * * * *' })], at('2025-06-01T09:30:00Z'));
      await expect(pauseSchedule(store, 'nope')).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('scheduled workflows: hourly') });
      await expect(resumeSchedule(store, 'nope', Date.now())).rejects.toMatchObject({ code: 'not_found' });
    });

    it('catch_up none: after downtime, runs none of the missed ticks and goes on from the next', async () => {
      const store = await openStore();
      const s = await scheduling(store, [scheduled('hourly', { cron: '0 * * * *', catch_up: 'none' })], at('2025-06-01T09:30:00Z'));
      // The scheduler was down from before 10:00 until 13:20.
      const report = await s.fire(at('2025-06-01T13:20:00Z'));
      expect(report.fired).toEqual([]);
      expect(report.skipped).toEqual([{ workflow: 'hourly', tick: at('2025-06-01T10:00:00Z'), reason: 'missed' }]);
      expect(await runsOf(store, 'hourly')).toHaveLength(0);
      expect(await store.getSchedule('hourly')).toMatchObject({ nextAt: at('2025-06-01T14:00:00Z'), lastRunId: null });
      expect((await s.fire(at('2025-06-01T14:00:01Z'))).fired).toHaveLength(1);
    });

    it('catch_up one: after downtime, runs the most recent missed tick exactly once', async () => {
      const store = await openStore();
      const s = await scheduling(store, [scheduled('hourly', { cron: '0 * * * *', catch_up: 'one' })], at('2025-06-01T09:30:00Z'));
      const [a, b] = await Promise.all([s.fire(at('2025-06-01T13:20:00Z')), s.fire(at('2025-06-01T13:20:00Z'))]);
      const runs = await runsOf(store, 'hourly');
      expect(runs).toHaveLength(1);
      expect([...a.fired, ...b.fired].every((f) => f.tick === at('2025-06-01T13:00:00Z') && f.runId === runs[0]!.id)).toBe(true);
      expect((await store.findIdempotencyKey('default', 'schedule:hourly', tickKey('hourly', at('2025-06-01T13:00:00Z'))))?.runId).toBe(runs[0]!.id);
      expect(await store.getSchedule('hourly')).toMatchObject({ nextAt: at('2025-06-01T14:00:00Z'), lastTickAt: at('2025-06-01T13:00:00Z') });
    });

    it('catches up after a scheduler restart that finds next_at in the past', async () => {
      const store = await openStore();
      const workflows = compileAll([scheduled('minutely', { cron: '* * * * *', catch_up: 'one', overlap: 'allow' })]);
      await syncSchedules(store, workflows, Date.now());
      // Simulated downtime: the row's next tick is three minutes old.
      const row = (await store.getSchedule('minutely'))!;
      const past = row.nextAt! - 3 * 60_000;
      expect(await store.advanceSchedule('minutely', row.nextAt!, { nextAt: past })).toBe(true);
      const engine = clientEngine(store, [scheduled('minutely', { cron: '* * * * *', catch_up: 'one', overlap: 'allow' })]);
      const scheduler = new Scheduler({
        store,
        transitions: engine.transitions,
        logger: silentLogger,
        intervalMs: 60_000,
        now: Date.now,
        workerTtlMs: 60_000,
        workflows,
      });
      const report = await scheduler.sweep();
      expect(report.schedules?.fired).toHaveLength(1);
      expect(report.schedules?.fired[0]!.tick).toBeGreaterThan(past);
      expect(await runsOf(store, 'minutely')).toHaveLength(1);
      const after = (await store.getSchedule('minutely'))!;
      expect(after.nextAt).toBeGreaterThan(Date.now() - 1);
      expect(report.schedules?.nextDueAt).toBe(after.nextAt);
    });

    it("starts a schedule's runs in its tenant: its tenant: field, else the deployment's; a changed tenant: moves the schedule", async () => {
      const store = await openStore();
      const specs = [scheduled('for_acme', { cron: '0 * * * *', tenant: 'acme' }), scheduled('for_hq', { cron: '0 * * * *' })];
      const engine = clientEngine(store, specs);
      const t0 = at('2025-06-01T09:30:00Z');
      expect(await syncSchedules(store, engine.workflows, t0, { tenant: 'hq' })).toEqual({ saved: ['for_acme', 'for_hq'], deleted: [] });
      expect((await store.listSchedules()).map((r) => [r.workflow, r.tenantId])).toEqual([
        ['for_acme', 'acme'],
        ['for_hq', 'hq'],
      ]);
      const tick = at('2025-06-01T10:00:00Z');
      const report = await fireDueSchedules({ store, transitions: engine.transitions, workflows: engine.workflows, logger: silentLogger }, tick + 5);
      expect(report.fired.map((f) => f.workflow).sort()).toEqual(['for_acme', 'for_hq']);
      const [acme] = await runsOf(store, 'for_acme');
      const [hq] = await runsOf(store, 'for_hq');
      expect(acme).toMatchObject({ tenantId: 'acme', createdBy: 'schedule:for_acme' });
      expect(hq).toMatchObject({ tenantId: 'hq', createdBy: 'schedule:for_hq' });
      // The tick's idempotency key lives in the schedule's tenant, under its owner.
      expect((await store.findIdempotencyKey('acme', 'schedule:for_acme', tickKey('for_acme', tick)))?.runId).toBe(acme!.id);
      expect(await store.findIdempotencyKey('hq', 'schedule:for_acme', tickKey('for_acme', tick))).toBeUndefined();

      const moved = compileAll([scheduled('for_acme', { cron: '0 * * * *', tenant: 'globex' }), scheduled('for_hq', { cron: '0 * * * *' })]);
      expect(await syncSchedules(store, moved, tick + 10, { tenant: 'hq' })).toEqual({ saved: ['for_acme'], deleted: [] });
      expect(await store.getSchedule('for_acme')).toMatchObject({ tenantId: 'globex', lastRunId: acme!.id });
    });

    it('syncs rows with the project: keeps state, recomputes the tick when the cron changes, deletes dropped schedules', async () => {
      const store = await openStore();
      const t0 = at('2025-06-01T09:30:00Z');
      const v1 = compileAll([scheduled('a', { cron: '0 * * * *' }), scheduled('b', { cron: '*/5 * * * *' }), { name: 'c', steps: { x: { transform: 1 } } }]);
      expect(await syncSchedules(store, v1, t0)).toEqual({ saved: ['a', 'b'], deleted: [] });
      expect(await store.getSchedule('a')).toMatchObject({
        timezone: 'UTC',
        overlap: 'skip',
        catchUp: 'none',
        tenantId: 'default',
        input: {},
        paused: false,
        nextAt: at('2025-06-01T10:00:00Z'),
      });
      // Unchanged: nothing written.
      expect(await syncSchedules(store, v1, t0 + 60_000)).toEqual({ saved: [], deleted: [] });
      await pauseSchedule(store, 'b');

      const v2 = compileAll([scheduled('a', { cron: '30 * * * *', input: { n: 1 } }), { name: 'b', steps: { x: { transform: 1 } } }]);
      expect(await syncSchedules(store, v2, t0 + 60_000)).toEqual({ saved: ['a'], deleted: ['b'] });
      expect(await store.getSchedule('a')).toMatchObject({ cron: '30 * * * *', input: { n: 1 }, nextAt: at('2025-06-01T10:30:00Z') });
      expect(await store.getSchedule('b')).toBeUndefined();
      expect((await store.listSchedules()).map((s) => s.workflow)).toEqual(['a']);
    });
  });
}
