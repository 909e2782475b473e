/**
 * Scale-out under SIGKILL: three worker processes share one PostgreSQL database while a
 * controller kills a random one every few hundred milliseconds and starts a replacement.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { clientEngine } from '../helpers/engine.js';
import type { TestServer } from '../helpers/http-server.js';
import { exactlyOnceReport, ledgerStep, startLedger, startRole, stopProcess, waitForRuns, writeProject, type RoleProcess } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const RUNS = Number(process.env.AGENTRY_CHAOS_RUNS ?? 1000);
const KILLS = Number(process.env.AGENTRY_CHAOS_KILLS ?? 20);
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

describe.runIf(hasPostgres)('postgres chaos', () => {
  it(`finishes ${RUNS} runs across 3 workers exactly once per step while workers are SIGKILLed at least ${KILLS} times`, async () => {
    const { dir, remove } = tempDir('agentry-pg-chaos-');
    cleanups.push(remove);
    const ledgerFile = join(dir, 'ledger.txt');
    const ledger: TestServer = await startLedger(ledgerFile);
    cleanups.push(() => ledger.close());
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const projectDir = writeProject(dir, [WORKFLOW]);

    const store: Store = openPostgresStore(db.url, { poolSize: 4 });
    cleanups.push(() => store.close());
    const client = clientEngine(store, [WORKFLOW]);

    // Enqueue first (the workers would compete for the two cores), then let them loose.
    let started = Date.now();
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) runIds.push((await client.startRun('ledger', {})).id);
    const enqueuedMs = Date.now() - started;

    const slots: RoleProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(slots.map((p) => stopProcess(p)));
    });
    const spawnWorker = () => startRole('worker', { url: db.url, projectDir, env: { LEDGER_URL: ledger.url } });
    started = Date.now();
    for (let i = 0; i < 3; i++) slots.push(spawnWorker());

    // The controller: kill a random worker that is up, start its replacement at once.
    const isUp = (p: RoleProcess) => p.stderr.includes('engine started') && p.child.exitCode === null && p.child.signalCode === null;
    let kills = 0;
    while (kills < KILLS) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 400));
      const up = slots.map((p, i) => [p, i] as const).filter(([p]) => isUp(p));
      if (up.length === 0) continue;
      const [victim, index] = up[Math.floor(Math.random() * up.length)]!;
      await stopProcess(victim, 'SIGKILL');
      kills++;
      slots[index] = spawnWorker();
    }
    const chaosMs = Date.now() - started;
    const doneDuringChaos = (await store.listRuns({ limit: RUNS, status: ['succeeded'] })).items.length;

    await waitForRuns(db.url, RUNS, 180_000).catch((error: unknown) => {
      for (const p of slots)
        console.error(
          p.stderr
            .split('\n')
            .filter((l) => /"level":"(warn|error|fatal)"/.test(l))
            .slice(-5)
            .join('\n'),
        );
      throw error;
    });
    const totalMs = Date.now() - started;
    await Promise.all(slots.map((p) => p.started.catch(() => undefined)));
    const exits = await Promise.all(
      slots.map(async (p) => {
        await stopProcess(p, 'SIGTERM');
        return p.child.exitCode;
      }),
    );
    expect(exits).toEqual([0, 0, 0]);

    const report = await exactlyOnceReport(db.url);
    console.info(
      `[pg.chaos] ${RUNS} runs enqueued in ${enqueuedMs} ms; ${kills} kills over ${chaosMs} ms (${doneDuringChaos} runs done meanwhile); all done in ${totalMs} ms`,
    );
    expect(report).toEqual({
      runs: [{ status: 'succeeded', n: RUNS }],
      succeededAttempts: { n: RUNS * 3 },
      duplicateSucceededAttempts: [],
      succeededEvents: { n: RUNS * 3 },
      duplicateSucceededEvents: [],
      duplicateStarts: [],
      leftOver: { n: 0 },
    });
    // Every step's side effect happened at least once (a kill may have made one happen twice).
    const lines = new Set(readFileSync(ledgerFile, 'utf8').trim().split('\n'));
    for (const id of runIds) for (const step of ['one', 'two', 'three']) expect(lines.has(`${id} ${step}`)).toBe(true);
  }, 300_000);
});
