/**
 * Specs use plugins, on both stores, opened as `agentry serve` opens a project (`openAgentry`,
 * the app built from `appOptions`): a workflow's `plugin:` step of the example weather plugin
 * (installed from an npm registry on loopback; a `process` plugin whose one declared host is a
 * weather API on loopback) runs to success
 * with the run's tenant and id in its context and audit records; an agent on the scripted mock
 * model calls a plugin tool; a throwing plugin step fails alone with `plugin_failed` after its
 * retries while another run succeeds and `/readyz` stays ready; a step's timeout aborts the
 * plugin's `ctx.signal`; a run in flight when its plugin is disabled fails its next plugin step
 * `plugin_disabled` without retries; a run start whose workflow uses a disabled plugin (a step,
 * or an agent's tool) is refused 409 `plugin_disabled` and stores nothing.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAgentry, type Agentry } from '../../src/app/bootstrap.js';
import type { Caller } from '../../src/app/caller.js';
import { loadConfig } from '../../src/app/config.js';
import { PluginManager } from '../../src/app/plugins.js';
import { registryUrl } from '../../src/app/plugin-registry.js';
import { fireDueSchedules, syncSchedules } from '../../src/engine/schedules.js';
import { createLogger } from '../../src/obs/logger.js';
import { buildApp } from '../../src/server/app.js';
import { appOptions, serverAuth } from '../../src/server/compose.js';
import { REPO, removeDir, tempDir } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startRegistryStub, type RegistryStub } from '../helpers/npm-registry.js';
import { hasPostgres } from '../helpers/store.js';

const KEY = 'ops-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
const operator: Caller = { name: 'ops', roles: ['admin'], runAccess: { read: 'all', write: 'all' }, systemAdmin: true };

const PROBE = `
export default {
  steps: {
    who: (config, ctx) => ({ tenant: ctx.tenantId ?? null, run: ctx.runId ?? null, label: config.label }),
    boom: () => { throw new Error('the probe blew up'); },
    hang: async (config, ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      await ctx.kv.set('aborted', { run: ctx.runId });
      return 'too late';
    },
  },
  tools: {
    echo: (input, ctx) => ({ echoed: input.text, tenant: ctx.tenantId ?? null, run: ctx.runId ?? null }),
  },
};
`;
const PROBE_MANIFEST = {
  name: 'probe',
  version: '0.1.0',
  mode: 'in-process',
  adds: {
    steps: [
      { kind: 'who', config: { type: 'object', required: ['label'], properties: { label: { type: 'string' } }, additionalProperties: false } },
      { kind: 'boom', config: { type: 'object' } },
      { kind: 'hang', config: { type: 'object' } },
    ],
    tools: [{ name: 'echo', description: 'Echoes its text', input: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } }],
  },
  permissions: {},
};

const GATEWAY = `version: v1
providers:
  scripted:
    type: mock
    script:
      - when: { turn: 1 }
        reply: { tool_calls: [{ name: probe__echo, arguments: { text: hello plugin } }] }
      - when: { turn: 2 }
        reply: { content: all done }
models:
  mock:
    targets: [{ provider: scripted, model: mock-1 }]
`;

const AGENT = `version: v1
name: helper
model: mock
prompt: "Help with {{ input.topic }}"
tools: [probe.echo]
`;

let api: Server;
let registry: RegistryStub | undefined;
let apiPort = 0;
const apiCalls: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
let project: string;

beforeAll(async () => {
  api = createServer((req, res) => {
    apiCalls.push({ url: req.url ?? '', headers: req.headers });
    const city = new URL(req.url ?? '/', 'http://x').searchParams.get('city');
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ summary: `sunny in ${city}`, temperature_c: 21 }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as AddressInfo).port;

  project = tempDir('agentry-plugin-wf-');
  // The example weather plugin, its one declared host being the test's weather API on loopback.
  const weather = join(project, 'plugin-src/weather');
  cpSync(join(REPO, 'examples/plugins/weather'), weather, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(weather, 'agentry-plugin.json'), 'utf8')) as { permissions: { network: { hosts: string[] } } };
  manifest.permissions.network.hosts = [`127.0.0.1:${apiPort}`];
  writeFileSync(join(weather, 'agentry-plugin.json'), JSON.stringify(manifest));
  const probe = join(project, 'plugin-src/probe');
  mkdirSync(probe, { recursive: true });
  writeFileSync(join(probe, 'index.js'), PROBE);
  writeFileSync(join(probe, 'agentry-plugin.json'), JSON.stringify(PROBE_MANIFEST));
  // Weather comes from an npm registry on loopback, as `agentry plugins install` takes it (permissions accepted); probe is linked.
  registry = await startRegistryStub();
  await registry.publish('agentry-plugin-weather', '1.0.0', weather);
  const manager = new PluginManager({ projectDir: project, registry: registryUrl(registry.url, {}, project) });
  const installed = await manager.install('agentry-plugin-weather@1.0.0', () => Promise.resolve(true));
  expect(installed.entry).toMatchObject({ version: '1.0.0', source: 'registry' });
  await manager.link(probe, () => Promise.resolve(true));

  mkdirSync(join(project, 'workflows'));
  mkdirSync(join(project, 'agents'));
  const workflow = (name: string, text: string) => writeFileSync(join(project, 'workflows', `${name}.yaml`), `version: v1\nname: ${name}\n${text}`);
  workflow(
    'forecast',
    `steps:
  today:
    plugin:
      name: weather
      step: forecast
      config: { city: "{{ input.city }}", base_url: "http://127.0.0.1:${apiPort}" }
output: "{{ steps.today.output }}"
`,
  );
  workflow('who', `steps:\n  me:\n    plugin: { name: probe, step: who, config: { label: "{{ input.label }}" } }\noutput: "{{ steps.me.output }}"\n`);
  workflow('boom', `steps:\n  bang:\n    retry: { max_attempts: 2, initial: 10ms }\n    plugin: { name: probe, step: boom }\n`);
  workflow('hang', `steps:\n  stuck:\n    timeout: 1s\n    plugin: { name: probe, step: hang }\n`);
  workflow(
    'later',
    `steps:\n  nap:\n    sleep: 1s\n  me:\n    needs: [nap]\n    retry: { max_attempts: 3, initial: 10ms }\n    plugin: { name: probe, step: who, config: { label: later } }\n`,
  );
  workflow('nightly-who', `schedule: { cron: "0 3 * * *" }\nsteps:\n  me:\n    plugin: { name: probe, step: who, config: { label: nightly } }\n`);
  workflow('parent', `steps:\n  sub:\n    workflow: who\n    input: { label: from-parent }\n`);
  workflow('hello', `steps:\n  hi:\n    transform: { greeting: "hello {{ input.name }}" }\n`);
  workflow('assist', `steps:\n  help:\n    agent: helper\n    input: { topic: plugins }\n`);
  writeFileSync(join(project, 'agents/helper.yaml'), AGENT);
  writeFileSync(join(project, 'gateway.yaml'), GATEWAY);
});

afterAll(async () => {
  await registry?.close();
  await new Promise<void>((resolve) => api.close(() => resolve()));
  removeDir(project);
});

interface Opened {
  agentry: Agentry;
  app: FastifyInstance;
  close(): Promise<void>;
}

const stores: Array<{ name: string; url: () => Promise<{ url: string; drop: () => Promise<void> }> }> = [
  {
    name: 'sqlite',
    url: () => {
      const dir = tempDir('agentry-plugin-wf-db-');
      return Promise.resolve({ url: `sqlite:${join(dir, 'agentry.db')}`, drop: () => Promise.resolve(removeDir(dir)) });
    },
  },
  ...(hasPostgres ? [{ name: 'postgres', url: () => createTestDatabase() }] : []),
];

async function open(databaseUrl: string): Promise<Opened> {
  const env = {
    AGENTRY_DATABASE_URL: databaseUrl,
    AGENTRY_POLL_INTERVAL: '50ms',
    AGENTRY_LEASE_TTL: '2s',
    AGENTRY_API_KEYS: `ops:${KEY}:admin`,
    WEATHER_API_KEY: 'k-123',
  };
  const config = loadConfig({ flags: { projectDir: project }, env, cwd: project });
  const logger = createLogger({ level: 'silent' });
  const agentry = await openAgentry(config, { logger, env });
  let app: FastifyInstance | undefined;
  try {
    await agentry.engine.start();
    app = await buildApp(appOptions(agentry, config, logger, env, serverAuth(config)));
    await app.ready();
  } catch (error) {
    await agentry.close();
    throw error;
  }
  return {
    agentry,
    app,
    close: async () => {
      await app.close();
      await agentry.close();
    },
  };
}

async function start(app: FastifyInstance, workflow: string, input: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: `/v1/workflows/${workflow}/runs`, headers: auth, payload: { input } });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

async function finished(opened: Opened, runId: string) {
  return opened.agentry.engine.waitForRun(runId, { timeoutMs: 30_000, pollMs: 50 });
}

describe.each(stores)('plugins in workflows on $name', { timeout: 90_000 }, ({ url }) => {
  let db: { url: string; drop: () => Promise<void> };
  let opened: Opened;
  // Each test opens its own process (plugin runtimes and connections are closed by its end).
  beforeAll(async () => {
    db = await url();
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    opened = await open(db.url);
  });
  afterEach(async () => {
    await opened?.close();
  });

  it("runs a workflow whose step is the weather plugin's forecast, in the run's scope", async () => {
    apiCalls.length = 0;
    const started = await start(opened.app, 'forecast', { city: 'Oslo' });
    expect(started.status).toBe(201);
    const runId = String(started.body['id']);
    const run = await finished(opened, runId);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ city: 'Oslo', summary: 'sunny in Oslo', temperature_c: 21 });
    expect(apiCalls).toHaveLength(1);
    expect(apiCalls[0]).toMatchObject({ url: '/v1/forecast?city=Oslo', headers: { authorization: 'Bearer k-123' } });
    // The plugin's network call is in the audit log with the run it was made for.
    let entries: Array<{ action: string; target: string | null; details?: unknown }> = [];
    for (let i = 0; i < 50 && !entries.some((e) => e.action === 'plugin.fetch'); i++) {
      entries = (await opened.agentry.store.listAudit({ action: 'plugin.fetch', limit: 10 })).items;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'plugin.fetch', target: `127.0.0.1:${apiPort}`, details: { plugin: 'weather', run_id: runId } }),
    );
  });

  it("gives the plugin the run's tenant and id as ctx.tenantId and ctx.runId", async () => {
    const started = await start(opened.app, 'who', { label: 'me' });
    const runId = String(started.body['id']);
    const run = await finished(opened, runId);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ tenant: run.tenantId, run: runId, label: 'me' });
  });

  it('lets an agent on the mock model call a plugin tool listed in its tools', async () => {
    const started = await start(opened.app, 'assist', {});
    const runId = String(started.body['id']);
    const run = await finished(opened, runId);
    expect(run.status).toBe('succeeded');
    expect(run.output).toMatchObject({ help: 'all done' });
    const journal = new Map((await opened.agentry.store.loadJournal(runId, 'help')).map((e) => [e.key, e.data]));
    const result = [...journal.entries()].find(([key]) => key.startsWith('tool:1:'))?.[1];
    expect(JSON.parse(result as string)).toEqual({ echoed: 'hello plugin', tenant: run.tenantId, run: runId });
  });

  it('fails a throwing plugin step alone with plugin_failed after its retries; another run succeeds and /readyz stays ready', async () => {
    const boom = await start(opened.app, 'boom', {});
    const hello = await start(opened.app, 'hello', { name: 'x' });
    const failed = await finished(opened, String(boom.body['id']));
    const ok = await finished(opened, String(hello.body['id']));
    expect(failed.status).toBe('failed');
    const detail = (await opened.app.inject({ url: `/v1/runs/${failed.id}`, headers: auth })).json<{ steps: Array<Record<string, unknown>> }>();
    expect(detail.steps.find((s) => s['id'] === 'bang')).toMatchObject({
      kind: 'plugin',
      status: 'failed',
      attempt: 2,
      error: { code: 'plugin_failed', message: expect.stringContaining('the probe blew up') },
    });
    expect(ok.status).toBe('succeeded');
    expect((await opened.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it("aborts the plugin's ctx.signal when the step times out", async () => {
    // The probe's runtime is started first, so the step's timeout runs while the plugin waits.
    expect((await finished(opened, String((await start(opened.app, 'who', { label: 'warm' })).body['id']))).status).toBe('succeeded');
    const started = await start(opened.app, 'hang', {});
    const run = await finished(opened, String(started.body['id']));
    expect(run.status).toBe('failed');
    let seen: string | undefined;
    for (let i = 0; i < 100 && seen === undefined; i++) {
      seen = await opened.agentry.store.getPluginValue('probe', run.tenantId, 'aborted');
      if (seen === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(JSON.parse(seen ?? 'null')).toEqual({ run: run.id });
  });

  it('fails a plugin step of a run in flight once its plugin is disabled, with plugin_disabled and no retry', async () => {
    const started = await start(opened.app, 'later', {});
    expect(started.status).toBe(201);
    await opened.agentry.plugins!.disable(operator, 'probe', 'pulled mid-run');
    try {
      const run = await finished(opened, String(started.body['id']));
      expect(run.status).toBe('failed');
      const detail = (await opened.app.inject({ url: `/v1/runs/${run.id}`, headers: auth })).json<{ steps: Array<Record<string, unknown>> }>();
      expect(detail.steps.find((s) => s['id'] === 'me')).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { code: 'plugin_disabled', message: expect.stringContaining('pulled mid-run') },
      });
    } finally {
      await opened.agentry.plugins!.enable(operator, 'probe');
    }
  });

  it("checks plugin steps and plugin tools against the server's plugins in POST /v1/specs/validate", async () => {
    const files = {
      'workflows/check.yaml': 'version: v1\nname: check\nsteps:\n  me:\n    plugin:\n      name: probe\n      step: who\n      config: { label: 7 }\n',
      'agents/helper.yaml': AGENT,
    };
    const res = await opened.app.inject({ method: 'POST', url: '/v1/specs/validate', headers: auth, payload: { files } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      valid: false,
      diagnostics: [{ file: 'workflows/check.yaml', line: 8, path: 'steps.me.plugin.config.label', message: 'must be string' }],
    });
  });

  it('refuses to start a run whose workflow uses a disabled plugin (a step or an agent tool), storing nothing', async () => {
    const plugins = opened.agentry.plugins!;
    await plugins.disable(operator, 'probe', 'under review');
    try {
      const before = (await opened.agentry.store.listRuns({ limit: 500 })).items.length;
      const whoRuns = async () => (await opened.agentry.store.listRuns({ workflow: 'who', limit: 500 })).items.length;
      const whoBefore = await whoRuns();
      const who = await start(opened.app, 'who', { label: 'x' });
      expect(who.status).toBe(409);
      expect(who.body).toMatchObject({ code: 'plugin_disabled', details: { plugin: 'probe', step: 'me', workflow: 'who' } });
      expect(String(who.body['detail'])).toContain('step me uses plugin probe, which is disabled: under review');
      const assist = await start(opened.app, 'assist', {});
      expect(assist.status).toBe(409);
      expect(assist.body).toMatchObject({ code: 'plugin_disabled', details: { plugin: 'probe', step: 'help' } });
      expect((await opened.agentry.store.listRuns({ limit: 500 })).items.length).toBe(before);
      // A workflow that starts it as a child run fails that step the same way, storing no child run.
      const parent = await start(opened.app, 'parent', {});
      expect(parent.status).toBe(201);
      const failed = await finished(opened, String(parent.body['id']));
      expect(failed.status).toBe('failed');
      const sub = (await opened.agentry.store.getSteps(failed.id)).find((s) => s.stepId === 'sub');
      expect(sub?.error).toMatchObject({ code: 'plugin_disabled', message: expect.stringContaining('step me uses plugin probe, which is disabled') });
      expect(await whoRuns()).toBe(whoBefore);
      // A schedule's tick skips its run, and the schedule keeps its next tick.
      const { store, engine } = opened.agentry;
      await syncSchedules(store, engine.workflows, Date.now());
      const schedule = await store.getSchedule('nightly-who');
      const report = await fireDueSchedules(
        { store, transitions: engine.transitions, workflows: engine.workflows, logger: createLogger({ level: 'silent' }) },
        schedule!.nextAt! + 1,
      );
      expect(report.skipped).toEqual([{ workflow: 'nightly-who', tick: schedule!.nextAt, reason: 'error' }]);
      expect((await opened.agentry.store.listRuns({ workflow: 'nightly-who', limit: 10 })).items).toHaveLength(0);
      expect((await opened.agentry.store.getSchedule('nightly-who'))?.nextAt).toBeGreaterThan(schedule!.nextAt!);
      // A workflow that uses another plugin still starts.
      expect((await start(opened.app, 'hello', { name: 'y' })).status).toBe(201);
    } finally {
      await plugins.enable(operator, 'probe');
    }
    expect((await start(opened.app, 'who', { label: 'back' })).status).toBe(201);
  });
});
