/**
 * Run quotas in the engine, on every store: a start past a quota throws `quota_exceeded` and is
 * reported to the quota listeners; a schedule whose tenant is at its quota skips the tick with
 * a warning (moving on to the next tick rather than piling up), and fires again once there is room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { QuotaRefusal } from '../../src/engine/engine.js';
import { fireDueSchedules, syncSchedules, type ScheduleContext } from '../../src/engine/schedules.js';
import { AgentryError } from '../../src/lib/errors.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { limitsFrom } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const WORKFLOWS = [
  { name: 'nap', steps: { long: { sleep: '1h' } } },
  { name: 'ticker', schedule: { cron: '* * * * *' }, steps: { a: { transform: 1 } } },
];

/** A logger whose records are kept in `lines`. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe.each(storeFactories)('run quotas in the engine ($name)', (factory) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('refuses a start past the quota with quota_exceeded and tells the quota listeners', async () => {
    t = await startTestEngine(factory, WORKFLOWS, { start: false, limits: limitsFrom({ tenants: { default: { max_concurrent_runs: 1 } } }) });
    const refusals: QuotaRefusal[] = [];
    const unsubscribe = t.engine.onQuotaExceeded((r) => refusals.push(r));
    await t.engine.startRun('nap', {});
    const error = await t.engine.startRun('nap', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'quota_exceeded', details: { tenant: 'default', quota: 'max_concurrent_runs', limit: 1, current: 1 } });
    // Another tenant has the defaults (1000).
    await t.engine.startRun('nap', {}, { tenantId: 'other' });
    expect(refusals).toEqual([{ tenantId: 'default', quota: 'max_concurrent_runs' }]);
    unsubscribe();
    await t.engine.startRun('nap', {}).catch(() => undefined);
    expect(refusals).toHaveLength(1);
    expect((await t.store.listRuns({ tenantId: 'default', limit: 10 })).items).toHaveLength(1);
  });

  it('skips a schedule’s tick while its tenant is at a quota, with a warning, and fires once there is room', async () => {
    t = await startTestEngine(factory, WORKFLOWS, { start: false, limits: limitsFrom({ tenants: { default: { max_concurrent_runs: 1 } } }) });
    const { store, engine } = t;
    const nap = await engine.startRun('nap', {});
    const now = Date.now();
    await syncSchedules(store, engine.workflows, now);
    const due = (await store.getSchedule('ticker'))!.nextAt!;
    const { logger, lines } = recordingLogger();
    const ctx: ScheduleContext = { store, transitions: engine.transitions, workflows: engine.workflows, logger };

    const skipped = await fireDueSchedules(ctx, due);
    expect(skipped.fired).toEqual([]);
    expect(skipped.skipped).toEqual([{ workflow: 'ticker', tick: due, reason: 'quota' }]);
    expect((await store.listRuns({ workflow: 'ticker', limit: 10 })).items).toEqual([]);
    // The schedule moved on to its next tick instead of retrying this one.
    expect((await store.getSchedule('ticker'))!.nextAt).toBe(due + 60_000);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        workflow: 'ticker',
        tenant_id: 'default',
        msg: expect.stringContaining('skipped its tick: tenant default has 1 runs that have not ended, its quota max_concurrent_runs is 1'),
      }),
    );

    await engine.cancelRun(nap.id);
    const fired = await fireDueSchedules(ctx, due + 60_000);
    expect(fired.fired).toEqual([expect.objectContaining({ workflow: 'ticker', tick: due + 60_000, created: true })]);
  });
});
