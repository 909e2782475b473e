/**
 * The run quotas read counters that triggers on `runs` keep (migration 24), not the runs: these
 * tests check, on every store, that the counters follow every change of a run (created, ended,
 * resumed, deleted), that the hourly window is exact at its edge minute (a run created in the
 * same minute as the window's start but before it does not count), and that pruning the
 * counters of minutes past the window changes no answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import type { RunQuota } from '../../src/store/store-types.js';
import type { Store } from '../../src/store/store.js';
import { newRunRecord, storeFactories } from '../helpers/store.js';

const HOUR = 3_600_000;
/** The quota checks' `now`: 30 s into a minute, so the window starts 30 s into its edge minute. */
const NOW = 100 * HOUR + 30_000;
const SINCE = NOW - HOUR;

function create(store: Store, id: string, fields: Parameters<typeof newRunRecord>[1] = {}, quota?: RunQuota): Promise<void> {
  const run = newRunRecord(id, { createdAt: NOW, ...fields });
  return store.createRun(run, [], async () => {}, undefined, quota);
}

function setStatus(store: Store, id: string, status: 'succeeded' | 'queued' | 'waiting'): Promise<void | undefined> {
  return store.withRun(id, (tx) => tx.updateRun(status === 'succeeded' ? { status, finishedAt: NOW } : { status, finishedAt: null }));
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe.each(storeFactories)('run quota counters ($name)', (factory) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  async function open(): Promise<Store> {
    const opened = await factory.open();
    cleanup = opened.cleanup;
    return opened.store;
  }

  it('counts the runs that have not ended through every change of their status, per tenant', async () => {
    const store = await open();
    for (const id of ['run_a1', 'run_a2', 'run_a3']) await create(store, id, { tenantId: 'a' });
    await create(store, 'run_b1', { tenantId: 'b', status: 'waiting' });
    await create(store, 'run_b2', { tenantId: 'b', status: 'succeeded', finishedAt: NOW });
    await setStatus(store, 'run_a1', 'succeeded');
    await setStatus(store, 'run_a2', 'succeeded');
    // Running to waiting and back changes no count; an ended run started again does.
    await setStatus(store, 'run_a3', 'waiting');
    await setStatus(store, 'run_a2', 'queued');

    const usage = await store.tenantRunUsage(NOW);
    expect(usage).toEqual([
      { tenantId: 'a', activeRuns: 2, runsLastHour: 3 },
      { tenantId: 'b', activeRuns: 1, runsLastHour: 2 },
    ]);
    expect(await store.tenantRunUsage(NOW, 'b')).toEqual([{ tenantId: 'b', activeRuns: 1, runsLastHour: 2 }]);

    const quota: RunQuota = { maxConcurrentRuns: 2, maxRunsPerHour: null };
    const error = await refusal(create(store, 'run_a4', { tenantId: 'a' }, quota));
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'quota_exceeded', details: { tenant: 'a', quota: 'max_concurrent_runs', limit: 2, current: 2 } });
    await setStatus(store, 'run_a3', 'succeeded');
    await create(store, 'run_a4', { tenantId: 'a' }, quota);
    expect(await store.tenantRunUsage(NOW, 'a')).toEqual([{ tenantId: 'a', activeRuns: 2, runsLastHour: 4 }]);
  });

  it('counts the hour exactly at its edge minute and forgets deleted runs', async () => {
    const store = await open();
    // In the window's first minute but before it starts, at its start (not after it), inside it.
    await create(store, 'run_before', { createdAt: SINCE - 10_000, status: 'succeeded', finishedAt: SINCE });
    await create(store, 'run_at', { createdAt: SINCE, status: 'succeeded', finishedAt: SINCE });
    await create(store, 'run_edge', { createdAt: SINCE + 10_000, status: 'succeeded', finishedAt: SINCE });
    await create(store, 'run_inside', { createdAt: SINCE + 120_000, status: 'succeeded', finishedAt: SINCE });
    await create(store, 'run_old', { createdAt: 1_000, status: 'succeeded', finishedAt: 2_000 });
    expect(await store.tenantRunUsage(NOW)).toEqual([{ tenantId: 'default', activeRuns: 0, runsLastHour: 2 }]);

    // The edge minute holds 3 runs, of which 1 counts: 2 in the hour, under a quota of 3.
    await create(store, 'run_third', {}, { maxConcurrentRuns: null, maxRunsPerHour: 3 });
    const error = await refusal(create(store, 'run_fourth', {}, { maxConcurrentRuns: null, maxRunsPerHour: 3 }));
    expect(error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'max_runs_per_hour', limit: 3, current: 3 } });

    // Pruning drops the minutes before the window, never one that holds part of it.
    expect(await store.pruneRunStartCounters(NOW)).toBeGreaterThanOrEqual(1);
    expect(await store.tenantRunUsage(NOW)).toEqual([{ tenantId: 'default', activeRuns: 1, runsLastHour: 3 }]);

    const pruned = await store.pruneRuns({ before: { succeeded: NOW + 1 }, limit: 100 });
    expect(pruned.sort()).toEqual(['run_at', 'run_before', 'run_edge', 'run_inside', 'run_old']);
    expect(await store.tenantRunUsage(NOW)).toEqual([{ tenantId: 'default', activeRuns: 1, runsLastHour: 1 }]);
  });
});
