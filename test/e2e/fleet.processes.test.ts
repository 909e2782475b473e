/**
 * Draining workers and maintenance mode with real processes, through the real CLI and API:
 *
 * - PostgreSQL, two `agentry start worker` processes: `agentry workers drain <id>` of the one
 *   running a step — it finishes that step (not handed back), claims nothing after (a run started
 *   after the drain goes to the other worker, as does the held run's next step) and exits 0;
 *   maintenance mode keeps a run queued across several heartbeats of both workers (dozens of
 *   polls each), and turning it off lets it finish.
 * - SQLite, one `agentry serve`: the drain through the API and the remote CLI (the whole process
 *   stops once its step is done; a run started after stays queued), and maintenance mode through
 *   `PUT|GET|DELETE /v1/admin/maintenance` with `/health`, `/readyz`, `/metrics` and the audit log.
 * - Quiesce (`agentry maintenance on --quiesce`): a worker process keeps claiming so the accepted
 *   run finishes while `agentry run` is refused (`maintenance_quiesced`); an `agentry serve`'s
 *   `/readyz` and run starts answer 503 until `off`.
 *
 * One command of each kind runs as the real binary (`workers drain`, `maintenance on`, the remote
 * `workers drain`); the others, which only print and exit, run in this process (`runCliInProcess`).
 *
 * "Claims none after" is asserted by state — which worker's attempts exist — never by timing;
 * "polls happened" by counting heartbeats in the workers table (a heartbeat every third of the
 * lease TTL, a poll at least every poll interval, a fraction of it).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { killAll, runCli, runCliInProcess, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { clientEngine, eventually } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { logLines, query, startRole, stopProcess, writeProject, type RoleProcess } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

/** `hold` waits for the gate to open; `after` and `quick` answer at once. */
const HELD = {
  name: 'held',
  env: { GATE: {} },
  steps: {
    hold: { http: { url: '{{ env.GATE }}/hold', method: 'POST', timeout: '5m' } },
    after: { needs: ['hold'], http: { url: '{{ env.GATE }}/quick', method: 'POST' } },
  },
};
const QUICK = { name: 'quick', env: { GATE: {} }, steps: { one: { http: { url: '{{ env.GATE }}/quick', method: 'POST' } } } };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** A gate server: `/hold` answers once `open()` is called, anything else at once. */
async function gate(): Promise<{ server: TestServer; open: () => void; held: () => number }> {
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const server = await startServer(async (req, res) => {
    if (req.url === '/hold') {
      held++;
      await opened;
    }
    json(res, 200, { ok: true });
  });
  cleanups.push(() => server.close());
  return { server, open: release, held: () => held };
}

function projectDir(): string {
  const { dir, remove } = tempDir('agentry-fleet-');
  cleanups.push(remove);
  return writeProject(dir, [HELD, QUICK]);
}

/** Resolves once each worker's heartbeat (read by `beats`) has moved `n` times. */
async function heartbeatsPass(beats: () => Promise<Map<string, number>>, ids: string[], n: number): Promise<void> {
  const seen = new Map<string, Set<number>>(ids.map((id) => [id, new Set()]));
  await eventually(
    async () => {
      const now = await beats();
      for (const id of ids) {
        const at = now.get(id);
        if (at !== undefined) seen.get(id)!.add(at);
      }
      return ids.every((id) => seen.get(id)!.size > n) ? true : undefined;
    },
    60_000,
    `${n} heartbeats of ${ids.join(', ')}`,
  );
}

