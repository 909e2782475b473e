/**
 * Tenant isolation, on every store: two tenants with a key of every role each, and objects in
 * each (runs and their events, a map run, a run waiting for a signal, an open task, a schedule,
 * LLM usage, audit entries). Every route of the route table is called by every key of one tenant against the
 * other tenant's objects: a route naming an object answers 404 (never 403: existence does not
 * leak) and changes nothing; a listing answers without any of them. A route that names no
 * tenant's object is in `EXEMPT`, with the reason. A new route fails the first test until it
 * is classified here.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/server/app.js';
import { ROLE_SCOPES, ROLES, type Role } from '../../src/server/scopes.js';
import type { RouteDef } from '../../src/server/route.js';
import { storeFactories } from '../helpers/store.js';
import { bearerOf, otherThan, startTenantWorld, tenantKey, TENANTS, type Tenant, type TenantObjects, type TenantWorld } from '../helpers/tenants.js';

/** Routes that name no tenant's object, so a cross-tenant call means nothing; each with the reason. */
const EXEMPT: Record<string, string> = {
  'GET /livez': 'open probe: no tenant data',
  'GET /healthz': 'open probe: no tenant data',
  'GET /readyz': 'open probe: the deployment’s readiness, no tenant data',
  'GET /health': 'open probe: the deployment’s readiness as ok/not_ready, no tenant data',
  'GET /openapi.json': 'open: the API description',
  'GET /metrics': 'deployment-wide counters (by workflow, never by tenant or run), for the operator',
  'GET /v1/workflows': 'the project’s workflows are the deployment’s, shared by every tenant',
  'POST /v1/runs': 'starts an ad-hoc run of an inline spec in the caller’s own tenant; names no other tenant’s object',
  'POST /v1/workflows/:name/runs': 'starts a run in the caller’s own tenant; names no other tenant’s object (see server.tenant-selection.test.ts)',
  'POST /v1/specs/validate': 'stateless: checks the posted files, stores nothing',
  'GET /v1/models': 'the gateway’s model groups are the deployment’s',
  'GET /v1/models/:id': 'the gateway’s model groups are the deployment’s',
  'GET /v1/tools': 'tool servers are the deployment’s (docs/security.md#tenants)',
  'GET /v1/tools/:name': 'tool servers are the deployment’s (docs/security.md#tenants)',
  'POST /v1/tools/:name/disable':
    'tool servers are the deployment’s: an operator switch of the whole fleet, refused to callers of other tenants (tools.switch.test.ts)',
  'POST /v1/tools/:name/enable':
    'tool servers are the deployment’s: an operator switch of the whole fleet, refused to callers of other tenants (tools.switch.test.ts)',
  'GET /v1/auth/whoami': 'describes the caller only',
  'GET /v1/policies': 'environment policies are the project’s, shared by every tenant (docs/environments.md)',
  'PUT /v1/policies/:environment': 'environment policies are the deployment’s: an operator switch, refused to callers of other tenants',
  'DELETE /v1/policies/:environment': 'environment policies are the deployment’s: an operator switch, refused to callers of other tenants',
  'POST /v1/specs/policy-report': 'judges a project workflow or the posted spec against the policy, stores nothing',
  'POST /v1/admin/keys': 'creates a key in the caller’s own tenant; naming another is 403 (see keys.access.test.ts)',
  'GET /v1/security/credentials': 'the deployment’s configuration: names of secrets and what uses them, never values; no tenant’s object',
  'GET /v1/admin/workers': 'worker processes are the deployment’s, shared by every tenant (docs/operations/maintenance.md)',
  'POST /v1/admin/workers/:id/drain': 'worker processes are the deployment’s: an operator switch of the deployment, like a tool server’s',
  'GET /v1/admin/maintenance': 'the maintenance mode is the deployment’s, no tenant’s',
  'PUT /v1/admin/maintenance': 'the maintenance mode is the deployment’s: an admin switch of the whole fleet',
  'DELETE /v1/admin/maintenance': 'the maintenance mode is the deployment’s: an admin switch of the whole fleet',
  'GET /v1/plugins': 'plugins are the deployment’s (the project’s lock), refused to callers of other tenants (plugins.api.test.ts)',
  'POST /v1/plugins/:name/disable': 'plugins are the deployment’s: an operator switch of the whole fleet, refused to callers of other tenants',
  'POST /v1/plugins/:name/enable': 'plugins are the deployment’s: an operator switch of the whole fleet, refused to callers of other tenants',
  'GET /v1/plugins/:name/*': 'a plugin’s route runs for the caller’s own tenant (ctx.tenantId, ctx.kv by tenant); it names no stored object',
  'POST /v1/plugins/:name/*': 'a plugin’s route runs for the caller’s own tenant (ctx.tenantId, ctx.kv by tenant); it names no stored object',
  'PUT /v1/plugins/:name/*': 'a plugin’s route runs for the caller’s own tenant (ctx.tenantId, ctx.kv by tenant); it names no stored object',
  'DELETE /v1/plugins/:name/*': 'a plugin’s route runs for the caller’s own tenant (ctx.tenantId, ctx.kv by tenant); it names no stored object',
  'GET /v1/admin/info': 'the deployment’s build, database and roles, no tenant’s',
  'POST /v1/admin/sweep': 'the scheduler’s sweeps are the deployment’s: an admin switch of the whole fleet',
  'GET /v1/admin/status': 'the deployment at a glance: its processes, workers and queue, no tenant’s',
  'GET /v1/admin/logs': 'the server process’s own log lines: they name every tenant’s runs, so only the deployment’s admins read them',
  'GET /v1/routes': 'the routes the deployment serves, core and its plugins’, no tenant’s',
  'DELETE /v1/memory/threads':
    'prunes old memory messages of the caller’s own tenant only; names no object (the other tenant’s messages staying is in memory.api.test.ts)',
};

