/**
 * Losing the database: a throwaway PostgreSQL cluster (initdb in a temporary directory) is
 * stopped and started under running worker processes, or is down when a worker starts.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { clientEngine } from '../helpers/engine.js';
import {
  Cluster,
  exactlyOnceReport,
  ledgerStep,
  logLines,
  query,
  startLedger,
  startRole,
  stopProcess,
  waitForRuns,
  writeProject,
  type RoleProcess,
} from '../helpers/pg-processes.js';
import type { TestServer } from '../helpers/http-server.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const WORKFLOW = {
  name: 'ledger',
  env: { LEDGER_URL: {} },
  steps: { one: ledgerStep('one'), two: ledgerStep('two', ['one']), three: ledgerStep('three', ['two']) },
};

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

interface Setup {
  cluster: Cluster;
  url: string;
  projectDir: string;
  ledger: TestServer;
  procs: RoleProcess[];
  /** A store and engine of the test's own, to start runs. */
  store: Store;
  engine: Engine;
}

async function setUp(): Promise<Setup> {
  const { dir, remove } = tempDir('agentry-pg-restart-');
  cleanups.push(remove);
  const ledger = await startLedger(join(dir, 'ledger.txt'));
  cleanups.push(() => ledger.close());
  const cluster = await Cluster.create();
  cleanups.push(() => cluster.destroy());
  await cluster.start();
  await query(cluster.url('postgres'), 'CREATE DATABASE agentry');
  const url = cluster.url('agentry');
  const projectDir = writeProject(dir, [WORKFLOW]);
  const procs: RoleProcess[] = [];
  cleanups.push(async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
  });
  const store = openPostgresStore(url, { poolSize: 2 });
  cleanups.push(() => store.close());
  const engine = clientEngine(store, [WORKFLOW]);
  return { cluster, url, projectDir, ledger, procs, store, engine };
}

async function until(predicate: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(hasPostgres)('postgres outages', () => {
  it('finishes every run exactly once when PostgreSQL restarts mid-load, without restarting the workers', async () => {
    const s = await setUp();
    for (let i = 0; i < 2; i++) s.procs.push(startRole('worker', { url: s.url, projectDir: s.projectDir, env: { LEDGER_URL: s.ledger.url } }));
    await Promise.all(s.procs.map((p) => p.started));
    const pids = s.procs.map((p) => p.child.pid);
    const RUNS = 200;
    for (let i = 0; i < RUNS; i++) await s.engine.startRun('ledger', {});

    const succeeded = async () => (await query<{ n: number }>(s.url, `SELECT count(*)::int AS n FROM events WHERE type = 'step.succeeded'`))[0]!.n;
    await until(async () => (await succeeded()) >= 100, 60_000);
    await s.cluster.stop();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    await s.cluster.start();
    const downMs = Date.now() - downAt;
    await waitForRuns(s.url, RUNS, 120_000);

    expect(await exactlyOnceReport(s.url)).toEqual({
      runs: [{ status: 'succeeded', n: RUNS }],
      succeededAttempts: { n: RUNS * 3 },
      duplicateSucceededAttempts: [],
      succeededEvents: { n: RUNS * 3 },
      duplicateSucceededEvents: [],
      duplicateStarts: [],
      leftOver: { n: 0 },
    });
    // The same processes did the work before and after (no crash, no restart) ...
    expect(s.procs.map((p) => [p.child.pid, p.child.exitCode])).toEqual(pids.map((pid) => [pid, null]));
    // ... and each loop logged the outage once, not once per tick.
    for (const p of s.procs) {
      const warnings = logLines(p.stderr, /database unavailable/);
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings.length).toBeLessThanOrEqual(8);
      expect(new Set(warnings.map((w) => w.msg)).size).toBe(warnings.length);
    }
    console.info(
      `[pg.restart] database down for ${downMs} ms; warnings per worker: ${s.procs.map((p) => logLines(p.stderr, /database unavailable/).length).join(', ')}`,
    );
    const exits = await Promise.all(
      s.procs.map(async (p) => {
        await stopProcess(p, 'SIGTERM');
        return p.child.exitCode;
      }),
    );
    expect(exits).toEqual([0, 0]);
  }, 240_000);

  it('starts a worker while the database is down: it waits in the same process, then works once it is up', async () => {
    const s = await setUp();
    await s.cluster.stop();
    const worker = startRole('worker', { url: s.url, projectDir: s.projectDir, env: { LEDGER_URL: s.ledger.url } });
    s.procs.push(worker);
    await until(() => logLines(worker.stderr, /database unavailable/).length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(worker.child.exitCode).toBeNull();
    expect(worker.stderr).not.toContain('engine started');
    expect(logLines(worker.stderr, /database unavailable/)).toHaveLength(1);

    await s.cluster.start();
    await worker.started;
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await s.engine.startRun('ledger', {}));
    await waitForRuns(s.url, 5, 60_000);
    expect((await exactlyOnceReport(s.url)).runs).toEqual([{ status: 'succeeded', n: 5 }]);
    expect(worker.child.exitCode).toBeNull();
    await stopProcess(worker, 'SIGTERM');
    expect(worker.child.exitCode).toBe(0);
  }, 120_000);
});
