/**
 * Run quotas per tenant over HTTP, on SQLite and PostgreSQL: a tenant at its concurrent-run
 * quota or its runs-per-hour quota gets 429 `quota_exceeded` naming the quota, its limit and
 * the current count, while other tenants start runs; a repeated start with an idempotency key
 * still gets its run; child runs count but are never refused; `GET /v1/admin/quotas` shows the
 * limits and each tenant's usage to whoever may see it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { eventually } from '../helpers/engine.js';
import { limitsFrom, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { startTenantIssuer, type TenantIssuer } from '../helpers/tenant-tokens.js';

const FAMILY = [
  { name: 'kid', steps: { a: { transform: { n: '{{ input.n }}' } } }, output: '{{ steps.a.output.n }}' },
  { name: 'family', steps: { child: { workflow: 'kid', input: { n: 7 } } }, output: '{{ steps.child.output }}' },
];

const LIMITS = limitsFrom({
  tenants: {
    acme: { max_concurrent_runs: 2 },
    hourly: { max_runs_per_hour: 3 },
    home: { max_concurrent_runs: 1, max_runs_per_hour: 1 },
  },
});

describe.each(storeFactories)('run quotas ($name)', (factory) => {
  let issuer: TenantIssuer;
  let api: TestApi;
  beforeAll(async () => {
    issuer = await startTenantIssuer();
    api = await startTestApi({ factory, limits: LIMITS, workflows: [...WORKFLOWS, ...FAMILY], app: { auth: issuer.auth } });
    expect((await api.app.inject({ url: '/v1/runs', headers: await as('warmup') })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
    await issuer?.close();
  });

  async function as(tenant: string, sub = 'ada', role: 'service' | 'viewer' | 'operator' = 'service'): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await issuer.token(tenant, sub, role)}` };
  }
  async function start(tenant: string, workflow: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const payload = { input: workflow === 'hello' ? { name: 'Ada' } : {} };
    return api.app.inject({ method: 'POST', url: `/v1/workflows/${workflow}/runs`, headers: { ...(await as(tenant)), ...headers }, payload });
  }

  it('refuses a tenant’s start past its concurrent-run quota with 429 quota_exceeded; another tenant starts', async () => {
    const first = await start('acme', 'nap', { 'idempotency-key': 'nap-1' });
    expect(first.statusCode).toBe(201);
    expect((await start('acme', 'nap')).statusCode).toBe(201);
    const refused = await start('acme', 'nap');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({
      code: 'quota_exceeded',
      status: 429,
      detail: 'tenant acme has 2 runs that have not ended, its quota max_concurrent_runs is 2',
      details: { tenant: 'acme', quota: 'max_concurrent_runs', limit: 2, current: 2 },
    });
    // Nothing was created, and no retry time is promised (a run must end first).
    expect(refused.headers['retry-after']).toBeUndefined();
    expect((await api.store.tenantRunUsage(Date.now(), 'acme'))[0]).toMatchObject({ activeRuns: 2, runsLastHour: 2 });
    // The refused start is in the audit log, denied with its code.
    const audit = await api.store.listAudit({ tenantId: 'acme', action: 'run.start', limit: 10 });
    expect(audit.items[0]).toMatchObject({ principal: 'oidc:ada', outcome: 'denied', details: { error: 'quota_exceeded' } });

    // The repeated start of an idempotency key still gets its run.
    const again = await start('acme', 'nap', { 'idempotency-key': 'nap-1' });
    expect(again.statusCode).toBe(201);
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);

    // Other tenants are unaffected.
    expect((await start('beta', 'nap')).statusCode).toBe(201);
    expect((await start('beta', 'nap')).statusCode).toBe(201);
    expect((await start('beta', 'nap')).statusCode).toBe(201);

    // A run that ends makes room.
    const cancel = await api.app.inject({ method: 'POST', url: `/v1/runs/${first.json<{ id: string }>().id}/cancel`, headers: await as('acme') });
    expect(cancel.statusCode).toBe(200);
    expect((await start('acme', 'nap')).statusCode).toBe(201);
    expect((await start('acme', 'nap')).statusCode).toBe(429);
  });

  it('refuses a retry that would pass the quota too', async () => {
    const runs = await api.store.listRuns({ tenantId: 'acme', limit: 10, status: ['cancelled'] });
    const cancelled = runs.items[0]!;
    const retry = await api.app.inject({ method: 'POST', url: `/v1/runs/${cancelled.id}/retry`, headers: await as('acme'), payload: {} });
    expect(retry.statusCode).toBe(429);
    expect(retry.json()).toMatchObject({ code: 'quota_exceeded', details: { quota: 'max_concurrent_runs' } });
  });

  it('refuses the 4th run in an hour of a tenant allowed 3, with the time until one leaves the window', async () => {
    for (let i = 0; i < 3; i++) expect((await start('hourly', 'hello')).statusCode).toBe(201);
    const refused = await start('hourly', 'hello');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'quota_exceeded', details: { tenant: 'hourly', quota: 'max_runs_per_hour', limit: 3, current: 3 } });
    const retryAfter = Number(refused.headers['retry-after']);
    // The oldest of the three started moments ago: it leaves the rolling hour in just under an hour.
    expect(retryAfter).toBeGreaterThan(3_000);
    expect(retryAfter).toBeLessThanOrEqual(3_601);
    // Ended runs count against the hour, not against concurrency: the runs have all succeeded.
    await eventually(async () => ((await api.store.tenantRunUsage(Date.now(), 'hourly'))[0]?.activeRuns === 0 ? true : undefined));
    expect((await start('hourly', 'hello')).statusCode).toBe(429);
  });

  it('counts child runs without refusing them: a parent at the quota still gets its child', async () => {
    const parent = await start('home', 'family');
    expect(parent.statusCode).toBe(201);
    const id = parent.json<{ id: string }>().id;
    const done = await eventually(async () => {
      const run = await api.store.getRun(id);
      return run?.status === 'succeeded' ? run : undefined;
    });
    expect(done.output).toBe(7);
    const children = await api.store.childRuns(id);
    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({ tenantId: 'home', status: 'succeeded' });
    // Parent and child both count against the hour (quota 1): the next start is refused.
    expect((await api.store.tenantRunUsage(Date.now(), 'home'))[0]).toMatchObject({ activeRuns: 0, runsLastHour: 2 });
    expect((await start('home', 'hello')).json()).toMatchObject({ code: 'quota_exceeded', details: { quota: 'max_runs_per_hour', current: 2 } });
  });

  it('shows a tenant’s caller its own limits and usage only', async () => {
    const res = await api.app.inject({ url: '/v1/admin/quotas', headers: await as('acme', 'val', 'viewer') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      defaults: { requests_per_minute: null, burst: null, max_concurrent_runs: 1000, max_runs_per_hour: 10000 },
      tenants: { acme: { requests_per_minute: null, burst: null, max_concurrent_runs: 2, max_runs_per_hour: 10000 } },
      roles: {},
      keys: {},
      usage: [
        {
          tenant_id: 'acme',
          limits: { requests_per_minute: null, burst: null, max_concurrent_runs: 2, max_runs_per_hour: 10000 },
          concurrent_runs: 2,
          runs_last_hour: 3,
        },
      ],
    });
    // A tenant without an entry sees the defaults and its own usage.
    const beta = (await api.app.inject({ url: '/v1/admin/quotas', headers: await as('beta', 'val', 'viewer') })).json<{ tenants: object; usage: unknown[] }>();
    expect(beta.tenants).toEqual({});
    expect(beta.usage).toEqual([expect.objectContaining({ tenant_id: 'beta', concurrent_runs: 3, runs_last_hour: 3 })]);
    // A service key may not read quotas (usage:read).
    expect((await api.app.inject({ url: '/v1/admin/quotas', headers: await as('acme') })).statusCode).toBe(403);
  });

  it('shows a caller that reads every tenant every tenant’s usage', async () => {
    const res = await api.app.inject({ url: '/v1/admin/quotas', headers: api.auth('admin') });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ tenants: Record<string, unknown>; usage: Array<{ tenant_id: string; concurrent_runs: number; runs_last_hour: number }> }>();
    expect(Object.keys(body.tenants).sort()).toEqual(['acme', 'home', 'hourly']);
    const usage = Object.fromEntries(body.usage.map((u) => [u.tenant_id, [u.concurrent_runs, u.runs_last_hour]]));
    expect(usage).toMatchObject({ acme: [2, 3], beta: [3, 3], default: [0, 0], home: [0, 2], hourly: [0, 3] });
  });

  it('counts refused starts by tenant and quota', async () => {
    const text = (await api.app.inject({ url: '/metrics', headers: api.auth('admin') })).body;
    expect(text).toContain('agentry_quota_exceeded_total{tenant="acme",quota="max_concurrent_runs"} 3');
    expect(text).toContain('agentry_quota_exceeded_total{tenant="hourly",quota="max_runs_per_hour"} 2');
    expect(text).toContain('agentry_quota_exceeded_total{tenant="home",quota="max_runs_per_hour"} 1');
  });
});
