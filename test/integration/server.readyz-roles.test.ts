/**
 * Readiness means what each role needs: a worker process checks its own claim loop and
 * heartbeat (stopped → 503 naming `worker`), a scheduler its sweeps, an API a live worker
 * anywhere and an executor for every step kind (`runtimes`), a gateway process its upstreams
 * (a provider at a closed port → 503 naming it and its model group; the upstream comes up →
 * 200 with no restart). Operator-listed variables (`AGENTRY_HEALTH_PROVIDERS`) fail readiness
 * by name until they are set, never showing a value. `/health` answers the same verdict as
 * exactly `{"status":"ok"}` or `{"status":"not_ready"}`, and `agentry serve` runs the union of
 * its roles' checks with `/healthz` reporting the package version. A worker's remote gateway
 * must answer `/livez` while workflows have agent steps.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { ProbeCache, remoteGatewayCheck } from '../../src/app/health-gateway.js';
import { storeLedger } from '../../src/app/usage-ledger.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { Engine } from '../../src/engine/engine.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createExecutorRegistry, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { transformExecutor } from '../../src/runtime/transform.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { withBuiltinWorkflows } from '../../src/spec/builtin.js';
import type { CompiledWorkflow } from '../../src/spec/model.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import { removeDir, tempDir } from '../helpers/cli.js';
import { compileAll, silentLogger } from '../helpers/engine.js';
import { json, startServer as startHttpServer } from '../helpers/http-server.js';
import { API_KEYS, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';

let api: TestApi;
const apps: Array<{ close: () => Promise<unknown> }> = [];

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await api.close();
});

/** Another app on `api`'s store (another process of the same deployment), closed after the file. */
async function appOn(options: Partial<AppOptions>): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const app = await buildApp({
    engine: api.engine,
    store: api.store,
    logger: silentLogger,
    version: '0.0.0-test',
    auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
    docs: false,
    // `api`'s worker heartbeats every second; a loaded machine must not fail these checks on it.
    workerTtlMs: 10 * 60_000,
    ...options,
  });
  apps.push(app);
  return app;
}