type Build = (o: TenantObjects) => InjectOptions;

/** Requests naming one of the target tenant's objects: a caller of another tenant gets 404. */
const ON_OBJECT: Record<string, Build> = {
  'GET /v1/runs/:id': (o) => ({ url: `/v1/runs/${o.napRun}` }),
  'GET /v1/runs/:id/diff/:other': (o) => ({ url: `/v1/runs/${o.napRun}/diff/${o.endedRun}` }),
  'GET /v1/runs/:id/checkpoints': (o) => ({ url: `/v1/runs/${o.napRun}/checkpoints` }),
  'GET /v1/runs/:id/checkpoints/diff': (o) => ({ url: `/v1/runs/${o.endedRun}/checkpoints/diff?from=1&to=2` }),
  // A thread only the target tenant keeps: another tenant's caller finds none, and clears none.
  'GET /v1/memory/threads/:thread': (o) => ({ url: `/v1/memory/threads/${encodeURIComponent(o.memoryThread)}` }),
  'DELETE /v1/memory/threads/:thread': (o) => ({ method: 'DELETE', url: `/v1/memory/threads/${encodeURIComponent(o.memoryThread)}` }),
  'POST /v1/runs/:id/cancel': (o) => ({ method: 'POST', url: `/v1/runs/${o.napRun}/cancel`, payload: {} }),
  'POST /v1/runs/:id/retry': (o) => ({ method: 'POST', url: `/v1/runs/${o.endedRun}/retry`, payload: {} }),
  'GET /v1/runs/:id/events': (o) => ({ url: `/v1/runs/${o.napRun}/events` }),
  'GET /v1/runs/:id/steps/:step/items': (o) => ({ url: `/v1/runs/${o.mapRun}/steps/each/items` }),
  'GET /v1/runs/:id/steps/:step/attempts': (o) => ({ url: `/v1/runs/${o.napRun}/steps/long/attempts` }),
  // The run is looked up (and hidden) before its step's kind: a sleep step answers 404 here, not 400.
  'GET /v1/runs/:id/steps/:step/journal': (o) => ({ url: `/v1/runs/${o.napRun}/steps/long/journal` }),
  'GET /v1/runs/:id/artifacts': (o) => ({ url: `/v1/runs/${o.napRun}/artifacts` }),
  'GET /v1/runs/:id/artifacts/*': (o) => ({ url: `/v1/runs/${o.napRun}/artifacts/out/report.md` }),
  'GET /v1/runs/:id/policy-report': (o) => ({ url: `/v1/runs/${o.napRun}/policy-report` }),
  'POST /v1/runs/:id/signals/:name': (o) => ({ method: 'POST', url: `/v1/runs/${o.gateRun}/signals/go`, payload: { forged: true } }),
  'GET /v1/tasks/:id': (o) => ({ url: `/v1/tasks/${o.task}` }),
  'POST /v1/tasks/:id/complete': (o) => ({ method: 'POST', url: `/v1/tasks/${o.task}/complete`, payload: { decision: 'approve' } }),
  'POST /v1/schedules/:workflow/pause': (o) => ({ method: 'POST', url: `/v1/schedules/${o.schedule}/pause`, payload: {} }),
  'POST /v1/schedules/:workflow/resume': (o) => ({ method: 'POST', url: `/v1/schedules/${o.schedule}/resume`, payload: {} }),
  'GET /v1/admin/keys/:id': (o) => ({ url: `/v1/admin/keys/${o.key}` }),
  'POST /v1/admin/keys/:id/revoke': (o) => ({ method: 'POST', url: `/v1/admin/keys/${o.key}/revoke`, payload: {} }),
  'POST /v1/admin/keys/:id/rotate': (o) => ({ method: 'POST', url: `/v1/admin/keys/${o.key}/rotate`, payload: {} }),
  // The gateway records a call against the run its header names: another tenant's run is not found.
  'POST /v1/chat/completions': (o) => ({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { 'x-agentry-run-id': o.napRun },
    payload: { model: 'demo', messages: [{ role: 'user', content: 'hi' }] },
  }),
  'POST /v1/messages': (o) => ({
    method: 'POST',
    url: '/v1/messages',
    headers: { 'x-agentry-run-id': o.napRun },
    payload: { model: 'demo', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
  }),
  'POST /v1/embeddings': (o) => ({
    method: 'POST',
    url: '/v1/embeddings',
    headers: { 'x-agentry-run-id': o.napRun },
    payload: { model: 'demo', input: 'hi' },
  }),
};

/** Listings and reports: a caller of another tenant gets 2xx without any of the target tenant's objects. */
const LISTS: Record<string, InjectOptions> = {
  'GET /v1/runs': { url: '/v1/runs?limit=200' },
  // The changes since the epoch, as JSON: every run change of the caller's tenant.
  'GET /v1/runs/stream': { url: '/v1/runs/stream?after=0.0.run_0&limit=1000' },
  'GET /v1/events': { url: '/v1/events?limit=1000' },
  'GET /v1/tasks': { url: '/v1/tasks?status=open,completed,expired,cancelled&limit=500' },
  'GET /v1/schedules': { url: '/v1/schedules' },
  'GET /v1/usage': { url: '/v1/usage' },
  'GET /v1/usage/budgets': { url: '/v1/usage/budgets' },
  'GET /v1/usage/calls': { url: '/v1/usage/calls?limit=1000' },
  'GET /v1/audit': { url: '/v1/audit?limit=1000' },
  'GET /v1/admin/keys': { url: '/v1/admin/keys?limit=500' },
  'GET /v1/memory/threads': { url: '/v1/memory/threads?limit=500' },
  'GET /v1/admin/quotas': { url: '/v1/admin/quotas' },
  'GET /v1/audit/export': { url: '/v1/audit/export' },
};

/** An error's code and detail: problem+json's, or the Messages API's in Anthropic's shape (anthropic-errors.ts). */
function problemOf(route: RouteDef, body: { code?: string; detail?: string; error?: { message?: string; details?: { error_code?: string } } }) {
  return route.anthropicErrors === true ? { code: body.error?.details?.error_code, detail: body.error?.message } : { code: body.code, detail: body.detail };
}

function status(code: number): number | '2xx' {
  return code >= 200 && code < 300 ? '2xx' : code;
}

/** A role without the route's scope is refused before anything is looked up (403 names the scope, never the object). */
function mayUse(route: RouteDef, role: Role): boolean {
  return route.scope === null || route.scope === 'authenticated' || ROLE_SCOPES[role].includes(route.scope);
}

describe.each(storeFactories)('tenant isolation on $name', (factory) => {
  let world: TenantWorld;
  beforeAll(async () => {
    world = await startTenantWorld(factory);
  }, 120_000);
  afterAll(async () => {
    await world.api.close();
  });

  const call = (key: string, request: InjectOptions) =>
    world.api.app.inject({ ...request, headers: { ...(request.headers as Record<string, string> | undefined), ...bearerOf(key) } });

  it('classifies every route of the table: on an object, a listing, or exempt with a reason', () => {
    const keys = routesOf(world.api.app).map((r) => `${r.method} ${r.url}`);
    const classified = [...Object.keys(ON_OBJECT), ...Object.keys(LISTS), ...Object.keys(EXEMPT)];
    expect([...keys].sort()).toEqual([...classified].sort());
    for (const reason of Object.values(EXEMPT)) expect(reason.length).toBeGreaterThan(10);
  });

  it("lists never include another tenant's objects, for every key of every role (and do include the tenant's own)", async () => {
    const results: string[] = [];
    const wanted: string[] = [];
    for (const tenant of TENANTS) {
      const hidden = world.secretsOf(otherThan(tenant));
      for (const route of routesOf(world.api.app).filter((r) => `${r.method} ${r.url}` in LISTS)) {
        for (const role of ROLES) {
          const res = await call(tenantKey(tenant, role), LISTS[`${route.method} ${route.url}`]!);
          const label = `${route.method} ${route.url} as ${tenant}-${role}`;
          results.push(`${label}: ${status(res.statusCode)}`);
          wanted.push(`${label}: ${mayUse(route, role) ? '2xx' : 403}`);
          const leaked = hidden.filter((secret) => res.body.includes(secret));
          expect(leaked, `${label} leaked`).toEqual([]);
        }
      }
      // Not vacuous: the tenant's operator sees its own objects in the same listings.
      const own = world.objects[tenant];
      const operator = tenantKey(tenant, 'operator');
      expect((await call(operator, LISTS['GET /v1/runs']!)).body).toContain(own.napRun);
      expect((await call(operator, LISTS['GET /v1/events']!)).body).toContain(own.napRun);
      expect((await call(operator, LISTS['GET /v1/runs/stream']!)).body).toContain(own.napRun);
      expect((await call(operator, LISTS['GET /v1/tasks']!)).body).toContain(own.task);
      expect((await call(operator, LISTS['GET /v1/schedules']!)).body).toContain(own.schedule);
      expect((await call(operator, LISTS['GET /v1/usage']!)).json()).toMatchObject({ items: [{ tenant_id: tenant }] });
      expect((await call(operator, LISTS['GET /v1/usage/calls']!)).json()).toMatchObject({ items: [{ tenant_id: tenant }] });
      expect((await call(tenantKey(tenant, 'admin'), LISTS['GET /v1/audit']!)).body).toContain(own.napRun);
      expect((await call(tenantKey(tenant, 'admin'), LISTS['GET /v1/admin/keys']!)).body).toContain(own.key);
      expect((await call(operator, LISTS['GET /v1/admin/quotas']!)).json()).toMatchObject({ usage: [{ tenant_id: tenant }] });
      expect((await call(operator, LISTS['GET /v1/memory/threads']!)).json()).toMatchObject({ items: [{ thread: own.memoryThread, tenant_id: tenant }] });
    }
    expect(results).toEqual(wanted);
  });

  it("answers every route naming another tenant's object 404 (never 403) for every key with the scope, and changes nothing", async () => {
    const results: string[] = [];
    const wanted: string[] = [];
    for (const tenant of TENANTS) {
      const target = otherThan(tenant);
      const hidden = world.secretsOf(target).filter((s) => s !== target);
      for (const route of routesOf(world.api.app).filter((r) => `${r.method} ${r.url}` in ON_OBJECT)) {
        for (const role of ROLES) {
          const res = await call(tenantKey(tenant, role), ON_OBJECT[`${route.method} ${route.url}`]!(world.objects[target]));
          const label = `${route.method} ${route.url} as ${tenant}-${role} on ${target}'s object`;
          results.push(`${label}: ${status(res.statusCode)}`);
          wanted.push(`${label}: ${mayUse(route, role) ? 404 : 403}`);
          const problem = problemOf(route, res.json());
          if (res.statusCode === 404) expect(problem, label).toMatchObject({ code: 'not_found' });
          if (res.statusCode === 403) expect(problem.detail, label).toBe(`missing required scope: ${String(route.scope)}`);
          // The answer names no object of the other tenant but the one the caller named itself.
          const named = JSON.stringify(ON_OBJECT[`${route.method} ${route.url}`]!(world.objects[target]));
          expect(
            hidden.filter((s) => !named.includes(s) && res.body.includes(s)),
            label,
          ).toEqual([]);
          expect(res.body, label).not.toContain(`"${target}"`);
        }
      }
    }
    expect(results).toEqual(wanted);

    // Nothing changed in either tenant: runs still asleep or waiting, the task open, the schedules running, no retry.
    for (const tenant of TENANTS) {
      const o = world.objects[tenant];
      expect(['running', 'waiting']).toContain((await world.api.store.getRun(o.napRun))?.status);
      const gate = await world.api.engine.getRunWithSteps(o.gateRun);
      expect(gate.steps.find((s) => s.stepId === 'go')?.status).toBe('waiting');
      expect((await world.api.store.getTask(o.task))?.status).toBe('open');
      expect((await world.api.store.getSchedule(o.schedule))?.paused).toBe(false);
      const key = await world.api.store.getApiKey(o.key);
      expect([key?.revokedAt, key?.replacedBy]).toEqual([null, null]);
      expect((await world.api.store.listRuns({ tenantId: tenant, limit: 200 })).items.filter((r) => r.retryOf === o.endedRun)).toEqual([]);
      expect(await world.api.store.loadMemory(tenant, 'helper', o.memoryThread, 50)).toEqual([{ role: 'user', content: `remember ${tenant}` }]);
    }
  });

  it('keeps the deployment’s credential inventory from every tenant’s keys, its operators and admins included', async () => {
    for (const tenant of TENANTS) {
      for (const role of ['admin', 'operator'] as const) {
        const res = await call(tenantKey(tenant, role), { url: '/v1/security/credentials' });
        expect(res.statusCode, `${tenant}-${role}`).toBe(403);
        expect(res.json<{ detail: string }>().detail).toContain(`callers of tenant ${tenant} may not read it`);
      }
    }
  });

  it('keeps the worker processes and the maintenance switch from every tenant’s keys, its operators and admins included', async () => {
    await world.api.store.upsertWorker({
      id: 'wrk_fleet',
      host: 'h',
      pid: 1,
      roles: ['worker'],
      concurrency: 1,
      startedAt: Date.now(),
      heartbeatAt: Date.now(),
    });
    const requests: Array<InjectOptions & { url: string }> = [
      { url: '/v1/admin/workers' },
      { method: 'POST', url: '/v1/admin/workers/wrk_fleet/drain', payload: {} },
      { url: '/v1/admin/maintenance' },
      { method: 'PUT', url: '/v1/admin/maintenance', payload: { reason: 'tenant' } },
      { method: 'DELETE', url: '/v1/admin/maintenance' },
      { url: '/v1/admin/info' },
      { method: 'POST', url: '/v1/admin/sweep', payload: {} },
      { url: '/v1/admin/status' },
      { url: '/v1/admin/logs' },
      { url: '/v1/routes' },
    ];
    for (const tenant of TENANTS) {
      for (const request of requests) {
        const res = await call(tenantKey(tenant, 'admin'), request);
        expect(res.statusCode, `${request.method ?? 'GET'} ${request.url} as ${tenant}-admin`).toBe(403);
        expect(res.json<{ detail: string }>().detail).toContain(`callers of tenant ${tenant} may not reach them`);
      }
    }
    // Nothing changed: the worker is not draining, maintenance is off.
    expect((await world.api.store.listWorkers()).find((w) => w.id === 'wrk_fleet')?.drainRequestedAt).toBeNull();
    expect(await world.api.store.getMaintenance()).toBeNull();
  });

  it('records the refused attempts in the caller’s tenant as denied, never in the target’s', async () => {
    const cancels = async (tenantId: Tenant) =>
      (await world.api.store.listAudit({ tenantId, action: 'run.cancel', target: `run:${world.objects.globex.napRun}`, limit: 1000 })).items;
    expect(await cancels('globex')).toEqual([]);
    const refused = await cancels('acme');
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((e) => e.outcome))).toEqual(new Set(['denied']));
  });
});
