/**
 * Auth: a route × role matrix generated from the app's route table (every route, every role
 * and no key, exactly 2xx/401/403), the same run routes × who started the run (a key reaches
 * its own runs, others' only with runs:read:all / runs:write:all), task roles that are no
 * built-in roles, key parsing, and when auth may be off.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/server/app.js';
import { AUTHENTICATED, authSettings } from '../../src/server/auth.js';
import { ROLE_SCOPES, ROLES, type Role } from '../../src/server/scopes.js';
import { parseApiKeys } from '../../src/server/bootstrap-keys.js';
import type { RouteDef } from '../../src/server/route.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { LogRing } from '../../src/obs/log-ring.js';
import { API_KEYS, fixtureToolSpec, KEYS, MOCK_GATEWAY, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { openTask } from '../helpers/engine.js';
import { stepWaiting, TASK_WORKFLOWS } from '../helpers/tasks.js';
import { pluginProject } from '../helpers/plugins.js';
import { removeDir } from '../helpers/cli.js';

let api: TestApi;
let plugins: string;

beforeAll(async () => {
  // With plugins, so the plugin routes answer 2xx: `echo` serves a route of every method; `boom` is the one switched off and on.
  plugins = await pluginProject();
  // With a gateway and a tool server, so the gateway and tools routes answer 2xx to a caller with the scope.
  api = await startTestApi({
    gateway: MOCK_GATEWAY,
    tools: [fixtureToolSpec()],
    workflows: [...WORKFLOWS, ...TASK_WORKFLOWS, YEARLY, NAPS, PARENT, ADMIN_TASK, THINKER],
    executors: [AGENT_STANDIN],
    pluginProject: plugins,
    app: {
      auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: `${API_KEYS};${OWNERSHIP_KEYS};${TASK_ROLE_KEYS}` }),
      // An environment with an empty policy: every run starts, and PUT /v1/policies/prod has an environment to replace.
      policies: { active: 'prod', declared: { prod: {} }, project: { agents: new Map(), tools: new Map() } },
      // The server's recent log lines, so GET /v1/admin/logs answers 2xx to an admin.
      logRing: new LogRing(100),
    },
  });
});
afterAll(async () => {
  await api.close();
  removeDir(plugins);
});

/** A scheduled workflow for the schedules routes (its tick is far away: it starts no run here). */
const YEARLY = { name: 'yearly', schedule: { cron: '0 0 1 1 *' }, steps: { a: { transform: 1 } } };

/** A human step for the task role `admin`: a key granted `role:admin` decides it. */
const ADMIN_TASK = { name: 'admin_task', steps: { ok: { human: { title: 'For role admin', role: 'admin' } } } };

/** A run that starts a child run of `nap`. */
const PARENT = { name: 'parent', steps: { kid: { workflow: 'nap' } } };

/** An agent step behind an hour-long nap: its journal (empty) is readable while it waits. */
const THINKER = { name: 'thinker', steps: { nap: { sleep: '1h' }, think: { needs: ['nap'], agent: 'helper' } } };

/** So workflows with agent steps compile; it never runs here (the agent step stays pending). */
const AGENT_STANDIN: StepExecutor = { kind: 'agent', execute: () => Promise.reject(new Error('the agent stand-in does not run')) };

/** A map of two hour-long naps: its items are listed whatever their state. */
const NAPS = { name: 'naps', steps: { each: { for_each: { from: 'input.items' }, sleep: '1h' } } };

/**
 * The runs the matrices act on are started by the key named `service` (as `POST
 * /v1/workflows/{name}/runs` with it would): the role matrix shows what each role may do with
 * such a run, the ownership matrix who else may.
 */
const OWNER = 'service';

/**
 * Keys for the ownership matrix: `other` is a second service key, `auditor` a service key that
 * reads every run, `fleet` one that reads and acts on every run.
 */
