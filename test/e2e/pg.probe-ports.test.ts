/**
 * The probe port of the roles without the API (DEP-01, OBS-01): an `agentry start worker` and an
 * `agentry start scheduler` process on one PostgreSQL database, each with `--probe-port 0`,
 * serve `/livez`, `/readyz` and `/metrics` at the URL they log; the scheduler's schedule starts
 * runs, the worker executes them, and each process's `/metrics` shows its share.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startCli, tempDir, waitForOutput, removeDir, type CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const KEY = 'viewer-key-0123456789abcdef';
const CONCURRENCY = 3;

interface Role {
  proc: CliProcess;
  url: string;
}

let dir: string | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let worker: Role;
let scheduler: Role;

/** Starts a role and reads its probe URL from its ready log line. */
async function start(args: string[], env: Record<string, string>): Promise<Role> {
  const proc = startCli([...args, '--probe-port', '0'], { env });
  await waitForOutput(proc, (stderr) => / ready: /.test(stderr));
  const ready = proc.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; probe_url?: string })
    .find((line) => line.msg?.includes(' ready: ') === true);
  expect(ready?.probe_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { proc, url: ready!.probe_url! };
}

async function get(role: Role, path: string, key?: string): Promise<Response> {
  return fetch(`${role.url}${path}`, { headers: { connection: 'close', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
}

async function metrics(role: Role): Promise<string> {
  const res = await get(role, '/metrics', KEY);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return res.text();
}

/** The value of one series of the text (labels as printed), undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.runIf(hasPostgres)('probe ports of the worker and scheduler roles', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    dir = tempDir('agentry-probes-');
    const project = join(dir, 'project');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: probes\n');
    const ticker = { name: 'ticker', schedule: { cron: '* * * * * *' }, steps: { a: { transform: { n: 1 } } } };
    writeFileSync(join(project, 'workflows', 'ticker.yaml'), JSON.stringify(ticker));
    db = await createTestDatabase();
    const env = {
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_API_KEYS: `ops:${KEY}:viewer`,
      AGENTRY_POLL_INTERVAL: '200ms',
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_CONCURRENCY: String(CONCURRENCY),
      AGENTRY_LOG_LEVEL: 'info',
    };
    // Schedules are the scheduler's alone: the worker runs no sweeps.
    [worker, scheduler] = await Promise.all([
      start(['start', 'worker', '--no-scheduler', '--dir', project], env),
      start(['start', 'scheduler', '--dir', project], env),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const role of [worker, scheduler]) role?.proc.child.kill('SIGTERM');
    const ended = await Promise.all([worker, scheduler].map((role) => role?.proc.done));
    await killAll();
    await db?.drop();
    if (dir) removeDir(dir);
    expect(ended.map((result) => result?.code)).toEqual([0, 0]);
  });

  it('serves /livez and /readyz open, and /metrics to a metrics:read key, on each process', async () => {
    for (const role of [worker, scheduler]) {
      expect(await (await get(role, '/livez')).json()).toEqual({ status: 'ok' });
      const ready = await get(role, '/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
      expect((await get(role, '/metrics')).status).toBe(401);
      const text = await metrics(role);
      expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(text).toContain('# TYPE agentry_event_loop_lag_seconds gauge');
    }
    expect(value(await metrics(worker), 'agentry_worker_slots')).toBe(CONCURRENCY);
    expect(value(await metrics(scheduler), 'agentry_worker_slots')).toBe(0);
  });

  it("shows the scheduler's ticks on its port and the worker's step attempts on its own", async () => {
    const done = 'agentry_step_duration_seconds_count{workflow="ticker",kind="transform",status="succeeded"}';
    const text = await eventually(
      async () => {
        const t = await metrics(worker);
        return (value(t, done) ?? 0) > 0 ? t : undefined;
      },
      20_000,
      'a ticker step executed by the worker',
    );
    expect(value(text, 'agentry_runs_finished_total{workflow="ticker",status="succeeded"}')).toBeGreaterThan(0);
    expect(value(text, 'agentry_workers_live')).toBe(1);
    const ticks = await metrics(scheduler);
    expect(value(ticks, 'agentry_schedule_ticks_total{schedule="ticker",outcome="started"}')).toBeGreaterThan(0);
    expect(value(ticks, 'agentry_runs_started_total{workflow="ticker"}')).toBeGreaterThan(0);
    // The worker executed them, not the scheduler.
    expect(value(ticks, done)).toBeUndefined();
  });
});
