/**
 * The active environment's policy on every run start path the engine has, on SQLite and
 * PostgreSQL: a `workflow:` step whose child breaks it fails `policy_violation` naming the rule
 * (no child run is stored), a schedule's tick whose run breaks it is refused (no run, the
 * schedule keeps its next tick, a `schedule.refused` line names the rule, the metric counts it
 * `refused`), and a retry of a run started before the policy applied is judged again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActivePolicy, type PolicySources } from '../../src/app/active-policy.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { fireDueSchedules, syncSchedules } from '../../src/engine/schedules.js';
import { Metrics } from '../../src/obs/metrics.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { PolicySpec } from '../../src/spec/schemas.js';
import { clientEngine, silentLogger, startTestEngine } from '../helpers/engine.js';
import { captureLogs } from '../helpers/log-capture.js';
import { storeFactories } from '../helpers/store.js';

/** `prod` caps a run's budget: a workflow without `budget.max_cost_usd` breaks `max_run_cost_usd`. */
function prod(policy: PolicySpec = { max_run_cost_usd: 5 }): PolicySources {
  return { active: 'prod', declared: { prod: policy }, project: { agents: new Map(), tools: new Map() } };
}

const WORKFLOWS = [
  { name: 'parent', budget: { max_cost_usd: 1 }, steps: { sub: { workflow: 'uncapped', input: {} } } },
  { name: 'parent-ok', budget: { max_cost_usd: 1 }, steps: { sub: { workflow: 'capped', input: {} } } },
  { name: 'uncapped', steps: { a: { transform: { n: 1 } } } },
  { name: 'capped', budget: { max_cost_usd: 1 }, steps: { a: { transform: { n: 2 } } } },
];

describe.each(storeFactories)('environment policies in the engine on $name', { timeout: 60_000 }, (factory) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it('fails a workflow step whose child breaks the policy with policy_violation naming the rule, and stores no child; an allowed child runs', async () => {
    const t = await startTestEngine(factory, WORKFLOWS);
    cleanups.push(t.cleanup);
    t.engine.setRunPolicy(new ActivePolicy(t.store, prod()));

    const refused = await t.engine.waitForRun((await t.engine.startRun('parent', {})).id, { timeoutMs: 20_000 });
    expect(refused.status).toBe('failed');
    const step = (await t.store.getSteps(refused.id)).find((s) => s.stepId === 'sub');
    expect(step?.status).toBe('failed');
    expect(step?.error?.code).toBe('policy_violation');
    expect(step?.error?.message).toContain('max_run_cost_usd');
    expect(step?.error?.message).toContain('uncapped');
    expect((await t.store.listRuns({ workflow: 'uncapped', limit: 10 })).items).toHaveLength(0);

    const allowed = await t.engine.waitForRun((await t.engine.startRun('parent-ok', {})).id, { timeoutMs: 20_000 });
    expect(allowed.status).toBe('succeeded');
    expect((await t.store.listRuns({ workflow: 'capped', limit: 10 })).items).toHaveLength(1);
  });

  it('refuses a schedule tick whose run breaks the policy: no run, the next tick kept, the rule logged', async () => {
    const { store, cleanup } = await factory.open();
    cleanups.push(cleanup);
    const specs = [
      { name: 'nightly', schedule: { cron: '0 3 * * *' }, steps: { a: { transform: { n: 1 } } } },
      { name: 'capped-nightly', budget: { max_cost_usd: 1 }, schedule: { cron: '0 3 * * *' }, steps: { a: { transform: { n: 1 } } } },
    ];
    const engine = clientEngine(store, specs);
    engine.setRunPolicy(new ActivePolicy(store, prod()));
    const logs = captureLogs('info');
    const now = Date.parse('2026-01-01T00:00:00Z');
    await syncSchedules(store, engine.workflows, now);
    const due = Date.parse('2026-01-01T03:00:00Z');

    const report = await fireDueSchedules({ store, transitions: engine.transitions, workflows: engine.workflows, logger: logs.logger }, due + 1);

    expect(report.skipped).toEqual([{ workflow: 'nightly', tick: due, reason: 'policy', rule: 'max_run_cost_usd' }]);
    expect(report.fired.map((f) => f.workflow)).toEqual(['capped-nightly']);
    expect((await store.listRuns({ workflow: 'nightly', limit: 10 })).items).toHaveLength(0);
    const schedule = await store.getSchedule('nightly');
    expect(schedule).toMatchObject({ paused: false, nextAt: Date.parse('2026-01-02T03:00:00Z'), lastRunId: null });
    const line = logs.lines.find((l) => l['event'] === 'schedule.refused');
    expect(line).toMatchObject({ workflow: 'nightly', reason: 'policy', rule: 'max_run_cost_usd', environment: 'prod', code: 'policy_violation' });
    expect(String(line?.['msg'])).toContain('max_run_cost_usd');
  });

  it('counts a refused tick in agentry_schedule_ticks_total as refused, apart from skipped ones', async () => {
    const { store, cleanup } = await factory.open();
    cleanups.push(cleanup);
    const engine = clientEngine(store, [{ name: 'hourly', schedule: { cron: '0 * * * *' }, steps: { a: { transform: { n: 1 } } } }]);
    engine.setRunPolicy(new ActivePolicy(store, prod()));
    const metrics = new Metrics({ version: 'test', processMetrics: false });
    let now = Date.parse('2026-01-01T00:30:00Z');
    const scheduler = new Scheduler({
      store,
      transitions: engine.transitions,
      logger: silentLogger,
      intervalMs: 60_000,
      now: () => now,
      workerTtlMs: 60_000,
      workflows: engine.workflows,
      observer: metrics,
    });
    await scheduler.sweep(); // syncs the schedule: its next tick is 01:00
    now = Date.parse('2026-01-01T01:00:01Z');
    const report = await scheduler.sweep();
    expect(report.schedules?.skipped).toEqual([expect.objectContaining({ workflow: 'hourly', reason: 'policy', rule: 'max_run_cost_usd' })]);
    const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'agentry_schedule_ticks_total');
    const values = (family?.values ?? []) as { labels: Record<string, string>; value: number }[];
    expect(values.map((v) => [v.labels['schedule'], v.labels['outcome'], v.value])).toEqual([['hourly', 'refused', 1]]);
    metrics.close();
  });

  it('judges a retry of a run started before the policy applied, and refuses it with policy_violation', async () => {
    const t = await startTestEngine(factory, [{ name: 'flaky', steps: { a: { transform: { n: '{{ input.n / 0 }}' } } } }]);
    cleanups.push(t.cleanup);
    const first = await t.engine.waitForRun((await t.engine.startRun('flaky', { n: 1 })).id, { timeoutMs: 20_000 });
    expect(first.status).toBe('failed');

    t.engine.setRunPolicy(new ActivePolicy(t.store, prod()));
    const retry = t.engine.retryRun(first.id);
    await expect(retry).rejects.toBeInstanceOf(AgentryError);
    await expect(retry).rejects.toMatchObject({ code: 'policy_violation', details: { rule: 'max_run_cost_usd' } });
    expect((await t.store.listRuns({ workflow: 'flaky', limit: 10 })).items).toHaveLength(1);

    t.engine.setRunPolicy(new ActivePolicy(t.store, prod({})));
    const again = await t.engine.retryRun(first.id);
    expect(again.retryOf).toBe(first.id);
  });
});
