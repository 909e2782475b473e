/**
 * The container image, built from the Dockerfile and run as a user would run it: `agentry serve`
 * with a named volume on /data (its runs survive a restart and a new container), as a non-root
 * user, turning `healthy` through the image's HEALTHCHECK; and every role — api, worker,
 * scheduler, gateway — started from the same image on PostgreSQL, each answering its probes.
 *
 * Needs a Docker engine (see docker-engine.ts): without one the tests are skipped with the
 * reason, except under CI=true, where that is a failure. Containers use the host's network
 * (the engine here has no bridge), on free ports.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/pg-processes.js';
import { createTestDatabase, probePostgres } from '../helpers/postgres.js';
import { buildImage, ensureEngine, REPO } from './docker-engine.js';
import { exec, execOk } from './exec.js';

const IMAGE = 'agentry-deploy-test:latest';
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
const KEY = randomBytes(24).toString('hex');

const engine = await ensureEngine();
if (!engine.ok) {
  if (process.env.CI === 'true') throw new Error(`no Docker engine, and CI=true requires the container tests: ${engine.reason}`);
  console.warn(`[docker] skipping the container tests: ${engine.reason}`);
}

const containers = new Set<string>();
const volumes = new Set<string>();
const cleanups: (() => Promise<void>)[] = [];

/** `docker run -d` on the host's network; the container is removed (with its anonymous volumes) after the tests. */
async function runContainer(name: string, args: string[]): Promise<string> {
  containers.add(name);
  await execOk('docker', ['run', '-d', '--name', name, '--network', 'host', ...args]);
  return name;
}

async function logsOf(name: string): Promise<string> {
  const { stdout, stderr } = await exec('docker', ['logs', '--tail', '40', name]);
  return `${stdout}${stderr}`;
}

interface Answer {
  status: number;
  body: unknown;
}