const OTHERS = {
  other: 'other-key-0123456789abcdef',
  auditor: 'auditor-key-0123456789abcdef',
  fleet: 'fleet-key-0123456789abcdef',
} as const;
const OWNERSHIP_KEYS = `other:${OTHERS.other}:service;auditor:${OTHERS.auditor}:service,runs:read:all;fleet:${OTHERS.fleet}:service,runs:read:all,runs:write:all`;

/** A key whose task role is spelled like the built-in `admin`: `role:admin` (with the tasks scopes). */
const PRETENDER = 'pretender-key-0123456789abcdef';
const TASK_ROLE_KEYS = `pretender:${PRETENDER}:tasks:read,tasks:write,role:admin`;

/** A run of `nap` (sleeps an hour): running, so it can be cancelled. */
async function napRun(): Promise<string> {
  return (await api.engine.startRun('nap', {}, { createdBy: OWNER })).id;
}

/** A sleeping run of the owner with one artifact (written to the store as a step would). */
async function runWithArtifact(): Promise<string> {
  const id = await napRun();
  await api.store.artifacts.put({
    runId: id,
    tenantId: 'default',
    stepId: 'long',
    name: 'out/report.md',
    contentType: 'text/markdown',
    content: Buffer.from('# hi\n'),
    maxRunBytes: 1_000,
  });
  return id;
}

/** An open task for role `reviewer` (admin and operator may decide it too). */
async function openTaskId(): Promise<string> {
  const run = await api.engine.startRun('approval', { item: 'matrix' });
  return (await openTask(api.store, run.id)).id;
}

/** A run waiting for signal `go`. */
async function gateRun(): Promise<string> {
  const run = await api.engine.startRun('gate', {}, { createdBy: OWNER });
  await stepWaiting(api.engine, run.id, 'go');
  return run.id;
}

/** A fresh memory thread of the deployment's tenant (where the matrix's keys act), with one exchange. */
async function memoryThread(): Promise<string> {
  const thread = `matrix/${uniqueName()}`;
  await api.store.appendMemory('default', 'helper', thread, [{ role: 'user', content: 'hi' }], 50, Date.now());
  return thread;
}

let keyCount = 0;
function uniqueName(): string {
  return `matrix-${++keyCount}`;
}

/** A fresh managed key (created with the admin key), for the key routes. */
async function managedKeyId(): Promise<string> {
  const res = await api.app.inject({ method: 'POST', url: '/v1/admin/keys', payload: { name: uniqueName(), roles: ['viewer'] }, headers: api.auth('admin') });
  expect(res.statusCode).toBe(201);
  return res.json<{ key: { id: string } }>().key.id;
}

/** A worker row of no process (its heartbeat fresh), to drain. */
async function idleWorker(): Promise<string> {
  const id = 'wrk_matrix';
  await api.store.upsertWorker({ id, host: 'matrix', pid: 1, roles: ['worker'], concurrency: 1, startedAt: Date.now(), heartbeatAt: Date.now() });
  return id;
}

