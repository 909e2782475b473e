/**
 * Which tenant a request acts in: a key's own (`tenant:` grant, else the deployment's); system
 * admins (bootstrap `admin` keys without `tenant:`, the break-glass key) name another with
 * `?tenant=` or `X-Agentry-Tenant`; anyone else naming another tenant gets 403, a bad name 400.
 * Also: whoami, idempotency keys per principal, runs started in the caller's tenant, the audit
 * log's installation entries for system admins, the `tenant` parameter in the API description,
 * and the deployment tenant on request logs (AUTH-23).
 */
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { authSettings } from '../../src/server/auth.js';
import { ROLES } from '../../src/server/scopes.js';
import { parseApiKeys } from '../../src/server/bootstrap-keys.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';
import { sqliteFactory } from '../helpers/store.js';
import { bearerOf, BREAK_GLASS_KEY, ROOT_KEY, startTenantWorld, tenantKey, type TenantWorld } from '../helpers/tenants.js';

let world: TenantWorld;
beforeAll(async () => {
  world = await startTenantWorld(sqliteFactory);
}, 120_000);
afterAll(async () => {
  await world.api.close();
});

const call = (key: string, request: InjectOptions) =>
  world.api.app.inject({ ...request, headers: { ...(request.headers as Record<string, string> | undefined), ...bearerOf(key) } });
const runIds = async (key: string, query = ''): Promise<string[]> =>
  (await call(key, { url: `/v1/runs?limit=200${query}` })).json<{ items: { id: string }[] }>().items.map((r) => r.id);

describe('whoami', () => {
  it('shows the tenant each key acts in and whether it is a system admin', async () => {
    const who = async (key: string, query = '') => (await call(key, { url: `/v1/auth/whoami${query}` })).json<Record<string, unknown>>();
    expect(await who(tenantKey('acme', 'admin'))).toMatchObject({ principal: 'acme-admin', tenant_id: 'acme', system_admin: false, roles: ['admin'] });
    expect(await who(tenantKey('globex', 'viewer'))).toMatchObject({ principal: 'globex-viewer', tenant_id: 'globex', system_admin: false });
    expect(await who(ROOT_KEY)).toMatchObject({ principal: 'root', tenant_id: 'default', system_admin: true });
    expect(await who(BREAK_GLASS_KEY)).toMatchObject({ principal: 'admin', via: 'api_key', tenant_id: 'default', system_admin: true, roles: ['admin'] });
    expect(await who(BREAK_GLASS_KEY, '?tenant=acme')).toMatchObject({ principal: 'admin', tenant_id: 'acme', system_admin: true });
    const body = await who(ROOT_KEY);
    expect(body).not.toHaveProperty('all_tenants');
  });
});

describe('naming a tenant', () => {
  it("lets a system admin act in the tenant it names (?tenant= or X-Agentry-Tenant), and nowhere else's objects without naming it", async () => {
    const { acme, globex } = world.objects;
    for (const key of [ROOT_KEY, BREAK_GLASS_KEY]) {
      expect((await call(key, { url: `/v1/runs/${globex.napRun}` })).statusCode).toBe(404);
      expect((await call(key, { url: `/v1/runs/${globex.napRun}?tenant=globex` })).statusCode).toBe(200);
      expect((await call(key, { url: `/v1/tasks/${acme.task}`, headers: { 'x-agentry-tenant': 'acme' } })).statusCode).toBe(200);
      expect((await call(key, { url: `/v1/tasks/${acme.task}`, headers: { 'x-agentry-tenant': 'globex' } })).statusCode).toBe(404);
      const listed = await runIds(key, '&tenant=globex');
      expect(listed).toContain(globex.napRun);
      expect(listed).not.toContain(acme.napRun);
      expect(await runIds(key)).toEqual([]);
    }
    const schedules = (await call(ROOT_KEY, { url: '/v1/schedules?tenant=acme' })).json<{ items: { workflow: string; tenant_id: string }[] }>().items;
    expect(schedules.map((s) => [s.workflow, s.tenant_id])).toEqual([['yearly_acme', 'acme']]);
  });

  it('answers a key of one tenant naming another tenant 403 (every role), and naming its own tenant as if it named none', async () => {
    for (const role of ROLES) {
      const key = tenantKey('acme', role);
      for (const request of [{ url: '/v1/auth/whoami?tenant=globex' }, { url: '/v1/auth/whoami', headers: { 'x-agentry-tenant': 'globex' } }]) {
        const res = await call(key, request);
        expect(res.statusCode, role).toBe(403);
        expect(res.json()).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('only a system admin may act in another tenant') as string });
        expect(res.body).not.toContain(world.objects.globex.napRun);
      }
      const own = await call(key, { url: '/v1/auth/whoami?tenant=acme', headers: { 'x-agentry-tenant': 'acme' } });
      expect(own.statusCode).toBe(200);
      expect(own.json()).toMatchObject({ tenant_id: 'acme' });
    }
    // A tenant's own run, through its own tenant named explicitly.
    expect((await call(tenantKey('acme', 'viewer'), { url: `/v1/runs/${world.objects.acme.napRun}?tenant=acme` })).statusCode).toBe(200);
    // The default tenant is another tenant too: a bound key cannot act there.
    expect((await call(tenantKey('acme', 'operator'), { url: '/v1/runs?tenant=default' })).statusCode).toBe(403);
  });

  it('answers a name that is no tenant id 400, and changes nothing', async () => {
    const cases: InjectOptions[] = [
      { url: '/v1/runs?tenant=not%20a%20tenant' },
      { url: '/v1/runs?tenant=system' },
      { url: '/v1/runs?tenant=' },
      { url: `/v1/runs?tenant=${'x'.repeat(65)}` },
      { url: '/v1/runs?tenant=acme&tenant=globex' },
      { url: '/v1/runs?tenant=acme', headers: { 'x-agentry-tenant': 'globex' } },
      { url: '/v1/runs', headers: { 'x-agentry-tenant': 'system' } },
    ];
    for (const request of cases) {
      const res = await call(ROOT_KEY, request);
      expect(res.statusCode, JSON.stringify(request)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_request' });
    }
    const before = (await world.api.store.listRuns({ limit: 500 })).items.length;
    const refused = await call(ROOT_KEY, { method: 'POST', url: '/v1/workflows/nap/runs?tenant=system', payload: {} });
    expect(refused.statusCode).toBe(400);
    expect((await world.api.store.listRuns({ limit: 500 })).items.length).toBe(before);
  });
});

