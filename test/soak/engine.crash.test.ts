/**
 * Crash safety with real processes: the engine runs as `agentry start worker` in a child
 * process that the test SIGKILLs at random moments and starts again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { Engine } from '../../src/engine/engine.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import { clientEngine } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { tempDir } from '../helpers/store.js';

const REPO = join(import.meta.dirname, '..', '..');

function ledgerStep(step: string, needs: string[] = []) {
  return {
    ...(needs.length ? { needs } : {}),
    http: { url: '{{ env.LEDGER_URL }}/append', method: 'POST', body: { run: '{{ run.id }}', step } },
    retry: { max_attempts: 20, initial: '50ms', max: '300ms' },
  };
}

const WORKFLOWS = [
  { name: 'ledger', env: { LEDGER_URL: {} }, steps: { one: ledgerStep('one'), two: ledgerStep('two', ['one']), three: ledgerStep('three', ['two']) } },
  { name: 'nap', env: { LEDGER_URL: {} }, steps: { a: ledgerStep('a'), nap: { needs: ['a'], sleep: '2s' }, c: ledgerStep('c', ['nap']) } },
  {
    name: 'flaky',
    env: { LEDGER_URL: {} },
    steps: {
      call: {
        http: { url: '{{ env.LEDGER_URL }}/flaky', method: 'POST', body: { run: '{{ run.id }}' } },
        retry: { max_attempts: 3, initial: '2s', jitter: false },
      },
    },
  },
];

interface Harness {
  dir: string;
  dbFile: string;
  ledgerFile: string;
  server: TestServer;
  store: Store;
  engine: Engine;
  children: ChildProcess[];
}

let harness: Harness | undefined;
let removeDir: (() => void) | undefined;

async function setUp(): Promise<Harness> {
  const { dir, remove } = tempDir('agentry-crash-');
  removeDir = remove;
  const ledgerFile = join(dir, 'ledger.txt');
  writeFileSync(ledgerFile, '');
  const flakyCalls = new Map<string, number>();
  const server = await startServer(async (req, res, body) => {
    const { run, step } = JSON.parse(body) as { run: string; step?: string };
    if (req.url === '/flaky') {
      const n = (flakyCalls.get(run) ?? 0) + 1;
      flakyCalls.set(run, n);
      appendFileSync(ledgerFile, `${run} flaky ${n}\n`);
      json(res, n === 1 ? 503 : 200, { n });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    appendFileSync(ledgerFile, `${run} ${step}\n`);
    json(res, 200, { ok: true });
  });
  mkdirSync(join(dir, 'project', 'workflows'), { recursive: true });
  writeFileSync(join(dir, 'project', 'agentry.yaml'), 'version: v1\nname: crash\n');
  for (const wf of WORKFLOWS) writeFileSync(join(dir, 'project', 'workflows', `${wf.name}.yaml`), JSON.stringify(wf, null, 2));
  const dbFile = join(dir, 'agentry.db');
  const store = openSqliteStore(dbFile);
  await store.migrate();
  const engine = clientEngine(store, WORKFLOWS);
  return { dir, dbFile, ledgerFile, server, store, engine, children: [] };
}

/** Starts `agentry start worker` and resolves once it says the engine started. */
function startWorker(h: Harness): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'start', 'worker', '--dir', join(h.dir, 'project')], {
    cwd: REPO,
    env: {
      ...process.env,
      AGENTRY_DATABASE_URL: `sqlite:${h.dbFile}`,
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_POLL_INTERVAL: '100ms',
      AGENTRY_CONCURRENCY: '4',
      AGENTRY_LOG_LEVEL: 'info',
      AGENTRY_PROBE_PORT: 'off',
      LEDGER_URL: h.server.url,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  h.children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('engine started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started:\n${output}`)));
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function waitForAll(store: Store, runIds: string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const runs = await Promise.all(runIds.map((id) => store.getRun(id)));
    if (runs.every((r) => r && ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.status))) return;
    if (Date.now() > end) throw new Error('runs did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function waitForEvent(store: Store, runId: string, type: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await store.listEvents(runId, 0, 1000)).some((e) => e.type === type)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${type} event`);
}

function count(db: Database.Database, query: string): Array<Record<string, unknown>> {
  return db.prepare(query).all() as Array<Record<string, unknown>>;
}

afterEach(async () => {
  if (!harness) return;
  for (const child of harness.children) await kill(child, 'SIGKILL');
  await harness.store.close();
  await harness.server.close();
  harness = undefined;
  removeDir?.();
});

describe('crash safety', () => {
  it('finishes 200 runs exactly once per step through repeated SIGKILLs of the worker', async () => {
    const h = (harness = await setUp());
    const runIds: string[] = [];
    for (let i = 0; i < 200; i++) runIds.push((await h.engine.startRun('ledger', {})).id);

    let kills = 0;
    while (kills < 6) {
      const child = await startWorker(h);
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 500));
      await kill(child, 'SIGKILL');
      kills++;
    }
    const last = await startWorker(h);
    await waitForAll(h.store, runIds, 150_000);
    await kill(last, 'SIGTERM');
    expect(last.exitCode).toBe(0);

    const db = new Database(h.dbFile, { readonly: true });
    try {
      expect(count(db, `SELECT status, COUNT(*) AS n FROM runs GROUP BY status`)).toEqual([{ status: 'succeeded', n: 200 }]);
      // Exactly one successful completion per step, in the attempts and in the event log.
      expect(count(db, `SELECT COUNT(*) AS n FROM attempts WHERE status = 'succeeded'`)).toEqual([{ n: 600 }]);
      expect(count(db, `SELECT run_id, step_id FROM attempts WHERE status = 'succeeded' GROUP BY run_id, step_id HAVING COUNT(*) > 1`)).toEqual([]);
      expect(count(db, `SELECT COUNT(*) AS n FROM events WHERE type = 'step.succeeded'`)).toEqual([{ n: 600 }]);
      expect(count(db, `SELECT run_id, step_id FROM events WHERE type = 'step.succeeded' GROUP BY run_id, step_id HAVING COUNT(*) > 1`)).toEqual([]);
      // Nothing left leased or running.
      expect(count(db, `SELECT COUNT(*) AS n FROM steps WHERE status <> 'succeeded' OR lease_owner IS NOT NULL`)).toEqual([{ n: 0 }]);
    } finally {
      db.close();
    }
    // Every step's side effect happened at least once (re-executions after a kill are allowed).
    const lines = new Set(readFileSync(h.ledgerFile, 'utf8').trim().split('\n'));
    for (const id of runIds) for (const step of ['one', 'two', 'three']) expect(lines.has(`${id} ${step}`)).toBe(true);
  }, 240_000);

  it('keeps a sleep across a SIGKILL: the run finishes after restart without starting over', async () => {
    const h = (harness = await setUp());
    const worker = await startWorker(h);
    const run = await h.engine.startRun('nap', {});
    await waitForEvent(h.store, run.id, 'step.waiting');
    await kill(worker, 'SIGKILL');
    const [waiting] = (await h.store.listEvents(run.id, 0, 100)).filter((e) => e.type === 'step.waiting');
    const again = await startWorker(h);
    await waitForAll(h.store, [run.id], 30_000);
    await kill(again, 'SIGTERM');

    expect((await h.store.getRun(run.id))?.status).toBe('succeeded');
    const events = await h.store.listEvents(run.id, 0, 100);
    expect(events.filter((e) => e.type === 'step.waiting')).toEqual([waiting]);
    expect(events.filter((e) => e.type === 'step.started' && e.stepId === 'a')).toHaveLength(1);
    expect((await h.store.listAttempts(run.id, 'nap')).map((a) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
    const nap = (await h.store.getSteps(run.id)).find((s) => s.stepId === 'nap');
    expect(nap!.finishedAt! - nap!.startedAt!).toBeGreaterThanOrEqual(2_000);
    const ledger = readFileSync(h.ledgerFile, 'utf8').trim().split('\n');
    expect(ledger.filter((l) => l === `${run.id} a`)).toHaveLength(1);
  }, 60_000);

  it('keeps a retry timer across a SIGKILL: the retry runs after restart as attempt 2', async () => {
    const h = (harness = await setUp());
    const worker = await startWorker(h);
    const run = await h.engine.startRun('flaky', {});
    await waitForEvent(h.store, run.id, 'step.retry_scheduled');
    await kill(worker, 'SIGKILL');
    const again = await startWorker(h);
    await waitForAll(h.store, [run.id], 30_000);
    await kill(again, 'SIGTERM');

    expect((await h.store.getRun(run.id))?.status).toBe('succeeded');
    expect((await h.store.listAttempts(run.id, 'call')).map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(readFileSync(h.ledgerFile, 'utf8').trim().split('\n')).toEqual([`${run.id} flaky 1`, `${run.id} flaky 2`]);
  }, 60_000);
});