/** One HTTP request on its own connection (closed afterwards, so nothing stays open between tests). */
async function request(method: string, url: string, body?: unknown): Promise<Answer> {
  const dispatcher = new Agent();
  try {
    const response = await fetch(url, {
      method,
      dispatcher,
      headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  } finally {
    await dispatcher.close();
  }
}

/** Waits until GET `url` answers 200 (a container still starting refuses connections); fails with the container's log. */
async function waitFor200(url: string, container: string, timeoutMs = 90_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const answer = await request('GET', url).catch((error: Error) => error);
    if (!(answer instanceof Error) && answer.status === 200) return answer;
    last =
      answer instanceof Error ? (answer.cause instanceof Error ? answer.cause.message : answer.message) : `${answer.status} ${JSON.stringify(answer.body)}`;
    // Stopped for good (no restart policy to start it again): no answer will come.
    const [state, policy] = (await exec('docker', ['inspect', '--format', '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}', container])).stdout
      .trim()
      .split(' ');
    if ((state === 'exited' || state === 'dead') && (policy === undefined || policy === '' || policy === 'no')) break;
    await sleep(500);
  }
  throw new Error(`${url} did not answer 200 (last: ${last}); ${container} log:\n${await logsOf(container)}`);
}

/** Waits for the image's HEALTHCHECK to call the container healthy (it runs every 10 s). */
async function waitHealthy(container: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let status = '';
  while (Date.now() < deadline) {
    status = (await execOk('docker', ['inspect', '--format', '{{.State.Health.Status}}', container])).trim();
    if (status === 'healthy' || status === 'unhealthy') break;
    await sleep(1000);
  }
  if (status !== 'healthy') {
    const checks = await exec('docker', ['inspect', '--format', '{{json .State.Health.Log}}', container]);
    throw new Error(`${container} is ${status || 'without health status'}: ${checks.stdout}\n${await logsOf(container)}`);
  }
  return status;
}

async function runStatus(baseUrl: string, id: string): Promise<string | undefined> {
  const answer = await request('GET', `${baseUrl}/v1/runs/${id}`);
  return answer.status === 200 ? (answer.body as { status: string }).status : undefined;
}

async function waitForRunStatus(baseUrl: string, id: string, wanted: string, timeoutMs = 60_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let status: string | undefined;
  while (Date.now() < deadline) {
    status = await runStatus(baseUrl, id);
    if (status === wanted) break;
    await sleep(250);
  }
  return status;
}

beforeAll(async () => {
  if (!engine.ok) return;
  const git = async (args: string[]): Promise<string | undefined> => {
    const result = await exec('git', args, { cwd: REPO });
    return result.code === 0 ? result.stdout.trim() : undefined;
  };
  await buildImage(IMAGE, {
    version,
    revision: (await git(['rev-parse', 'HEAD'])) ?? 'unknown',
    source: (await git(['remote', 'get-url', 'origin'])) ?? `file://${REPO}`,
  });
});

afterAll(async () => {
  if (containers.size > 0) await exec('docker', ['rm', '-f', '-v', ...containers]);
  if (volumes.size > 0) await exec('docker', ['volume', 'rm', '-f', ...volumes]);
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  if (engine.ok) await engine.stop();
});

describe.skipIf(!engine.ok)('the container image', () => {
  it('runs agentry serve by default as a non-root user, with OCI labels, a /data volume and a health check', async () => {
    const { stdout } = await exec('docker', ['image', 'inspect', '--format', '{{json .Config}}', IMAGE]);
    const config = JSON.parse(stdout) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      Volumes: Record<string, unknown>;
      Healthcheck?: { Test: string[] };
      Labels: Record<string, string>;
      Env: string[];
    };
    expect(config.User).toBe('10001:10001');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'agentry']);
    expect(config.Cmd).toEqual(['serve']);
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    expect(config.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/healthcheck.mjs']);
    expect(config.Env).toEqual(expect.arrayContaining(['AGENTRY_HOST=0.0.0.0', 'AGENTRY_DATABASE_URL=sqlite:/data/agentry.db']));
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'Agentry',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });
    expect(config.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    const printed = await execOk('docker', ['run', '--rm', '--network', 'host', IMAGE, '--version']);
    expect(printed.trim()).toBe(version);
    // The data directory: the service user's, closed to other users (SEC-06).
    const data = await execOk('docker', ['run', '--rm', '--network', 'host', '--entrypoint', 'stat', IMAGE, '-c', '%a %U:%G', '/data']);
    expect(data.trim()).toBe('750 agentry:agentry');
  });

  it('runs agentry demo --once on a read-only root file system: an agent step with its MCP tool server, an http step, retries', async () => {
    const demo = await exec(
      'docker',
      ['run', '--rm', '--network', 'host', '--read-only', '--tmpfs', '/tmp', '-e', 'AGENTRY_PORT=0', '-e', 'NO_COLOR=1', IMAGE, 'demo', '--once'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(demo, `${demo.stdout}\n${demo.stderr}`).toMatchObject({ code: 0 });
    expect(demo.stdout).toMatch(/step\.succeeded\s+buddy/);
    expect(demo.stdout).toMatch(/✓ Run run_\w+ succeeded/);
  });

  describe('agentry serve with a named volume on /data', () => {
    const volume = `agentry-deploy-data-${suffix}`;
    const name = `agentry-deploy-serve-${suffix}`;
    let baseUrl: string;
    let finished: { id: string; output: unknown };
    let inFlight: string;

    beforeAll(async () => {
      volumes.add(volume);
      await execOk('docker', ['volume', 'create', volume]);
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      // The default command (serve) and the default project: only the port and a key are given.
      // A read-only root file system: everything it writes goes to /data (and /tmp).
      await runContainer(name, [
        '--read-only',
        '--tmpfs',
        '/tmp',
        '-v',
        `${volume}:/data`,
        '-e',
        `AGENTRY_PORT=${port}`,
        '-e',
        `AGENTRY_API_KEYS=admin:${KEY}:admin`,
        IMAGE,
      ]);
      await waitFor200(`${baseUrl}/readyz`, name);
    });

    it('answers its probes, runs as a non-root user and turns healthy', async () => {
      expect((await request('GET', `${baseUrl}/livez`)).body).toEqual({ status: 'ok' });
      expect((await request('GET', `${baseUrl}/healthz`)).body).toMatchObject({ status: 'ok', version });
      const uid = (await execOk('docker', ['exec', name, 'id', '-u'])).trim();
      expect(uid).toBe('10001');
      // A new named volume takes the image's /data: its owner and mode.
      expect((await execOk('docker', ['exec', name, 'stat', '-c', '%a %u', '/data'])).trim()).toBe('750 10001');
      expect(await waitHealthy(name)).toBe('healthy');
    });

    it('passes agentry smoke against itself', async () => {
      const smoke = await exec('docker', ['exec', name, 'agentry', 'smoke', '--url', baseUrl, '--key', KEY], { timeoutMs: 120_000 });
      expect(smoke, `${smoke.stdout}\n${smoke.stderr}`).toMatchObject({ code: 0 });
      expect(smoke.stdout).toMatch(/^PASS\s+run\s/m);
      expect(smoke.stdout).toMatch(/^OK: \d+ passed/m);
      expect(smoke.stdout).not.toMatch(/^FAIL/m);
    });

    it('keeps its runs across a restart, on the volume', async () => {
      // ?wait: 200 with the ended run.
      const done = await request('POST', `${baseUrl}/v1/workflows/hello/runs?wait=30s`, { input: { name: 'Ada' } });
      expect(done.status).toBe(200);
      finished = done.body as { id: string; output: unknown };
      expect(done.body).toMatchObject({ status: 'succeeded', output: { message: expect.stringContaining('Hello, Ada!') } });
      // Started and not waited for: the restart comes while it runs or waits on its durable timer.
      const started = await request('POST', `${baseUrl}/v1/workflows/hello/runs`, { input: { name: 'Grace' } });
      expect(started.status).toBe(201);
      inFlight = (started.body as { id: string }).id;

      await execOk('docker', ['restart', '--time', '30', name], { timeoutMs: 90_000 });
      await waitFor200(`${baseUrl}/readyz`, name);
      const after = await request('GET', `${baseUrl}/v1/runs/${finished.id}`);
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ id: finished.id, status: 'succeeded', output: finished.output });
      expect(await waitForRunStatus(baseUrl, inFlight, 'succeeded')).toBe('succeeded');
      expect(await execOk('docker', ['exec', name, 'ls', '/data'])).toMatch(/agentry\.db/);
    });

    it('comes back by itself when its process is killed (as by the OOM killer), and the run it had finishes', async () => {
      await execOk('docker', ['update', '--restart', 'on-failure', name]);
      const started = await request('POST', `${baseUrl}/v1/workflows/hello/runs`, { input: { name: 'Mary' } });
      expect(started.status).toBe(201);
      const id = (started.body as { id: string }).id;
      // SIGKILL to every process of the container's user but the shell itself: the server dies
      // holding its SQLite lock, tini exits 137, and Docker starts the container again.
      await execOk('docker', ['exec', name, 'sh', '-c', 'kill -KILL -1']);
      // The new process (another pid namespace) takes the dead one's lock over once it went
      // unrefreshed for 30 s; the starts before that are refused and restarted by the policy.
      await waitFor200(`${baseUrl}/readyz`, name, 150_000);
      expect(Number(await execOk('docker', ['inspect', '--format', '{{.RestartCount}}', name]))).toBeGreaterThan(0);
      expect(await runStatus(baseUrl, finished.id)).toBe('succeeded');
      expect(await waitForRunStatus(baseUrl, id, 'succeeded', 120_000)).toBe('succeeded');
    });

    it('keeps them for a new container on the same volume', async () => {
      await execOk('docker', ['stop', '--time', '30', name], { timeoutMs: 60_000 });
      await execOk('docker', ['rm', '-v', name]);
      containers.delete(name);
      const replacement = `${name}-2`;
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      await runContainer(replacement, ['-v', `${volume}:/data`, '-e', `AGENTRY_PORT=${port}`, '-e', `AGENTRY_API_KEYS=admin:${KEY}:admin`, IMAGE]);
      await waitFor200(`${baseUrl}/readyz`, replacement);
      expect(await runStatus(baseUrl, finished.id)).toBe('succeeded');
      expect(await runStatus(baseUrl, inFlight)).toBe('succeeded');
    });
  });

  it('runs every role on PostgreSQL: the api queues, the worker runs, each answers its probes and turns healthy', async (ctx) => {
    const postgres = await probePostgres();
    if (postgres !== true) {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL is required under CI=true: ${postgres}`);
      ctx.skip(`no PostgreSQL for the role containers: ${postgres}`);
    }
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const env = ['-e', `AGENTRY_DATABASE_URL=${database.url}`, '-e', `AGENTRY_API_KEYS=admin:${KEY}:admin`];
    const [apiPort, gatewayPort, ...probePorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const roles = [
      { role: 'api', args: ['-e', `AGENTRY_PORT=${apiPort}`, IMAGE, 'start', 'api'], livez: apiPort },
      { role: 'worker', args: ['-e', `AGENTRY_PROBE_PORT=${probePorts[0]}`, IMAGE, 'start', 'worker', '--no-scheduler'], livez: probePorts[0] },
      { role: 'scheduler', args: ['-e', `AGENTRY_PROBE_PORT=${probePorts[1]}`, IMAGE, 'start', 'scheduler'], livez: probePorts[1] },
      { role: 'gateway', args: ['-e', `AGENTRY_PROBE_PORT=${probePorts[2]}`, IMAGE, 'start', 'gateway', '--port', String(gatewayPort)], livez: probePorts[2] },
    ];
    const names = await Promise.all(roles.map(({ role, args }) => runContainer(`agentry-deploy-${role}-${suffix}`, [...env, ...args])));
    for (const [index, { livez }] of roles.entries()) {
      const answer = await waitFor200(`http://127.0.0.1:${livez}/livez`, names[index]!);
      expect(answer.body).toEqual({ status: 'ok' });
    }
    await waitFor200(`http://127.0.0.1:${gatewayPort}/livez`, names[3]!);

    // The api process has no worker: the run succeeds because the worker container ran it.
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor200(`${baseUrl}/readyz`, names[0]!);
    const run = await request('POST', `${baseUrl}/v1/workflows/hello/runs?wait=30s`, { input: { name: 'Katherine' } });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'succeeded', output: { message: expect.stringContaining('Hello, Katherine!') } });

    expect(await Promise.all(names.map((name) => waitHealthy(name)))).toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
  });
});