describe('acting in a tenant', () => {
  it("starts runs in the caller's tenant, or in the tenant a system admin names, and audits them there", async () => {
    const mine = await call(tenantKey('globex', 'service'), { method: 'POST', url: '/v1/workflows/nap/runs', payload: {} });
    expect(mine.json()).toMatchObject({ tenant_id: 'globex', created_by: 'globex-service' });
    const named = await call(ROOT_KEY, { method: 'POST', url: '/v1/workflows/nap/runs?tenant=acme', payload: {} });
    expect(named.json()).toMatchObject({ tenant_id: 'acme', created_by: 'root' });
    const id = named.json<{ id: string }>().id;
    const [entry] = (await world.api.store.listAudit({ action: 'run.start', principal: 'root', limit: 10 })).items;
    expect(entry).toMatchObject({ tenantId: 'acme', details: { run_id: id } });
    await world.api.engine.cancelRun(id);
    await world.api.engine.cancelRun(mine.json<{ id: string }>().id);
  });

  it("shows the installation's own audit entries (no tenant) to system admins only", async () => {
    const tenants = async (key: string) =>
      (await call(key, { url: '/v1/audit?limit=1000' })).json<{ items: { tenant_id: string | null }[] }>().items.map((e) => e.tenant_id);
    expect(await tenants(ROOT_KEY)).toContain(null);
    const bound = await tenants(tenantKey('acme', 'admin'));
    expect(bound.length).toBeGreaterThan(0);
    expect(new Set(bound)).toEqual(new Set(['acme']));
  });
});

describe('idempotency keys per tenant and principal', () => {
  const start = (key: string, input: unknown, idem: string) =>
    call(key, { method: 'POST', url: '/v1/workflows/hello/runs', payload: { input }, headers: { 'idempotency-key': idem } });

  it('lets two keys of one tenant use the same key for different requests; one key gets a replay or a 409', async () => {
    const a = await start(tenantKey('acme', 'service'), { name: 'A' }, 'nightly-import');
    const b = await start(tenantKey('acme', 'operator'), { name: 'B' }, 'nightly-import');
    const c = await start(tenantKey('globex', 'service'), { name: 'C' }, 'nightly-import');
    for (const res of [a, b, c]) expect(res.statusCode).toBe(201);
    const ids = [a, b, c].map((r) => r.json<{ id: string }>().id);
    expect(new Set(ids).size).toBe(3);
    expect(c.json()).toMatchObject({ tenant_id: 'globex' });

    const replay = await start(tenantKey('acme', 'service'), { name: 'A' }, 'nightly-import');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toMatchObject({ id: ids[0] });
    const conflict = await start(tenantKey('acme', 'service'), { name: 'other' }, 'nightly-import');
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
    expect(conflict.body).not.toContain(ids[1]);
  });
});

