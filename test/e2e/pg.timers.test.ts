/**
 * Split roles on one PostgreSQL database: two scheduler processes and three worker
 * processes run timers (sleeps and retry back-offs) together, and none runs twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { clientEngine } from '../helpers/engine.js';
import {
  exactlyOnceReport,
  ledgerStep,
  query,
  startLedger,
  startRole,
  stopProcess,
  waitForRuns,
  writeProject,
  type RoleProcess,
} from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const RUNS = 50;
const WORKFLOW = {
  name: 'timers',
  env: { LEDGER_URL: {} },
  steps: {
    a: ledgerStep('a'),
    nap: { needs: ['a'], sleep: '1s' },
    flaky: {
      needs: ['nap'],
      http: { url: '{{ env.LEDGER_URL }}/flaky', method: 'POST', body: { run: '{{ run.id }}', step: 'flaky' } },
      retry: { max_attempts: 3, initial: '500ms', jitter: false },
    },
    c: ledgerStep('c', ['flaky']),
  },
};

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

describe.runIf(hasPostgres)('postgres split roles', () => {
  it('never runs a sleep or a retry timer twice with two schedulers and three workers', async () => {
    const { dir, remove } = tempDir('agentry-pg-timers-');
    cleanups.push(remove);
    const ledgerFile = join(dir, 'ledger.txt');
    const ledger = await startLedger(ledgerFile);
    cleanups.push(() => ledger.close());
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const projectDir = writeProject(dir, [WORKFLOW]);
    const store = openPostgresStore(db.url, { poolSize: 2 });
    cleanups.push(() => store.close());
    const client = clientEngine(store, [WORKFLOW]);

    const procs: RoleProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(procs.map((p) => stopProcess(p)));
    });
    // A lease long enough that a loaded machine never lets one lapse: this test is about timers, not lease expiry.
    const env = { LEDGER_URL: ledger.url, AGENTRY_LEASE_TTL: '10s' };
    for (let i = 0; i < 2; i++) procs.push(startRole('scheduler', { url: db.url, projectDir, env: { ...env, AGENTRY_POLL_INTERVAL: '100ms' } }));
    for (let i = 0; i < 3; i++) procs.push(startRole('worker-only', { url: db.url, projectDir, env }));
    await Promise.all(procs.map((p) => p.started));

    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) runIds.push((await client.startRun('timers', {})).id);
    await waitForRuns(db.url, RUNS, 90_000);

    const report = await exactlyOnceReport(db.url);
    expect(report).toEqual({
      runs: [{ status: 'succeeded', n: RUNS }],
      succeededAttempts: { n: RUNS * 4 },
      duplicateSucceededAttempts: [],
      succeededEvents: { n: RUNS * 4 },
      duplicateSucceededEvents: [],
      duplicateStarts: [],
      leftOver: { n: 0 },
    });
    // Each sleep woke once and resumed its one attempt; each retry timer fired once.
    const attempts = await query<{ step_id: string; attempts: string }>(
      db.url,
      `SELECT step_id, string_agg(attempt || ':' || status, ',' ORDER BY attempt) AS attempts FROM attempts
       WHERE step_id IN ('nap', 'flaky') GROUP BY run_id, step_id`,
    );
    expect(attempts.filter((a) => a.step_id === 'nap').map((a) => a.attempts)).toEqual(Array(RUNS).fill('1:succeeded'));
    expect(attempts.filter((a) => a.step_id === 'flaky').map((a) => a.attempts)).toEqual(Array(RUNS).fill('1:failed,2:succeeded'));
    const waits = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM events WHERE type = 'step.waiting'`);
    expect(waits).toEqual([{ n: RUNS }]);
    // Side effects: without any crash, every call happened exactly as often as it should.
    const lines = readFileSync(ledgerFile, 'utf8').trim().split('\n');
    for (const id of runIds) {
      expect(lines.filter((l) => l.startsWith(`${id} `)).sort()).toEqual([`${id} a`, `${id} c`, `${id} flaky call 1`, `${id} flaky call 2`]);
    }
    const exits = await Promise.all(
      procs.map(async (p) => {
        await stopProcess(p, 'SIGTERM');
        return p.child.exitCode;
      }),
    );
    expect(exits).toEqual([0, 0, 0, 0, 0]);
  }, 150_000);
});
