/**
 * Stateless API replicas (DEP-18): two `agentry start api` processes on one PostgreSQL database,
 * as behind a load balancer, with two worker processes. A run started through API A reads the
 * same through API B, is cancelled through B, and A sees it cancelled and ends its event stream;
 * a batch of runs started through A and B in turn runs each step exactly once (ENG-12).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, removeDir, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { exactlyOnceReport, ledgerStep, query, startRole, stopProcess, waitForRuns, writeProject, type RoleProcess } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const KEY = randomBytes(24).toString('hex');
const BATCH = 20;
const NAP = { name: 'nap', steps: { a: { transform: { n: 1 } }, nap: { needs: ['a'], sleep: '10m' } } };
const LEDGER = { name: 'ledger', env: { LEDGER_URL: {} }, steps: { a: ledgerStep('a'), b: ledgerStep('b', ['a']), c: ledgerStep('c', ['a']) } };
const LEDGER_STEPS = ['a', 'b', 'c'];

interface Run {
  id: string;
  status: string;
}

let dir: string | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let ledger: TestServer | undefined;
/** `<run> <step>` for each side effect the ledger recorded. */
const effects: string[] = [];
const apis: CliProcess[] = [];
const workers: RoleProcess[] = [];
let urls: [string, string];

async function call<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe.runIf(hasPostgres)('two API processes on one PostgreSQL database', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    dir = tempDir('agentry-api-replicas-');
    // Each answer closes its connection: no keep-alive socket of a worker outlives a test.
    ledger = await startServer((_req, res, body) => {
      const { run, step } = JSON.parse(body) as { run: string; step: string };
      effects.push(`${run} ${step}`);
      json(res, 200, { ok: true }, { connection: 'close' });
    });
    db = await createTestDatabase();
    const project = writeProject(dir, [NAP, LEDGER]);
    const env = {
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_API_KEYS: `admin:${KEY}:admin`,
      AGENTRY_POLL_INTERVAL: '200ms',
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_LOG_LEVEL: 'info',
      LEDGER_URL: ledger.url,
    };
    for (let i = 0; i < 2; i++) {
      workers.push(startRole('worker', { url: db.url, projectDir: project, env: { LEDGER_URL: ledger.url, AGENTRY_CONCURRENCY: '4' } }));
      apis.push(startCli(['start', 'api', '--dir', project, '--port', '0'], { env }));
    }
    await Promise.all([...workers.map((w) => w.started), ...apis.map((api) => waitForOutput(api, (_stderr, stdout) => stdout.includes('curl ')))]);
    urls = apis.map((api) => /listening on (http:\/\/\S+)/.exec(api.stdout)![1]!) as [string, string];
  }, 60_000);

  afterAll(async () => {
    for (const api of apis) api.child.kill('SIGTERM');
    const ended = await Promise.all(apis.map((api) => api.done));
    for (const worker of workers) await stopProcess(worker, 'SIGTERM');
    await killAll();
    await ledger?.close();
    await db?.drop();
    if (dir) removeDir(dir);
    expect(ended.map((result) => result.code)).toEqual([0, 0]);
  });

  it('reads a run started through A the same through B, cancels it through B, and A sees it cancelled and ends its stream', async () => {
    const [a, b] = urls;
    expect(a).not.toBe(b);
    const started = await call<Run>(a, 'POST', '/v1/workflows/nap/runs', { input: {} });
    expect(started.status).toBe(201);
    const id = started.body.id;
    // Its durable sleep parked in the store (no worker holds it): nothing changes for 10 minutes.
    await eventually(
      async () => (await query(db!.url, `SELECT 1 FROM attempts WHERE run_id = $1 AND step_id = 'nap' AND status = 'suspended'`, [id]))[0],
      20_000,
      'the sleep step to park',
    );
    const viaA = await call<Run>(a, 'GET', `/v1/runs/${id}`);
    const viaB = await call<Run>(b, 'GET', `/v1/runs/${id}`);
    expect(viaB.status).toBe(200);
    expect(viaB.body).toEqual(viaA.body);
    expect(viaB.body.status).not.toMatch(/^(succeeded|failed|cancelled|timed_out)$/);

    // A follows the run's events while B cancels it.
    const stream = fetch(`${a}/v1/runs/${id}/events`, { headers: { authorization: `Bearer ${KEY}`, accept: 'text/event-stream', connection: 'close' } });
    const opened = await stream;
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = opened.text();
    const cancelled = await call<Run>(b, 'POST', `/v1/runs/${id}/cancel`, { reason: 'cancelled through API B' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await call<Run>(a, 'GET', `/v1/runs/${id}`)).body).toMatchObject({ id, status: 'cancelled' });
    // The stream ends by itself after the run's terminal event, committed by the other process.
    const frames = (await text).split('\n\n').filter((frame) => frame.includes('event: '));
    expect(frames.at(-1)).toMatch(/^event: run\.cancelled$/m);
    expect(frames.at(-1)).toContain('cancelled through API B');
  });

  it(`runs each step of ${BATCH} runs started through A and B in turn exactly once`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const started = await call<Run>(urls[i % 2]!, 'POST', '/v1/workflows/ledger/runs', { input: {} });
      expect(started.status).toBe(201);
      ids.push(started.body.id);
    }
    // The nap run of the test above, cancelled, and the batch.
    await waitForRuns(db!.url, BATCH + 1, 45_000);
    const report = await exactlyOnceReport(db!.url);
    const napLeft = await query<{ n: number }>(
      db!.url,
      `SELECT count(*)::int AS n FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.workflow = 'nap' AND (s.status <> 'succeeded' OR s.lease_owner IS NOT NULL)`,
    );
    expect(report).toEqual({
      runs: [
        { status: 'cancelled', n: 1 },
        { status: 'succeeded', n: BATCH },
      ],
      // The nap run's first step, and each ledger step once.
      succeededAttempts: { n: 1 + BATCH * LEDGER_STEPS.length },
      duplicateSucceededAttempts: [],
      succeededEvents: { n: 1 + BATCH * LEDGER_STEPS.length },
      duplicateSucceededEvents: [],
      duplicateStarts: [],
      leftOver: { n: napLeft[0]!.n },
    });
    // Each side effect happened once.
    expect([...effects].sort()).toEqual(ids.flatMap((id) => LEDGER_STEPS.map((step) => `${id} ${step}`)).sort());
    // Every run reads the same through either API.
    for (const id of ids) {
      const [viaA, viaB] = await Promise.all(urls.map((base) => call<Run>(base, 'GET', `/v1/runs/${id}`)));
      expect(viaA!.body.status).toBe('succeeded');
      expect(viaB!.body).toEqual(viaA!.body);
    }
  });
});