/** A valid request per route, so a caller with the scope gets a 2xx. Keyed by `METHOD url`. */
const REQUESTS: Record<string, () => Promise<InjectOptions>> = {
  'GET /livez': () => Promise.resolve({ url: '/livez' }),
  'GET /healthz': () => Promise.resolve({ url: '/healthz' }),
  'GET /readyz': () => Promise.resolve({ url: '/readyz' }),
  'GET /health': () => Promise.resolve({ url: '/health' }),
  'GET /metrics': () => Promise.resolve({ url: '/metrics' }),
  'GET /openapi.json': () => Promise.resolve({ url: '/openapi.json' }),
  'GET /v1/workflows': () => Promise.resolve({ url: '/v1/workflows' }),
  'POST /v1/workflows/:name/runs': () => Promise.resolve({ method: 'POST', url: '/v1/workflows/hello/runs', payload: { input: { name: 'Ada' } } }),
  'POST /v1/runs': () =>
    Promise.resolve({ method: 'POST', url: '/v1/runs', payload: { spec: 'name: adhoc\nsteps:\n  a: { transform: 1 }\n', metadata: { via: 'matrix' } } }),
  'GET /v1/runs': () => Promise.resolve({ url: '/v1/runs?limit=5&label=via:matrix&q=run_' }),
  // JSON: the changes up to now (the stream itself is server.runs-stream.test.ts).
  'GET /v1/runs/stream': () => Promise.resolve({ url: '/v1/runs/stream?limit=5' }),
  'GET /v1/runs/:id': async () => ({ url: `/v1/runs/${await napRun()}` }),
  'GET /v1/runs/:id/diff/:other': async () => ({ url: `/v1/runs/${await napRun()}/diff/${await napRun()}` }),
  'GET /v1/runs/:id/checkpoints': async () => ({ url: `/v1/runs/${await napRun()}/checkpoints` }),
  'GET /v1/runs/:id/checkpoints/diff': async () => ({ url: `/v1/runs/${await napRun()}/checkpoints/diff?from=1&to=1` }),
  'GET /v1/memory/threads': () => Promise.resolve({ url: '/v1/memory/threads?prefix=matrix' }),
  'GET /v1/memory/threads/:thread': async () => ({ url: `/v1/memory/threads/${encodeURIComponent(await memoryThread())}` }),
  'DELETE /v1/memory/threads/:thread': async () => ({ method: 'DELETE', url: `/v1/memory/threads/${encodeURIComponent(await memoryThread())}` }),
  'DELETE /v1/memory/threads': () => Promise.resolve({ method: 'DELETE', url: '/v1/memory/threads?older_than=30d' }),
  'POST /v1/runs/:id/cancel': async () => ({ method: 'POST', url: `/v1/runs/${await napRun()}/cancel` }),
  'POST /v1/runs/:id/retry': async () => {
    const id = await napRun();
    await api.engine.cancelRun(id);
    return { method: 'POST', url: `/v1/runs/${id}/retry`, payload: {} };
  },
  'GET /v1/runs/:id/events': async () => ({ url: `/v1/runs/${await napRun()}/events` }),
  'GET /v1/events': () => Promise.resolve({ url: '/v1/events?type=run.*&limit=5' }),
  'GET /v1/runs/:id/steps/:step/items': async () => ({
    url: `/v1/runs/${(await api.engine.startRun('naps', { items: [1, 2] }, { createdBy: OWNER })).id}/steps/each/items`,
  }),
  'GET /v1/runs/:id/steps/:step/attempts': async () => ({ url: `/v1/runs/${await napRun()}/steps/long/attempts` }),
  'GET /v1/runs/:id/steps/:step/journal': async () => ({
    url: `/v1/runs/${(await api.engine.startRun('thinker', {}, { createdBy: OWNER })).id}/steps/think/journal`,
  }),
  'GET /v1/runs/:id/artifacts': async () => ({ url: `/v1/runs/${await runWithArtifact()}/artifacts` }),
  'GET /v1/runs/:id/artifacts/*': async () => ({ url: `/v1/runs/${await runWithArtifact()}/artifacts/out/report.md` }),
  'POST /v1/specs/validate': () =>
    Promise.resolve({
      method: 'POST',
      url: '/v1/specs/validate',
      payload: { files: { 'workflows/a.yaml': 'name: a\nsteps:\n  x:\n    transform: { y: 1 }\n' } },
    }),
  'POST /v1/chat/completions': () =>
    Promise.resolve({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'demo', messages: [{ role: 'user', content: 'hi' }] } }),
  'GET /v1/models': () => Promise.resolve({ url: '/v1/models' }),
  'POST /v1/messages': () =>
    Promise.resolve({ method: 'POST', url: '/v1/messages', payload: { model: 'demo', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] } }),
  'GET /v1/models/:id': () => Promise.resolve({ url: '/v1/models/demo' }),
  'POST /v1/embeddings': () => Promise.resolve({ method: 'POST', url: '/v1/embeddings', payload: { model: 'demo', input: 'hi' } }),
  'GET /v1/usage': () => Promise.resolve({ url: '/v1/usage?from=2026-01-01' }),
  'GET /v1/usage/budgets': () => Promise.resolve({ url: '/v1/usage/budgets' }),
  'GET /v1/usage/calls': () => Promise.resolve({ url: '/v1/usage/calls?limit=5' }),
  'GET /v1/policies': () => Promise.resolve({ url: '/v1/policies' }),
  // An empty policy, as declared: every later start still passes.
  'PUT /v1/policies/:environment': () => Promise.resolve({ method: 'PUT', url: '/v1/policies/prod', payload: {} }),
  'DELETE /v1/policies/:environment': () => Promise.resolve({ method: 'DELETE', url: '/v1/policies/prod' }),
  'POST /v1/specs/policy-report': () => Promise.resolve({ method: 'POST', url: '/v1/specs/policy-report', payload: { workflow: 'hello' } }),
  'GET /v1/runs/:id/policy-report': async () => ({ url: `/v1/runs/${await napRun()}/policy-report` }),
  'GET /v1/tools': () => Promise.resolve({ url: '/v1/tools' }),
  'GET /v1/tools/:name': () => Promise.resolve({ url: '/v1/tools/fx' }),
  // The fixture server is never started by these: the switch does not need a connection.
  'POST /v1/tools/:name/disable': () => Promise.resolve({ method: 'POST', url: '/v1/tools/fx/disable', payload: { reason: 'matrix' } }),
  'POST /v1/tools/:name/enable': () => Promise.resolve({ method: 'POST', url: '/v1/tools/fx/enable' }),
  'GET /v1/tasks': () => Promise.resolve({ url: '/v1/tasks?status=open&limit=5' }),
  'GET /v1/tasks/:id': async () => ({ url: `/v1/tasks/${await openTaskId()}` }),
  'POST /v1/tasks/:id/complete': async () => ({ method: 'POST', url: `/v1/tasks/${await openTaskId()}/complete`, payload: { decision: 'approve' } }),
  'GET /v1/schedules': () => Promise.resolve({ url: '/v1/schedules' }),
  'GET /v1/audit': () => Promise.resolve({ url: '/v1/audit?action=run.start&limit=5' }),
  'GET /v1/admin/quotas': () => Promise.resolve({ url: '/v1/admin/quotas' }),
  'GET /v1/audit/export': () => Promise.resolve({ url: '/v1/audit/export?action=run.start' }),
  'GET /v1/security/credentials': () => Promise.resolve({ url: '/v1/security/credentials' }),
  'GET /v1/admin/workers': () => Promise.resolve({ url: '/v1/admin/workers' }),
  // A registered worker of no process: draining the test API's own engine would stop it.
  'POST /v1/admin/workers/:id/drain': async () => ({ method: 'POST', url: `/v1/admin/workers/${await idleWorker()}/drain` }),
  'GET /v1/admin/maintenance': () => Promise.resolve({ url: '/v1/admin/maintenance' }),
  // Registered just before DELETE (fleet.ts): maintenance mode is on only until the next route's calls turn it off.
  'PUT /v1/admin/maintenance': () => Promise.resolve({ method: 'PUT', url: '/v1/admin/maintenance', payload: { reason: 'matrix' } }),
  'DELETE /v1/admin/maintenance': () => Promise.resolve({ method: 'DELETE', url: '/v1/admin/maintenance' }),
  'GET /v1/admin/info': () => Promise.resolve({ url: '/v1/admin/info' }),
  'POST /v1/admin/sweep': () => Promise.resolve({ method: 'POST', url: '/v1/admin/sweep', payload: {} }),
  'GET /v1/admin/status': () => Promise.resolve({ url: '/v1/admin/status' }),
  // The backlog as JSON; the follow stream (`?follow=true`) never ends on its own (server.logs.test.ts covers it).
  'GET /v1/admin/logs': () => Promise.resolve({ url: '/v1/admin/logs?limit=5' }),
  'GET /v1/routes': () => Promise.resolve({ url: '/v1/routes' }),
  'POST /v1/schedules/:workflow/pause': () => Promise.resolve({ method: 'POST', url: '/v1/schedules/yearly/pause' }),
  'POST /v1/schedules/:workflow/resume': () => Promise.resolve({ method: 'POST', url: '/v1/schedules/yearly/resume' }),
  'GET /v1/auth/whoami': () => Promise.resolve({ url: '/v1/auth/whoami' }),
  'POST /v1/admin/keys': () => Promise.resolve({ method: 'POST', url: '/v1/admin/keys', payload: { name: uniqueName(), roles: ['viewer'] } }),
  'GET /v1/admin/keys': () => Promise.resolve({ url: '/v1/admin/keys?limit=5' }),
  'GET /v1/admin/keys/:id': async () => ({ url: `/v1/admin/keys/${await managedKeyId()}` }),
  'POST /v1/admin/keys/:id/revoke': async () => ({ method: 'POST', url: `/v1/admin/keys/${await managedKeyId()}/revoke` }),
  'POST /v1/admin/keys/:id/rotate': async () => ({ method: 'POST', url: `/v1/admin/keys/${await managedKeyId()}/rotate`, payload: { grace: '1m' } }),
  'GET /v1/plugins': () => Promise.resolve({ url: '/v1/plugins' }),
  'POST /v1/plugins/:name/disable': () => Promise.resolve({ method: 'POST', url: '/v1/plugins/boom/disable', payload: { reason: 'matrix' } }),
  'POST /v1/plugins/:name/enable': () => Promise.resolve({ method: 'POST', url: '/v1/plugins/boom/enable', payload: {} }),
  'GET /v1/plugins/:name/*': () => Promise.resolve({ url: '/v1/plugins/echo/echo?x=1' }),
  'POST /v1/plugins/:name/*': () => Promise.resolve({ method: 'POST', url: '/v1/plugins/echo/echo', payload: { a: 1 } }),
  'PUT /v1/plugins/:name/*': () => Promise.resolve({ method: 'PUT', url: '/v1/plugins/echo/echo', payload: { a: 1 } }),
  'DELETE /v1/plugins/:name/*': () => Promise.resolve({ method: 'DELETE', url: '/v1/plugins/echo/echo' }),
  'POST /v1/runs/:id/signals/:name': async () => ({ method: 'POST', url: `/v1/runs/${await gateRun()}/signals/go`, payload: { ok: true } }),
};