describe.runIf(hasPostgres)('worker processes on PostgreSQL', () => {
  async function setUp() {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const g = await gate();
    const dir = projectDir();
    const store = openPostgresStore(db.url, { poolSize: 2 });
    cleanups.push(() => store.close());
    const engine = clientEngine(store, [HELD, QUICK]);
    const procs: RoleProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(procs.map((p) => stopProcess(p)));
    });
    const start = async (): Promise<RoleProcess> => {
      const proc = startRole('worker', { url: db.url, projectDir: dir, env: { GATE: g.server.url } });
      procs.push(proc);
      await proc.started;
      return proc;
    };
    const cliEnv = { AGENTRY_DATABASE_URL: db.url, AGENTRY_PROJECT_DIR: dir, USER: 'ops-bob' };
    const beats = async () =>
      new Map((await query<{ id: string; heartbeat_at: string }>(db.url, `SELECT id, heartbeat_at FROM workers`)).map((w) => [w.id, Number(w.heartbeat_at)]));
    return { url: db.url, gate: g, store, engine, start, cliEnv, beats };
  }

  it('drains the worker running a step: it finishes the step, claims nothing after, and exits 0; the other carries on', async () => {
    const s = await setUp();
    const first = await s.start();
    const held = await s.engine.startRun('held', {});
    const firstId = await eventually(
      async () =>
        (
          await query<{ lease_owner: string }>(s.url, `SELECT lease_owner FROM steps WHERE run_id = $1 AND step_id = 'hold' AND status = 'running'`, [held.id])
        )[0]?.lease_owner,
      20_000,
      'the held step to run',
    );
    const second = await s.start();

    const unknown = await runCliInProcess(['workers', 'drain', 'wrk_nope'], { env: s.cliEnv });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error [not_found]: no worker 'wrk_nope'");

    const drain = await runCli(['workers', 'drain', firstId], { env: s.cliEnv });
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toContain(`Worker ${firstId} (`);
    expect(drain.stdout).toContain('is draining');
    const listed = JSON.parse((await runCliInProcess(['workers', 'list', '--json'], { env: s.cliEnv })).stdout) as { items: Array<Record<string, unknown>> };
    expect(listed.items.find((w) => w.id === firstId)).toMatchObject({ state: 'draining', current_steps: 1, roles: ['worker', 'scheduler'] });
    expect(listed.items.filter((w) => w.id !== firstId)).toEqual([expect.objectContaining({ state: 'active', current_steps: 0 })]);

    // Started after the drain was stored: only the other worker may claim it.
    const later = await s.engine.startRun('quick', {});
    expect((await s.engine.waitForRun(later.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    await eventually(
      () => Promise.resolve(logLines(first.stderr, /^drain requested/).length > 0 ? true : undefined),
      20_000,
      'the first worker to see the drain',
    );
    expect(first.child.exitCode).toBeNull(); // still finishing its step

    s.gate.open();
    expect(await first.exited, first.stderr).toBe(0);
    expect(logLines(first.stderr, /^drained/)).toHaveLength(1);
    expect((await s.engine.waitForRun(held.id, { timeoutMs: 30_000 })).status).toBe('succeeded');

    const attempts = await query<{ run_id: string; step_id: string; status: string; worker_id: string }>(
      s.url,
      `SELECT run_id, step_id, status, worker_id FROM attempts ORDER BY started_at`,
    );
    const secondId = attempts.find((a) => a.run_id === later.id)!.worker_id;
    expect(secondId).not.toBe(firstId);
    expect(attempts.map((a) => [a.run_id === held.id ? 'held' : 'later', a.step_id, a.status, a.worker_id === firstId ? 'first' : 'second'])).toEqual([
      ['held', 'hold', 'succeeded', 'first'],
      ['later', 'one', 'succeeded', 'second'],
      ['held', 'after', 'succeeded', 'second'],
    ]);
    expect(s.gate.held()).toBe(1);
    expect((await query(s.url, `SELECT id FROM workers`)).map((w) => w.id)).toEqual([secondId]);
    expect(second.child.exitCode).toBeNull();
    const audit = await query<{ principal: string; target: string; outcome: string }>(
      s.url,
      `SELECT principal, target, outcome FROM audit_log WHERE action = 'worker.drain' ORDER BY seq`,
    );
    expect(audit).toEqual([
      { principal: 'ops-bob', target: 'worker:wrk_nope', outcome: 'denied' },
      { principal: 'ops-bob', target: `worker:${firstId}`, outcome: 'success' },
    ]);
  }, 120_000);

  it('quiesces through the CLI: the worker process finishes the accepted run while agentry run is refused', async () => {
    const s = await setUp();
    const worker = await s.start();
    const held = await s.engine.startRun('held', {});
    await eventually(() => Promise.resolve(s.gate.held() === 1 ? true : undefined), 20_000, 'the held step to run');

    const on = await runCli(['maintenance', 'on', '--quiesce', '--reason', 'upgrade to 0.4'], { env: s.cliEnv });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('Maintenance mode is on, quiesced, since');
    const refused = await runCliInProcess(['run', 'quick', '--json'], { env: s.cliEnv });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error [maintenance_quiesced]: the deployment is quiesced for maintenance');
    await eventually(
      () => Promise.resolve(logLines(worker.stderr, /^maintenance mode on \(quiesce\)/).length === 1 ? true : undefined),
      20_000,
      'the worker to see the quiesce',
    );

    // The worker keeps claiming: the held step finishes and the run's next step runs too.
    s.gate.open();
    expect((await s.engine.waitForRun(held.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    expect((await query(s.url, `SELECT count(*)::int AS n FROM runs`))[0]).toEqual({ n: 1 });

    expect((await runCliInProcess(['maintenance', 'off'], { env: s.cliEnv })).code).toBe(0);
  }, 120_000);

  it('keeps a run queued in maintenance mode across heartbeats of both workers; off, it runs to the end', async () => {
    const s = await setUp();
    const workers = [await s.start(), await s.start()];
    const ids = [...(await s.beats()).keys()];
    expect(ids).toHaveLength(2);

    const on = await runCliInProcess(['maintenance', 'on', '--reason', 'upgrade to 0.3'], { env: s.cliEnv });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('Maintenance mode is on since');
    expect(on.stdout).toContain('(by ops-bob: upgrade to 0.3)');
    const run = await s.engine.startRun('quick', {});
    // A heartbeat every ~670 ms, a poll at least every 500 ms: three heartbeats of each are many polls of each.
    await heartbeatsPass(s.beats, ids, 3);
    expect((await s.store.getRun(run.id))?.status).toBe('queued');
    expect((await s.store.getSteps(run.id)).map((step) => step.status)).toEqual(['queued']);
    expect(await s.store.listAttempts(run.id)).toEqual([]);
    for (const w of workers) expect(logLines(w.stderr, /^maintenance mode on/)).toEqual([expect.objectContaining({ reason: 'upgrade to 0.3', by: 'ops-bob' })]);
    const status = JSON.parse((await runCliInProcess(['maintenance', 'status', '--json'], { env: s.cliEnv })).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ on: true, reason: 'upgrade to 0.3', by: 'ops-bob' });

    const off = await runCliInProcess(['maintenance', 'off'], { env: s.cliEnv });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('Maintenance mode is off');
    expect((await s.engine.waitForRun(run.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    await eventually(
      () => Promise.resolve(workers.every((w) => logLines(w.stderr, /^maintenance mode off/).length === 1) ? true : undefined),
      20_000,
      'both workers to log the end',
    );
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  }, 120_000);
});

describe('agentry serve on SQLite', () => {
  interface Served {
    proc: CliProcess;
    url: string;
    file: string;
  }

  async function serve(): Promise<Served & { gate: Awaited<ReturnType<typeof gate>>; dir: string }> {
    const g = await gate();
    const dir = projectDir();
    const file = join(dir, 'agentry.db');
    const proc = startCli(['serve', dir, '--port', '0'], {
      env: {
        AGENTRY_API_KEYS: API_KEYS,
        AGENTRY_DATABASE_URL: `sqlite:${file}`,
        AGENTRY_LEASE_TTL: '1500ms',
        AGENTRY_POLL_INTERVAL: '100ms',
        AGENTRY_LOG_LEVEL: 'info',
        GATE: g.server.url,
      },
    });
    await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
    return { proc, url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]!, file, gate: g, dir };
  }

  const call = async (url: string, method: string, path: string, role: keyof typeof KEYS, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEYS[role]}`, connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  function read<T>(file: string, sql: string, ...params: unknown[]): T[] {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  it('drains through the API and the remote CLI: the step finishes, a later run stays queued, the process exits 0', async () => {
    const s = await serve();
    const started = await call(s.url, 'POST', '/v1/workflows/held/runs', 'service', { input: {} });
    expect(started.status).toBe(201);
    const heldId = started.body.id as string;
    await eventually(() => Promise.resolve(s.gate.held() === 1 ? true : undefined), 20_000, 'the held step to run');
    const list = await call(s.url, 'GET', '/v1/admin/workers', 'operator');
    expect(list.status).toBe(200);
    const [worker] = list.body.items as Array<{ id: string; current_steps: number; state: string; roles: string[] }>;
    expect(worker).toMatchObject({ current_steps: 1, state: 'active', roles: ['worker', 'scheduler'] });
    expect((await call(s.url, 'POST', `/v1/admin/workers/${worker!.id}/drain`, 'viewer', {})).status).toBe(403);
    expect((await call(s.url, 'POST', '/v1/admin/workers/wrk_nope/drain', 'operator', {})).body).toMatchObject({ code: 'not_found' });

    const remote = { AGENTRY_URL: s.url, AGENTRY_API_KEY: KEYS.operator };
    const drained = await runCli(['workers', 'drain', worker!.id, '--json'], { env: remote });
    expect(drained.code, drained.stderr).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ id: worker!.id, state: 'draining', current_steps: 1 });
    const later = await call(s.url, 'POST', '/v1/workflows/quick/runs', 'service', { input: {} });
    expect(later.status).toBe(201);
    await waitForOutput(s.proc, (stderr) => stderr.includes('drain requested'));

    s.gate.open();
    const done = await s.proc.done;
    expect(done.code, done.stderr).toBe(0);
    expect(logLines(done.stderr, /^stopping: drained/)).toHaveLength(1);
    // The held step finished on this worker; nothing was claimed after the drain.
    expect(read(s.file, `SELECT step_id, status, worker_id FROM attempts ORDER BY started_at`)).toEqual([
      { step_id: 'hold', status: 'succeeded', worker_id: worker!.id },
    ]);
    expect(read(s.file, `SELECT step_id, status FROM steps WHERE run_id = ? ORDER BY step_id`, heldId)).toEqual([
      { step_id: 'after', status: 'queued' },
      { step_id: 'hold', status: 'succeeded' },
    ]);
    expect(read(s.file, `SELECT status FROM runs WHERE id = ?`, later.body.id)).toEqual([{ status: 'queued' }]);
    expect(read(s.file, `SELECT id FROM workers`)).toEqual([]);
  }, 90_000);

  it('pauses claiming with PUT /v1/admin/maintenance while the API answers and shows it; DELETE resumes', async () => {
    const s = await serve();
    expect((await call(s.url, 'PUT', '/v1/admin/maintenance', 'operator', { reason: 'no' })).status).toBe(403);
    const on = await call(s.url, 'PUT', '/v1/admin/maintenance', 'admin', { reason: 'restore drill' });
    expect(on).toMatchObject({ status: 200, body: { on: true, reason: 'restore drill', by: 'admin' } });
    expect((await call(s.url, 'GET', '/v1/admin/maintenance', 'admin')).body).toEqual(on.body);

    const run = await call(s.url, 'POST', '/v1/workflows/quick/runs', 'service', { input: {} });
    expect(run).toMatchObject({ status: 201, body: { status: 'queued' } });
    const health = await fetch(`${s.url}/health`, { headers: { connection: 'close' } });
    expect([health.status, await health.text()]).toEqual([200, '{"status":"ok","maintenance":true}']);
    const ready = (await (await fetch(`${s.url}/readyz`, { headers: { connection: 'close' } })).json()) as {
      status: string;
      checks: Record<string, { detail: string }>;
    };
    expect(ready.status).toBe('ready');
    expect(ready.checks.maintenance?.detail).toMatch(/^on since .* by admin: restore drill/);
    const metrics = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.viewer}`, connection: 'close' } })).text();
    expect(metrics).toMatch(/^agentry_maintenance 1$/m);

    const beats = () =>
      Promise.resolve(new Map(read<{ id: string; heartbeat_at: number }>(s.file, `SELECT id, heartbeat_at FROM workers`).map((w) => [w.id, w.heartbeat_at])));
    await heartbeatsPass(beats, [...(await beats()).keys()], 3);
    expect((await call(s.url, 'GET', `/v1/runs/${run.body.id as string}`, 'service')).body).toMatchObject({
      status: 'queued',
      steps: [{ status: 'queued', attempt: 0 }],
    });

    expect((await call(s.url, 'DELETE', '/v1/admin/maintenance', 'admin')).body).toEqual({ on: false, quiesce: false, reason: null, since: null, by: null });
    await eventually(
      async () => ((await call(s.url, 'GET', `/v1/runs/${run.body.id as string}`, 'service')).body.status === 'succeeded' ? true : undefined),
      20_000,
      'the run to finish',
    );
    const after = await fetch(`${s.url}/health`, { headers: { connection: 'close' } });
    expect(await after.text()).toBe('{"status":"ok"}');
    const audit = await call(s.url, 'GET', '/v1/audit?limit=10', 'admin');
    const actions = (audit.body.items as Array<{ action: string; outcome: string; principal: string }>)
      .filter((e) => e.action.startsWith('maintenance.'))
      .map((e) => [e.action, e.outcome, e.principal]);
    expect(actions).toEqual([
      ['maintenance.off', 'success', 'admin'],
      ['maintenance.on', 'success', 'admin'],
    ]);
    s.proc.child.kill('SIGTERM');
    expect((await s.proc.done).code).toBe(0);
  }, 90_000);

  it('quiesces through the remote CLI: /readyz 503 and new runs 503 maintenance_quiesced; off, both are back', async () => {
    const s = await serve();
    const remote = { AGENTRY_URL: s.url, AGENTRY_API_KEY: KEYS.admin };
    const on = await runCliInProcess(['maintenance', 'on', '--quiesce', '--json'], { env: remote });
    expect(on.code, on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ on: true, quiesce: true, by: 'admin' });
    const ready = await fetch(`${s.url}/readyz`, { headers: { connection: 'close' } });
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, { status: string }> }).checks.maintenance).toMatchObject({ status: 'fail' });
    const refused = await call(s.url, 'POST', '/v1/workflows/quick/runs', 'service', { input: {} });
    expect(refused).toMatchObject({ status: 503, body: { code: 'maintenance_quiesced' } });

    expect((await runCliInProcess(['maintenance', 'off'], { env: remote })).code).toBe(0);
    expect((await fetch(`${s.url}/readyz`, { headers: { connection: 'close' } })).status).toBe(200);
    expect((await call(s.url, 'POST', '/v1/workflows/quick/runs', 'service', { input: {} })).status).toBe(201);
    s.proc.child.kill('SIGTERM');
    expect((await s.proc.done).code).toBe(0);
  }, 90_000);
});
