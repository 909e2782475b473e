/**
 * The split-role stack of deploy/compose.yaml, run without Docker: for each service but
 * PostgreSQL (the machine's, on a fresh database), the same `agentry` command with the
 * environment the compose file gives it, the secrets deploy/make-secrets.sh writes (the database
 * URL pointed at the test database) and the example project it mounts. Ports become free ports
 * and service names 127.0.0.1, so test files can run side by side. Services start in the order
 * of their `depends_on` conditions — the migrations must exit 0, a healthy gateway before the API
 * and the workers, every role's own health check (its `node -e` script) must pass — then workflows run through the API: one of transforms and a
 * durable timer on the workers, one whose agent step a worker sends to the gateway process with
 * an internal token — and `agentry smoke` passes against the API (run in this process: the
 * real binary's smoke has cli.smoke.test.ts). Every process stops with exit code 0 on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../src/cli/smoke.js';
import { killAll, removeDir, runCliInProcess, startCli, tempDir, type CliProcess, type CliResult } from '../helpers/cli.js';
import { imageEnvironment, loadCompose, startOrder, type ComposeService } from '../helpers/compose.js';
import { freePort, query } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const model = loadCompose();
/** PostgreSQL is the machine's; every other service is an Agentry process. */
const EXTERNAL = new Set(['postgres']);
const SERVICES = startOrder(model).filter((name) => !EXTERNAL.has(name));
/** What the image itself sets (the repository's Dockerfile, when there is one), under compose's environment. */
const IMAGE_ENV = imageEnvironment(join(model.dir, '../Dockerfile'));

interface Running {
  svc: ComposeService;
  proc: CliProcess;
  /** The health check's argv with the test's port, if the service has one. */
  healthcheck?: string[];
  /** This service's ports: compose's port → the test's. */
  ports: Map<number, number>;
}

let dir: string | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
const running = new Map<string, Running>();
let adminKey = '';
let metricsKey = '';
let stopped: Map<string, CliResult> | undefined;
/** Every service started and became healthy (beforeAll finished). */
let up = false;
/** Services in the order their processes were started. */
const launched: string[] = [];

/** The ports a service listens on: AGENTRY_PORT (api), AGENTRY_PROBE_PORT and `--port`. */
function listenPorts(svc: ComposeService): number[] {
  const ports = [svc.environment.AGENTRY_PORT, svc.environment.AGENTRY_PROBE_PORT].filter((v) => v !== undefined).map(Number);
  const flag = svc.command.indexOf('--port');
  if (flag >= 0) ports.push(Number(svc.command[flag + 1]));
  return ports;
}

/** `http://<service>:<port>` → `http://127.0.0.1:<the test's port>`, as the compose network would route it. */
function rewriteUrls(value: string, portsOf: Map<string, Map<number, number>>): string {
  return value.replace(/\bhttp:\/\/([a-z0-9-]+):(\d+)/g, (match, host: string, port: string) => {
    const mapped = host === '127.0.0.1' || host === 'localhost' ? undefined : portsOf.get(host)?.get(Number(port));
    return mapped === undefined ? match : `http://127.0.0.1:${mapped}`;
  });
}

/** The command and environment compose gives `svc`, with this machine's paths, ports and hosts. */
function processOf(svc: ComposeService, secretsDir: string, portsOf: Map<string, Map<number, number>>): { args: string[]; env: Record<string, string> } {
  const ports = portsOf.get(svc.name) ?? new Map<number, number>();
  const args = svc.command.map((arg, i) => (svc.command[i - 1] === '--port' ? String(ports.get(Number(arg)) ?? arg) : arg));
  const env: Record<string, string> = {};
  for (const [key, raw] of Object.entries({ ...IMAGE_ENV, ...svc.environment })) {
    let value = raw;
    const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
    // A secret the service does not mount stays an unreadable path, as in the container.
    if (secret !== undefined && svc.secrets.includes(secret)) value = join(secretsDir, secret);
    for (const volume of svc.volumes)
      if (value === volume.target || value.startsWith(`${volume.target}/`)) value = volume.source + value.slice(volume.target.length);
    if ((key === 'AGENTRY_PORT' || key === 'AGENTRY_PROBE_PORT') && ports.has(Number(value))) value = String(ports.get(Number(value)));
    // The container binds every address of its own network; here, loopback only.
    if (key === 'AGENTRY_HOST' && value === '0.0.0.0') value = '127.0.0.1';
    env[key] = rewriteUrls(value, portsOf);
  }
  return { args, env };
}