describe('the API description', () => {
  it('declares the tenant query parameter on every authenticated route, and on no open one', async () => {
    const doc = (await world.api.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, OpenApiOp>> }>();
    let authenticated = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const tenant = (op.parameters ?? []).find((p) => p.in === 'query' && p.name === 'tenant');
        const secured = (op.security ?? []).length > 0;
        expect(tenant !== undefined, `${method.toUpperCase()} ${path}`).toBe(secured);
        if (secured) authenticated++;
      }
    }
    expect(authenticated).toBeGreaterThan(20);
  });
});

interface OpenApiOp {
  parameters?: { in: string; name: string }[];
  security?: unknown[];
}

describe('bootstrap keys', () => {
  it('takes a tenant: grant, and names every bad one without the key', () => {
    const [key] = parseApiKeys('ci:ci-key-0123456789abcdef:service,tenant:acme');
    expect(key).toMatchObject({ name: 'ci', grants: ['service'], tenantId: 'acme', systemAdmin: false });
    expect(parseApiKeys('ops:ops-key-0123456789abcdef:admin')[0]).toMatchObject({ systemAdmin: true });
    expect(parseApiKeys('ops:ops-key-0123456789abcdef:admin,tenant:acme')[0]).toMatchObject({ systemAdmin: false, tenantId: 'acme' });
    const bad =
      'a:a-key-0123456789abcdef:service,tenant:system;b:b-key-0123456789abcdef:viewer,tenant:x y;c:c-key-0123456789abcdef:viewer,tenant:a,tenant:b;d:d-key-0123456789abcdef:tenant:a';
    const error = (() => {
      try {
        parseApiKeys(bad);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toMatch(/entry 1 \('a'\): tenant:system: 'system' is reserved/);
    expect(error?.message).toMatch(/entry 2 \('b'\): tenant:x y: 'x y' is not a tenant id/);
    expect(error?.message).toMatch(/entry 3 \('c'\): more than one tenant: grant/);
    expect(error?.message).toMatch(/entry 4 \('d'\): no role or scope given/);
    expect(error?.message).not.toContain('-key-0123456789abcdef');
  });

  it('refuses a bad break-glass key or deployment tenant, naming the problem and never the key', () => {
    const settings = (adminApiKey: string, tenant?: string) => () =>
      authSettings({ enabled: true, host: '127.0.0.1', apiKeys: `viewer:${KEYS.viewer}:viewer`, adminApiKey, tenant });
    expect(settings('short')).toThrow(/AGENTRY_ADMIN_API_KEY: it is shorter than 16 characters/);
    expect(settings(KEYS.viewer)).toThrow(/also the key of AGENTRY_API_KEYS entry 'viewer'/);
    expect(settings(BREAK_GLASS_KEY, 'system')).toThrow(/AGENTRY_TENANT: 'system' is reserved/);
    expect(settings(BREAK_GLASS_KEY, 'bad tenant')).toThrow(/AGENTRY_TENANT: 'bad tenant' is not a tenant id/);
    expect(() => settings(KEYS.viewer)()).not.toThrow(new RegExp(KEYS.viewer));
    expect(authSettings({ enabled: true, host: '127.0.0.1', apiKeys: undefined, adminApiKey: BREAK_GLASS_KEY }).adminKey).toMatchObject({
      name: 'admin',
      systemAdmin: true,
    });
  });
});

describe('a single-tenant deployment (AUTH-23)', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let solo: TestApi;
  beforeAll(async () => {
    solo = await startTestApi({ tenant: 'solo', app: { logger: createLogger({ level: 'info', destination: sink }) } });
  });
  afterAll(async () => {
    await solo.close();
  });

  it('puts its fixed tenant id on every request log record, on its runs and its schedules', async () => {
    const started = await solo.app.inject({
      method: 'POST',
      url: '/v1/workflows/hello/runs',
      payload: { input: { name: 'S' } },
      headers: { ...solo.auth('service'), 'x-request-id': 'solo-1' },
    });
    expect(started.json()).toMatchObject({ tenant_id: 'solo' });
    await solo.app.inject({ url: '/v1/runs', headers: { 'x-request-id': 'solo-2' } });
    await solo.app.inject({ url: '/livez', headers: { 'x-request-id': 'solo-3' } });
    const records = (id: string) => lines.filter((l) => l.request_id === id && l.event === 'http_request');
    expect(records('solo-1')).toEqual([expect.objectContaining({ principal: 'service', tenant_id: 'solo', status_code: 201 })]);
    expect(records('solo-2')).toEqual([expect.objectContaining({ tenant_id: 'solo', status_code: 401 })]);
    expect(records('solo-3')).toEqual([expect.objectContaining({ tenant_id: 'solo' })]);
    expect((await solo.app.inject({ url: '/v1/auth/whoami', headers: solo.auth('viewer') })).json()).toMatchObject({ tenant_id: 'solo' });
  });
});
