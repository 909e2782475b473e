/**
 * Dependency-ordered startup without a crash loop (DEP-02): an `agentry start worker` whose
 * AGENTRY_GATEWAY_URL names a gateway process that is not up yet starts anyway, keeps running
 * and reports not ready on its probe port, its `gateway` check naming the gateway; once
 * `agentry start gateway` listens there, the same process turns ready without a restart and
 * runs an agent step through it. deploy/project's `summarise` is the agent workflow.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, removeDir, runCli, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/engine.js';
import { freePort, logLines, query } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const PROJECT = resolve(import.meta.dirname, '../../deploy/project');
const KEY = randomBytes(24).toString('hex');
/** The line `agentry start worker` logs once its engine runs (not the `not ready: …` of a probe). */
const READY_LINE = /^worker\+scheduler ready: /;

interface Readyz {
  status: string;
  checks: Record<string, { status: 'ok' | 'fail'; detail: string }>;
}

let dir: string | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let env: Record<string, string>;
let gatewayUrl: string;
let worker: CliProcess | undefined;
let probeUrl: string;

async function readyz(): Promise<{ status: number; body: Readyz }> {
  const res = await fetch(`${probeUrl}/readyz`, { headers: { connection: 'close' } });
  return { status: res.status, body: (await res.json()) as Readyz };
}

describe.runIf(hasPostgres)('a worker started before its gateway process', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    dir = tempDir('agentry-gateway-down-');
    db = await createTestDatabase();
    gatewayUrl = `http://127.0.0.1:${await freePort()}`;
    env = {
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_API_KEYS: `admin:${KEY}:admin`,
      AGENTRY_INTERNAL_SECRET: randomBytes(32).toString('hex'),
      AGENTRY_POLL_INTERVAL: '200ms',
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_LOG_LEVEL: 'info',
    };
    worker = startCli(['start', 'worker', '--dir', PROJECT, '--probe-port', '0'], { env: { ...env, AGENTRY_GATEWAY_URL: gatewayUrl } });
    await waitForOutput(worker, (stderr) => stderr.includes('"msg":"worker+scheduler ready: '));
    probeUrl = String(logLines(worker.stderr, READY_LINE)[0]?.probe_url);
  }, 30_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    const ended = await worker?.done;
    await killAll();
    await db?.drop();
    if (dir) removeDir(dir);
    expect(ended?.code).toBe(0);
  });

  it('keeps running and reports not ready, its gateway check naming the gateway it waits for', async () => {
    expect(probeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const first = await readyz();
    expect(first.status).toBe(503);
    expect(first.body.status).toBe('not_ready');
    expect(first.body.checks.gateway).toEqual({
      status: 'fail',
      detail: `the gateway at ${gatewayUrl} does not answer /livez (ECONNREFUSED); workflows with agent steps: summarise`,
    });
    // Only the gateway is missing: the database, the worker loop and the rest are fine.
    const failing = Object.entries(first.body.checks).filter(([, check]) => check.status === 'fail');
    expect(failing.map(([name]) => name)).toEqual(['gateway']);
    expect((await fetch(`${probeUrl}/livez`, { headers: { connection: 'close' } })).status).toBe(200);
    // Logged once, as a change of readiness.
    const changed = await eventually(() => Promise.resolve(logLines(worker!.stderr, /^not ready/)[0]), 5_000, 'the not-ready log line');
    expect(changed).toMatchObject({ event: 'readiness_changed', ready: false });
    expect(JSON.stringify(changed)).toContain(gatewayUrl);
    // Asked again, it still answers, from the same process.
    expect((await readyz()).status).toBe(503);
    expect(worker!.child.exitCode).toBeNull();
    expect(worker!.child.signalCode).toBeNull();
  });

  it('turns ready once the gateway process listens, without a restart, and runs an agent step through it', async () => {
    const pid = worker!.child.pid;
    const port = new URL(gatewayUrl).port;
    const gateway = startCli(['start', 'gateway', '--dir', PROJECT, '--port', port], { env });
    try {
      await waitForOutput(gateway, (_stderr, stdout) => stdout.includes('Agentry gateway listening on'));
      await readyThroughGateway(pid);
    } finally {
      gateway.child.kill('SIGTERM');
      expect((await gateway.done).code).toBe(0);
    }

    // The gateway gone again: not ready again, still the same process.
    const down = await eventually(
      async () => {
        const answer = await readyz();
        return answer.status === 503 ? answer : undefined;
      },
      20_000,
      'the worker to report the gateway gone',
    );
    expect(down.body.checks.gateway?.detail).toContain(`the gateway at ${gatewayUrl} does not answer /livez`);
    expect(worker!.child.pid).toBe(pid);
    expect(worker!.child.exitCode).toBeNull();
  });
});

/** Waits for the worker (process `pid`) to turn ready, then runs `summarise` on it through the gateway. */
async function readyThroughGateway(pid: number | undefined): Promise<void> {
  const ready = await eventually(
    async () => {
      const answer = await readyz();
      return answer.status === 200 ? answer : undefined;
    },
    20_000,
    'the worker to turn ready',
  );
  expect(ready.body.status).toBe('ready');
  expect(ready.body.checks.gateway).toEqual({ status: 'ok', detail: `remote: ${gatewayUrl} answers /livez` });
  expect(worker!.child.pid).toBe(pid);
  expect(worker!.child.exitCode).toBeNull();
  expect(logLines(worker!.stderr, /^ready again/)).toHaveLength(1);
  expect(logLines(worker!.stderr, READY_LINE)).toHaveLength(1);

  // A run queued now runs on that worker, its agent step answered by the gateway process.
  const started = await runCli(['run', 'summarise', '--dir', PROJECT, '--json', '--input', '{"text":"Agentry started in order."}'], {
    cwd: dir,
    env: { ...env, AGENTRY_GATEWAY_URL: gatewayUrl },
  });
  expect(started.code, started.stderr).toBe(0);
  const runId = (JSON.parse(started.stdout) as { id: string }).id;
  const status = await eventually(
    async () => {
      const [run] = await query<{ status: string }>(db!.url, 'SELECT status FROM runs WHERE id = $1', [runId]);
      return run?.status === 'succeeded' || run?.status === 'failed' ? run.status : undefined;
    },
    20_000,
    'the summarise run to end',
  );
  expect(status).toBe('succeeded');
  const workerId = logLines(worker!.stderr, READY_LINE)[0]?.worker;
  const attempts = await query<{ worker_id: string }>(db!.url, 'SELECT worker_id FROM attempts WHERE run_id = $1', [runId]);
  expect(attempts.map((a) => a.worker_id)).toEqual([workerId]);
}