/** Runs the service's health check once: true when it exits 0. */
function healthy(check: string[]): Promise<boolean> {
  const [, ...args] = check;
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.once('error', () => done(false));
    child.once('close', (code) => done(code === 0));
  });
}

/**
 * Whether the URL a health check calls answers 2xx yet: polled from here, so that the check
 * itself (a Node process of its own) runs once the role is up rather than every poll.
 */
async function answers(check: string[]): Promise<boolean> {
  const url = check.map((arg) => /http:\/\/127\.0\.0\.1:\d+[^\s'"`)]*/.exec(arg)?.[0]).find((u) => u !== undefined);
  if (url === undefined) return true;
  try {
    const res = await fetch(url, { headers: { connection: 'close' } });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function waitHealthy(name: string, ms: number): Promise<void> {
  const service = running.get(name);
  if (!service?.healthcheck) throw new Error(`${name} has no health check to wait for`);
  const end = Date.now() + ms;
  while (!((await answers(service.healthcheck)) && (await healthy(service.healthcheck)))) {
    if (service.proc.child.exitCode !== null) throw new Error(`${name} exited (${service.proc.child.exitCode}) before it was healthy:\n${service.proc.stderr}`);
    if (Date.now() > end) throw new Error(`${name} was not healthy within ${ms} ms:\n${service.proc.stderr.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves once `name`'s dependencies hold as its `depends_on` conditions say. */
async function dependenciesOf(name: string, started: Map<string, Promise<void>>): Promise<void> {
  const svc = model.services[name]!;
  await Promise.all(
    Object.entries(svc.dependsOn).map(async ([dep, condition]) => {
      if (EXTERNAL.has(dep)) return; // the machine's PostgreSQL answers (hasPostgres)
      await started.get(dep);
      const service = running.get(dep)!;
      if (condition === 'service_completed_successfully') {
        const result = await service.proc.done;
        if (result.code !== 0) throw new Error(`${dep} exited ${result.code}:\n${result.stderr}`);
      } else if (condition === 'service_healthy') {
        await waitHealthy(dep, 90_000);
      }
    }),
  );
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const port = running.get('api')!.ports.get(7700)!;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function metricsOf(name: string, port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${running.get(name)!.ports.get(port)}/metrics`, {
    headers: { authorization: `Bearer ${metricsKey}`, connection: 'close' },
  });
  expect(res.status, name).toBe(200);
  return res.text();
}

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe.runIf(hasPostgres)('the compose stack as processes on PostgreSQL', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = tempDir('agentry-compose-e2e-');
    // The secrets as an operator makes them, then the database URL of this test's database.
    mkdirSync(join(dir, 'deploy'));
    copyFileSync(join(model.dir, 'make-secrets.sh'), join(dir, 'deploy/make-secrets.sh'));
    const made = await new Promise<number | null>((done) => spawn('sh', [join(dir!, 'deploy/make-secrets.sh')], { stdio: 'ignore' }).once('close', done));
    expect(made).toBe(0);
    const secretsDir = join(dir, 'deploy/secrets');
    db = await createTestDatabase('agentry_t_', { empty: true });
    writeFileSync(join(secretsDir, 'database-url'), `${db.url}\n`);
    adminKey = readFileSync(join(secretsDir, 'admin-key'), 'utf8').trim();
    metricsKey = readFileSync(join(secretsDir, 'metrics-key'), 'utf8').trim();

    const portsOf = new Map<string, Map<number, number>>();
    for (const name of SERVICES) {
      const ports = new Map<number, number>();
      for (const port of listenPorts(model.services[name]!)) ports.set(port, await freePort());
      portsOf.set(name, ports);
    }
    const started = new Map<string, Promise<void>>();
    for (const name of SERVICES) {
      started.set(
        name,
        dependenciesOf(name, started).then(() => {
          const svc = model.services[name]!;
          const { args, env } = processOf(svc, secretsDir, portsOf);
          const ports = portsOf.get(name)!;
          // The check runs inside the container, where loopback is this service's own ports.
          const own = (arg: string) => arg.replace(/^http:\/\/127\.0\.0\.1:(\d+)/, (m, port: string) => `http://127.0.0.1:${ports.get(Number(port)) ?? port}`);
          const test = svc.healthcheck?.test;
          const check = test?.[0] === 'CMD' && test[1] === 'node' ? [process.execPath, ...test.slice(2).map(own)] : undefined;
          running.set(name, { svc, proc: startCli(args, { env }), ports, ...(check ? { healthcheck: check } : {}) });
          launched.push(name);
        }),
      );
    }
    await Promise.all(started.values());
    await Promise.all(SERVICES.filter((name) => running.get(name)?.healthcheck).map((name) => waitHealthy(name, 90_000)));
    up = true;
  }, 180_000);

  afterAll(async () => {
    const live = [...running.entries()].filter(([, r]) => r.proc.child.exitCode === null && r.proc.child.signalCode === null);
    for (const [, r] of live) r.proc.child.kill('SIGTERM');
    stopped = new Map(await Promise.all(live.map(async ([name, r]) => [name, await r.proc.done] as const)));
    await killAll();
    await db?.drop();
    if (dir) removeDir(dir);
    // A graceful stop: every role exits 0 on SIGTERM (a process stopped while starting need not).
    if (up) for (const [name, result] of stopped) expect({ name, code: result.code }).toEqual({ name, code: 0 });
  }, 60_000);

  it('applies the migrations once, in the one-shot service, before any role starts', async () => {
    const migrate = await running.get('migrate')!.proc.done;
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/applied migrations 1, /);
    // Each migration is an audit entry of the process that applied it: all by `agentry migrate`
    // (the CLI's user), none by a role (which would migrate as `system`).
    const entries = await query<{ principal: string }>(db!.url, `SELECT principal FROM audit_log WHERE action = 'store.migrate'`);
    expect(entries.length).toBeGreaterThan(1);
    expect(new Set(entries.map((e) => e.principal))).toEqual(new Set([process.env.USER ?? 'cli']));
  });

  it('starts the API and the workers only once the gateway is healthy (depends_on)', () => {
    expect(launched[0]).toBe('migrate');
    for (const name of ['api', 'worker-1', 'worker-2']) expect(launched.indexOf(name), name).toBeGreaterThan(launched.indexOf('gateway'));
  });

  it('passes every role’s own health check: API, both workers, scheduler and gateway ready', async () => {
    expect([...running.keys()].sort()).toEqual(['api', 'gateway', 'migrate', 'scheduler', 'worker-1', 'worker-2']);
    for (const name of ['api', 'worker-1', 'worker-2', 'scheduler', 'gateway']) expect(await healthy(running.get(name)!.healthcheck!), name).toBe(true);
    // Each worker runs AGENTRY_CONCURRENCY steps at once, as compose sets it; the scheduler none.
    for (const name of ['worker-1', 'worker-2']) expect(value(await metricsOf(name, 7702), 'agentry_worker_slots'), name).toBe(10);
    expect(value(await metricsOf('scheduler', 7703), 'agentry_worker_slots')).toBe(0);
    expect(value(await metricsOf('api', 7700), 'agentry_workers_live')).toBeGreaterThanOrEqual(2);
  });

  it('runs a workflow through the API on the workers', async () => {
    const run = await api<{ status: string; output: unknown }>('POST', '/v1/workflows/hello/runs?wait=30s', { input: { name: 'Ada' } });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body).toMatchObject({ status: 'succeeded', output: { message: 'Hello, Ada!' } });
  });

  it('runs an agent step on a worker through the gateway process, recorded against the run', async () => {
    const run = await api<{ id: string; status: string; output: { summary?: string } }>('POST', '/v1/workflows/summarise/runs?wait=30s', {
      input: { text: 'A deployment of Agentry with split roles.' },
    });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.status).toBe('succeeded');
    expect(run.body.output.summary).toContain('workers run steps and reach the gateway');
    const detail = await api<{ usage: { calls: number } | null }>('GET', `/v1/runs/${run.body.id}`);
    expect(detail.body.usage).toMatchObject({ calls: 1 });
    // The call went through the gateway process: its /metrics counted it.
    expect(await metricsOf('gateway', 7704)).toMatch(/^agentry_llm_requests_total\{[^}]*model_group="default"[^}]*\} [1-9]/m);
  });

  it('passes `agentry smoke` against the API, with the admin and viewer key files make-secrets.sh wrote', async () => {
    const port = running.get('api')!.ports.get(7700)!;
    const result = await runCliInProcess(['smoke', '--url', `http://127.0.0.1:${port}`, '--timeout', '60s'], {
      cwd: dir,
      env: { AGENTRY_API_KEY_FILE: join(dir!, 'deploy/secrets/admin-key'), AGENTRY_SMOKE_VIEWER_KEY_FILE: join(dir!, 'deploy/secrets/metrics-key') },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    for (const name of CHECK_NAMES) expect(lines.find((line) => line.includes(`  ${name} `))).toMatch(new RegExp(`^PASS  ${name} `));
  });
});