/** A loopback port nothing listens on (free when this returns). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a worker process (roles worker and scheduler, probes only)', () => {
  it("is ready while its own loops go round, and 503 naming worker and scheduler once they are stopped; an API's workers check fails too", async () => {
    const own = await startTestApi({ app: { roles: ['worker', 'scheduler'], groups: ['probes'] } });
    try {
      const ready = await own.app.inject({ url: '/readyz' });
      expect(ready.statusCode, ready.body).toBe(200);
      const checks = ready.json().checks;
      expect(Object.keys(checks).sort()).toEqual(['database', 'gateway', 'maintenance', 'migrations', 'runtimes', 'scheduler', 'tools', 'worker']);
      expect(checks.worker.detail).toMatch(new RegExp(`^${own.engine.workerId}: 0/10 slots busy, last round .* heartbeat \\d+\\.\\ds ago$`));
      expect(checks.scheduler.detail).toMatch(/^sweeps: /);
      // An API on the same store sees the worker.
      const apiApp = await buildApp({
        engine: own.engine,
        store: own.store,
        logger: silentLogger,
        version: '0.0.0-test',
        auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
        docs: false,
      });
      try {
        expect((await apiApp.inject({ url: '/readyz' })).json().checks.workers).toMatchObject({ status: 'ok' });

        await own.engine.stop();
        const down = await own.app.inject({ url: '/readyz' });
        expect(down.statusCode).toBe(503);
        const body = down.json();
        expect(body.detail).toBe('failing: worker, scheduler');
        expect(body.checks.worker).toEqual({ status: 'fail', detail: "this process's worker loop is not running (engine stopped or not started)" });
        expect(body.checks.scheduler.status).toBe('fail');
        expect(body.checks.database.status).toBe('ok');
        expect((await own.app.inject({ url: '/livez' })).statusCode).toBe(200);
        // OBS-25: the worker is gone from the deployment, so the API is not ready either.
        const apiDown = await apiApp.inject({ url: '/readyz' });
        expect(apiDown.statusCode).toBe(503);
        expect(apiDown.json().checks.workers).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^no worker has sent a heartbeat/) });
      } finally {
        await apiApp.close();
      }
    } finally {
      await own.close();
    }
  });

  it('a scheduler-only process checks database, migrations and its sweeps', async () => {
    const app = await appOn({ roles: ['scheduler'], groups: ['probes'] });
    const res = await app.inject({ url: '/readyz' });
    // `api`'s engine runs both roles: its scheduler is this process's.
    expect(Object.keys(res.json().checks).sort()).toEqual(['database', 'migrations', 'scheduler']);
    expect(res.statusCode).toBe(200);
  });
});

describe('runtimes (the step executor registry)', () => {
  async function appWith(executors: Parameters<typeof createExecutorRegistry>[0], workflows: ReadonlyMap<string, CompiledWorkflow> = compileAll(WORKFLOWS)) {
    const engine = new Engine({
      store: api.store,
      workflows,
      executors: createExecutorRegistry(executors),
      executorSettings: DEFAULT_EXECUTOR_SETTINGS,
      logger: silentLogger,
    });
    return appOn({ engine });
  }

  it('shows the count and kinds of executors on a healthy API', async () => {
    const res = await api.app.inject({ url: '/readyz' });
    expect(res.json().checks.runtimes).toEqual({ status: 'ok', detail: '3 executors: http, sleep, transform' });
  });

  it('fails when none is registered, and when a workflow uses a kind without one', async () => {
    const none = await (await appWith([], new Map())).inject({ url: '/readyz' });
    expect(none.statusCode).toBe(503);
    expect(none.json().checks.runtimes).toEqual({ status: 'fail', detail: 'no step executors are registered' });
    const partial = await (await appWith([transformExecutor])).inject({ url: '/readyz' });
    expect(partial.statusCode).toBe(503);
    expect(partial.json().checks.runtimes.detail).toBe("no executor for step kind 'sleep' (used by slow.b, slow.d, nap.long); registered: transform");
  });

  it('fails naming the built-in workflows when a kind they use has no executor', async () => {
    const res = await (await appWith([transformExecutor], withBuiltinWorkflows(new Map()))).inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.runtimes.detail).toBe("no executor for step kind 'sleep' (used by the built-in workflows); registered: transform");
  });
});

describe('AGENTRY_HEALTH_PROVIDERS and AGENTRY_HEALTH_TOOL_SECRETS', () => {
  it('fail readiness naming each unset variable, never a value, and pass once they are set (read at each check)', async () => {
    const env: NodeJS.ProcessEnv = {};
    const app = await appOn({ health: { providers: ['HEALTH_TEST_OPENAI_KEY'], toolSecrets: ['HEALTH_TEST_TOOL_TOKEN'], env } });
    const down = await app.inject({ url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json().detail, down.body).toMatch(/^failing: .*providers, tool_secrets$/);
    expect(down.json().checks.providers).toEqual({ status: 'fail', detail: 'HEALTH_TEST_OPENAI_KEY is not set (listed in AGENTRY_HEALTH_PROVIDERS)' });
    expect(down.json().checks.tool_secrets).toEqual({ status: 'fail', detail: 'HEALTH_TEST_TOOL_TOKEN is not set (listed in AGENTRY_HEALTH_TOOL_SECRETS)' });
    const health = await app.inject({ url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.body).toBe('{"status":"not_ready"}');

    const dir = tempDir('agentry-readyz-');
    try {
      env.HEALTH_TEST_OPENAI_KEY = 'provider-value-never-shown';
      writeFileSync(join(dir, 'token'), 'tool-token-value\n');
      env.HEALTH_TEST_TOOL_TOKEN_FILE = join(dir, 'token');
      const up = await app.inject({ url: '/readyz' });
      expect(up.statusCode, up.body).toBe(200);
      expect(up.json().checks.providers).toEqual({ status: 'ok', detail: '1 variable set: HEALTH_TEST_OPENAI_KEY' });
      expect(up.body).not.toContain('provider-value-never-shown');
      expect(up.body).not.toContain('tool-token-value');
      const ok = await app.inject({ url: '/health' });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toBe('{"status":"ok"}');
    } finally {
      removeDir(dir);
    }
  });
});

describe('a gateway process whose upstream is down (INC-03)', () => {
  it('is 503 naming the unreachable provider and its model group, and 200 once the upstream listens, without a restart', async () => {
    const port = await closedPort();
    const spec: GatewaySpec = {
      providers: {
        local: { type: 'openai-compatible', base_url: `http://127.0.0.1:${port}/v1` },
        keyed: { type: 'openai-compatible', base_url: `http://127.0.0.1:${port}/v1`, api_key: '{{ env.HEALTH_TEST_UPSTREAM_KEY }}' },
        demo: { type: 'mock' },
      },
      models: {
        fast: { targets: [{ provider: 'local', model: 'm-1' }] },
        smart: {
          targets: [
            { provider: 'keyed', model: 'm-2' },
            { provider: 'demo', model: 'demo-1' },
          ],
        },
      },
    };
    const gateway = new Gateway({ spec, env: {}, logger: silentLogger, ledger: storeLedger(api.store) });
    const app = await appOn({ gateway, groups: ['probes', 'gateway'], health: { cacheMs: 0 } });
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
    const down = await app.inject({ url: '/readyz' });
    expect(down.statusCode).toBe(503);
    const { checks } = down.json();
    expect(Object.keys(checks).sort()).toEqual(['database', 'migrations', 'upstreams']);
    expect(checks.upstreams.status).toBe('fail');
    expect(checks.upstreams.detail).toBe(
      `model group 'fast' has no usable target: provider 'local' (openai-compatible at http://127.0.0.1:${port}/v1: unreachable (ECONNREFUSED); model groups: fast); ` +
        `provider 'keyed' (openai-compatible at http://127.0.0.1:${port}/v1: its key env.HEALTH_TEST_UPSTREAM_KEY is not set; model groups: smart)`,
    );
    expect((await app.inject({ url: '/health' })).body).toBe('{"status":"not_ready"}');

    const upstream = await startFakeOpenAI(port);
    try {
      const up = await app.inject({ url: '/readyz' });
      expect(up.statusCode, up.body).toBe(200);
      expect(up.json().checks.upstreams.detail).toBe(
        `2 providers ok, 2 model groups served; degraded (their groups fall back): provider 'keyed' (openai-compatible at http://127.0.0.1:${port}/v1: its key env.HEALTH_TEST_UPSTREAM_KEY is not set; model groups: smart)`,
      );
      expect((await app.inject({ url: '/health' })).body).toBe('{"status":"ok"}');
      // The probe only opened a connection: no model was called.
      expect(upstream.requests).toEqual([]);
    } finally {
      await upstream.close();
    }
  });
});

describe('agentry serve (every role in one process)', () => {
  it('runs the checks of api, worker and scheduler; /health is {"status":"ok"} and /healthz reports the package version', async () => {
    const dir = tempDir('agentry-readyz-serve-');
    try {
      mkdirSync(join(dir, 'workflows'), { recursive: true });
      writeFileSync(join(dir, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a:\n    transform: "{{ 1 }}"\n');
      const env = { AGENTRY_AUTH: 'off', AGENTRY_DATABASE_URL: 'sqlite::memory:', AGENTRY_PORT: '0', AGENTRY_HEALTH_PROVIDERS: 'PATH' };
      const config = loadConfig({ env, cwd: dir, flags: { projectDir: dir } });
      const server = await startServer(config, pino({ level: 'silent' }), { ...env, PATH: '/usr/bin' }, await loadProjectOrThrow(config, env));
      try {
        const ready = await fetch(`${server.url}/readyz`, { headers: { connection: 'close' } });
        const body = (await ready.json()) as { status: string; checks: Record<string, { status: string }> };
        expect(ready.status, JSON.stringify(body)).toBe(200);
        expect(Object.keys(body.checks).sort()).toEqual([
          'database',
          'gateway',
          'maintenance',
          'migrations',
          'providers',
          'runtimes',
          'scheduler',
          'tools',
          'worker',
          'workers',
        ]);
        const health = await fetch(`${server.url}/health`, { headers: { connection: 'close' } });
        expect(health.status).toBe(200);
        expect(await health.text()).toBe('{"status":"ok"}');
        const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
        const healthz = (await (await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } })).json()) as { version: string };
        expect(healthz.version).toBe(version);
      } finally {
        await server.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe("a worker's remote gateway", () => {
  it('must answer /livez while a workflow has agent steps; the outcome is reused for the cache period', async () => {
    const port = await closedPort();
    const cache = new ProbeCache(60_000);
    await expect(remoteGatewayCheck(`http://127.0.0.1:${port}`, ['triage'], cache)).rejects.toThrow(
      `the gateway at http://127.0.0.1:${port} does not answer /livez (ECONNREFUSED); workflows with agent steps: triage`,
    );
    expect(await remoteGatewayCheck(`http://127.0.0.1:${port}`, [], cache)).toBe(`remote: http://127.0.0.1:${port} (not probed: no workflow has agent steps)`);
    const gateway = await startHttpServer((_req, res) => json(res, 200, { status: 'ok' }));
    try {
      expect(await remoteGatewayCheck(gateway.url, ['triage'], cache)).toBe(`remote: ${gateway.url} answers /livez`);
      expect(await remoteGatewayCheck(gateway.url, ['triage'], cache)).toBe(`remote: ${gateway.url} answers /livez`);
      expect(gateway.requests.map((r) => r.path)).toEqual(['/livez']);
    } finally {
      await gateway.close();
    }
  });
});