function expected(route: RouteDef, role: Role | null): number | '2xx' {
  if (route.scope === null) return '2xx';
  if (role === null) return 401;
  if (route.scope === AUTHENTICATED) return '2xx';
  return ROLE_SCOPES[role].includes(route.scope) ? '2xx' : 403;
}

describe('route × role matrix', () => {
  it('has a request for every route in the table, and the table has every route above', () => {
    const keys = routesOf(api.app).map((r) => `${r.method} ${r.url}`);
    expect(keys.sort()).toEqual(Object.keys(REQUESTS).sort());
  });

  it('answers every route, for every role and without a key, with exactly the expected 2xx, 401 or 403', async () => {
    const results: string[] = [];
    const wanted: string[] = [];
    for (const route of routesOf(api.app)) {
      for (const role of [null, ...ROLES]) {
        const build = REQUESTS[`${route.method} ${route.url}`]!;
        const request = await build();
        const res = await api.app.inject({ ...request, headers: { ...request.headers, ...api.auth(role) } });
        const status = res.statusCode >= 200 && res.statusCode < 300 ? '2xx' : res.statusCode;
        results.push(`${route.method} ${route.url} as ${role ?? 'nobody'}: ${status}`);
        wanted.push(`${route.method} ${route.url} as ${role ?? 'nobody'}: ${expected(route, role)}`);
        if ((status === 401 || status === 403) && route.anthropicErrors === true) {
          // The Messages API answers in Anthropic's error shape (anthropic-errors.ts), with the same code and detail.
          expect(res.json()).toMatchObject({
            type: 'error',
            error: {
              type: status === 401 ? 'authentication_error' : 'permission_error',
              details: { error_code: status === 401 ? 'unauthorized' : 'forbidden' },
            },
            request_id: res.headers['x-request-id'],
          });
          if (status === 403) expect(res.json().error.message).toBe(`missing required scope: ${route.scope}`);
        } else if (status === 401 || status === 403) {
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.json()).toMatchObject({ code: status === 401 ? 'unauthorized' : 'forbidden', status, request_id: res.headers['x-request-id'] });
          if (status === 403) expect(res.json().detail).toBe(`missing required scope: ${route.scope}`);
        }
      }
    }
    expect(results).toEqual(wanted);
  });

  it('accepts the key as X-Api-Key too, and rejects a wrong key with 401', async () => {
    expect((await api.app.inject({ url: '/v1/runs', headers: { 'x-api-key': KEYS.viewer } })).statusCode).toBe(200);
    const wrong = await api.app.inject({ url: '/v1/runs', headers: { authorization: 'Bearer not-a-key-0123456789abcdef' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('unauthorized');
    expect((await api.app.inject({ url: '/v1/runs', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
  });
});

/** Who asks in the ownership matrix: a key by name (a built-in role's key is named after the role). */
type Asker = keyof typeof OTHERS | Role;

function headersOf(asker: Asker): Record<string, string> {
  return asker in OTHERS ? { authorization: `Bearer ${OTHERS[asker as keyof typeof OTHERS]}` } : api.auth(asker as Role);
}

/**
 * What `asker` gets on a route of a run `service` started: the starter and keys with the
 * matching `:all` scope 2xx, a key that may read it but not act on it 403, any other 404 (the
 * run is not shown to exist). Roles without the route's scope are the role matrix's business.
 */
function expectedOnOwnedRun(route: RouteDef, asker: Asker): number | '2xx' {
  const reads = route.method === 'GET';
  if (asker === OWNER || asker === 'fleet' || asker === 'admin' || asker === 'operator') return '2xx';
  if (asker === 'auditor' || asker === 'viewer' || asker === 'reviewer') return reads ? '2xx' : 403;
  return 404;
}

/** The routes that name one run (`/v1/runs/:id…`). */
function runRoutes(): RouteDef[] {
  return routesOf(api.app).filter((r) => r.url.startsWith('/v1/runs/:id'));
}

describe('route × run owner matrix', () => {
  it('reaches a run from every run route for its starter and for keys with runs:*:all, and answers others 404 (reads) or 403', async () => {
    const results: string[] = [];
    const wanted: string[] = [];
    const askers: Asker[] = ['service', 'other', 'auditor', 'fleet', 'operator', 'admin', 'viewer', 'reviewer'];
    for (const route of runRoutes()) {
      for (const asker of askers) {
        // A viewer or reviewer has no runs:write: the role matrix covers that 403.
        if (route.scope !== null && !route.scope.startsWith('runs:read') && (asker === 'viewer' || asker === 'reviewer')) continue;
        const request = await REQUESTS[`${route.method} ${route.url}`]!();
        const res = await api.app.inject({ ...request, headers: { ...request.headers, ...headersOf(asker) } });
        const status = res.statusCode >= 200 && res.statusCode < 300 ? '2xx' : res.statusCode;
        results.push(`${route.method} ${route.url} as ${asker}: ${status}`);
        wanted.push(`${route.method} ${route.url} as ${asker}: ${expectedOnOwnedRun(route, asker)}`);
        if (status === 404) expect(res.json()).toMatchObject({ code: 'not_found', detail: expect.stringMatching(/^run run_\S+ not found$/) });
        if (status === 403) expect(res.json()).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('runs:write:all') });
      }
    }
    // A new run route joins this matrix (and must say who may use it).
    expect(runRoutes().map((r) => `${r.method} ${r.url}`)).toHaveLength(14);
    expect(results).toEqual(wanted);
  });

  it('records the starting key as the owner, lists each key its own runs, and keys with runs:read:all every run', async () => {
    const started = await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', payload: {}, headers: headersOf('other') });
    expect(started.statusCode).toBe(201);
    const id = started.json().id as string;
    expect(started.json().created_by).toBe('other');
    const ids = async (asker: Asker): Promise<string[]> =>
      ((await api.app.inject({ url: '/v1/runs?limit=200', headers: headersOf(asker) })).json().items as { id: string }[]).map((r) => r.id);
    expect(await ids('other')).toEqual([id]);
    expect(await ids('service')).not.toContain(id);
    for (const asker of ['auditor', 'fleet', 'operator', 'admin', 'viewer'] as const) expect(await ids(asker)).toContain(id);
    // The event query across runs is scoped the same way.
    const eventRuns = async (asker: Asker, query: string): Promise<string[]> => {
      const res = await api.app.inject({ url: `/v1/events?${query}&limit=1000`, headers: headersOf(asker) });
      expect(res.statusCode).toBe(200);
      return [...new Set((res.json().items as { run_id: string }[]).map((e) => e.run_id))];
    };
    expect(await eventRuns('other', 'type=run.created')).toEqual([id]);
    expect(await eventRuns('service', `run_id=${id}`)).toEqual([]);
    for (const asker of ['other', 'auditor', 'fleet', 'operator', 'admin', 'viewer'] as const) expect(await eventRuns(asker, `run_id=${id}`)).toEqual([id]);
    await api.engine.cancelRun(id);
  });

  it("keeps Idempotency-Keys per key: another key's use of the same key starts its own run, never replays that key's run", async () => {
    const start = (asker: Asker) =>
      api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', payload: {}, headers: { ...headersOf(asker), 'idempotency-key': 'shared-key-1' } });
    const first = await start('other');
    expect(first.statusCode).toBe(201);
    const id = first.json().id as string;
    const second = await start('service');
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ created_by: 'service' });
    expect(second.body).not.toContain(id);
    const again = await start('other');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toMatchObject({ id });
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    await api.engine.cancelRun(id);
    await api.engine.cancelRun(second.json().id as string);
  });

  it('gives a retry to the key that retried it, and a child run its parent run’s owner', async () => {
    const id = await napRun();
    await api.engine.cancelRun(id);
    const retried = await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/retry`, payload: {}, headers: headersOf('fleet') });
    expect(retried.json()).toMatchObject({ retry_of: id, created_by: 'fleet' });
    expect((await api.app.inject({ url: `/v1/runs/${retried.json().id as string}`, headers: headersOf('service') })).statusCode).toBe(404);
    await api.engine.cancelRun(retried.json().id as string);

    const parent = await api.app.inject({ method: 'POST', url: '/v1/workflows/parent/runs', payload: {}, headers: headersOf('other') });
    const parentId = parent.json().id as string;
    await expect.poll(async () => (await api.engine.childRuns(parentId)).length, { timeout: 10_000 }).toBe(1);
    const [child] = await api.engine.childRuns(parentId);
    const seen = await api.app.inject({ url: `/v1/runs/${child!.id}`, headers: headersOf('other') });
    expect(seen.json()).toMatchObject({ created_by: 'other', parent: { run_id: parentId, step_id: 'kid' } });
    expect((await api.app.inject({ url: `/v1/runs/${child!.id}`, headers: headersOf('service') })).statusCode).toBe(404);
    await api.engine.cancelRun(parentId);
  });

  it('refuses a signal forged by another service key: the run keeps waiting, and its starter can still send it', async () => {
    const id = await gateRun();
    const forged = await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/signals/go`, payload: { approved: true }, headers: headersOf('other') });
    expect(forged.statusCode).toBe(404);
    expect(forged.json()).toMatchObject({ code: 'not_found', detail: `run ${id} not found` });
    const run = await api.engine.getRunWithSteps(id);
    expect(run.steps.find((s) => s.stepId === 'go')).toMatchObject({ status: 'waiting' });
    const sent = await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/signals/go`, payload: { approved: true }, headers: headersOf('service') });
    expect(sent.statusCode).toBe(202);
    await api.engine.cancelRun(id);
  });
});

describe('task roles', () => {
  it('does not make a key with the task role role:admin a supervisor: it cannot decide a task for another role', async () => {
    const id = await openTaskId();
    const headers = { authorization: `Bearer ${PRETENDER}` };
    const res = await api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/complete`, payload: { decision: 'approve' }, headers });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'forbidden' });
    expect((await api.app.inject({ url: `/v1/tasks/${id}`, headers })).json()).toMatchObject({ status: 'open' });
    // The built-in admin still supervises every task.
    const admin = await api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/complete`, payload: { decision: 'approve' }, headers: api.auth('admin') });
    expect(admin.statusCode).toBe(200);
    // Its task role does decide the tasks for role `admin`.
    const run = await api.engine.startRun('admin_task', {});
    const own = await openTask(api.store, run.id);
    const decided = await api.app.inject({ method: 'POST', url: `/v1/tasks/${own.id}/complete`, payload: { decision: 'approve' }, headers });
    expect(decided.statusCode).toBe(200);
    expect(decided.json()).toMatchObject({ status: 'completed', decided_by: 'pretender' });
  });
});

describe('API keys', () => {
  it('parses name:key:role entries separated by semicolons, trimming whitespace, with roles or raw scopes', () => {
    const keys = parseApiKeys(' ci : ci-key-0123456789abcdef : service ; v:viewer-key-0123456789ab:viewer;x:x-key-0123456789abcdef:runs:read,runs:write');
    expect(keys.map((k) => [k.name, [...k.scopes].sort()])).toEqual([
      ['ci', [...ROLE_SCOPES.service].sort()],
      ['v', [...ROLE_SCOPES.viewer].sort()],
      ['x', ['runs:read', 'runs:write']],
    ]);
  });

  it('takes task roles as role:<name>, which decide tasks for that role and grant no scope', () => {
    const [fin] = parseApiKeys('fin:fin-key-0123456789abcdef:reviewer,role:finance');
    expect(fin!.grants).toEqual(['reviewer', 'role:finance']);
    expect([...fin!.scopes].sort()).toEqual([...ROLE_SCOPES.reviewer].sort());
    expect(() => parseApiKeys('fin:fin-key-0123456789abcdef:role:')).toThrow(/nor a task role/);
  });

  it('refuses a malformed entry, a short key or an unknown role, naming the entry and never the key', () => {
    const attempt = (text: string) => {
      try {
        parseApiKeys(text);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(attempt('justaname')).toMatch(/entry 1: expected name:key:role/);
    const short = attempt('ok:ok-key-0123456789abcdef:admin;bob:sh0rt:viewer');
    expect(short).toMatch(/entry 2 \('bob'\): the key is shorter than 16/);
    expect(short).not.toContain('sh0rt');
    const role = attempt('eve:eve-key-0123456789abcdef:wizard');
    expect(role).toMatch(/'wizard' is neither a role/);
    expect(role).not.toContain('eve-key-0123456789abcdef');
  });

  it('allows auth off only on a loopback bind', () => {
    expect(authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }).enabled).toBe(false);
    expect(authSettings({ enabled: false, host: '::1', apiKeys: undefined }).enabled).toBe(false);
    expect(() => authSettings({ enabled: false, host: '0.0.0.0', apiKeys: undefined })).toThrow(/only on a loopback address/);
    expect(() => authSettings({ enabled: false, host: '192.168.1.4', apiKeys: undefined })).toThrow(/only on a loopback address/);
  });

  it('refuses to build a server with auth on and no way to sign in: no bootstrap key, no OIDC issuer, no usable managed key', async () => {
    await expect(startTestApi({ start: false, app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: '' }) } })).rejects.toThrow(
      /no API keys are configured: .*agentry keys create/,
    );
  });

  it('refuses a bootstrap key that starts like a managed key', () => {
    expect(() => parseApiKeys('ci:agk_0123456789abcdefghjk:service')).toThrow(/starts with agk_, which marks managed keys/);
  });

  it('with auth off (loopback), serves every route without a key', async () => {
    const open = await startTestApi({ start: false, app: { auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }) } });
    try {
      expect((await open.app.inject({ url: '/v1/runs' })).statusCode).toBe(200);
      expect((await open.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});
