/**
 * Multi-tenant mode (`AGENTRY_TENANCY=multi`): nothing falls back to the deployment's tenant.
 * The server refuses to start with a way to land in it unnamed (auth off, a bootstrap key of no
 * tenant that is not a system admin, OIDC without a tenant claim), and a system admin names the
 * tenant of every request that is not deployment-wide (400 otherwise, and nothing changes).
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { sqliteFactory } from '../helpers/store.js';
import { bearerOf, BREAK_GLASS_KEY, ROOT_KEY, TENANT_API_KEYS, tenantKey } from '../helpers/tenants.js';

const OIDC = { issuer: 'https://id.example.com', audience: 'agentry', jwksUrl: undefined, roleMap: 'staff=viewer', rolesClaim: 'groups', nameClaim: 'sub' };

describe('starting in multi-tenant mode', () => {
  const start = (options: Partial<Parameters<typeof authSettings>[0]>) =>
    authSettings({ enabled: true, host: '127.0.0.1', apiKeys: TENANT_API_KEYS, multiTenant: true, ...options });

  it('accepts tenant-bound keys, admin keys of no tenant (system admins) and OIDC with a tenant claim', () => {
    const settings = start({ adminApiKey: BREAK_GLASS_KEY, oidc: { ...OIDC, tenantClaim: 'org' } });
    expect(settings.multiTenant).toBe(true);
  });

  it('refuses every way of falling back to the deployment tenant, naming each at once and no key', () => {
    const refuse = (options: Partial<Parameters<typeof authSettings>[0]>): string => {
      try {
        start(options);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected authSettings to refuse');
    };
    const message = refuse({ apiKeys: `${TENANT_API_KEYS};ci:ci-key-0123456789abcdef:service`, oidc: { ...OIDC, tenantClaim: undefined } });
    expect(message).toContain('multi-tenant mode (AGENTRY_TENANCY=multi) refuses this configuration (2 problems)');
    expect(message).toContain("AGENTRY_API_KEYS entry 'ci' has no tenant: grant");
    expect(message).toContain('AGENTRY_OIDC_TENANT_CLAIM is not set');
    expect(message).not.toContain('ci-key-0123456789abcdef');
    expect(refuse({ enabled: false })).toContain('auth is off');
    // The same configuration in single-tenant mode starts.
    expect(start({ multiTenant: false, apiKeys: `${TENANT_API_KEYS};ci:ci-key-0123456789abcdef:service` }).multiTenant).toBeUndefined();
  });
});

describe('requests in multi-tenant mode', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({
      factory: sqliteFactory,
      workflows: WORKFLOWS,
      app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: TENANT_API_KEYS, adminApiKey: BREAK_GLASS_KEY, multiTenant: true }) },
    });
  });
  afterAll(async () => {
    await api.close();
  });

  const call = (key: string, request: InjectOptions) =>
    api.app.inject({ ...request, headers: { ...(request.headers as Record<string, string> | undefined), ...bearerOf(key) } });

  it('makes a system admin name the tenant of tenant-scoped requests, and changes nothing when it does not', async () => {
    for (const key of [ROOT_KEY, BREAK_GLASS_KEY]) {
      const unnamed = await call(key, { method: 'POST', url: '/v1/workflows/nap/runs', payload: { input: {} } });
      expect(unnamed.statusCode).toBe(400);
      expect(unnamed.json()).toMatchObject({ code: 'invalid_request' });
      expect(unnamed.json<{ detail: string }>().detail).toMatch(
        /multi-tenant mode: .* must name the tenant this request acts in \(\?tenant=<id> or x-agentry-tenant\)/,
      );
      expect((await call(key, { url: '/v1/runs' })).statusCode).toBe(400);
      expect((await call(key, { url: '/v1/audit' })).statusCode).toBe(400);
    }
    expect((await api.store.listRuns({ limit: 10 })).items).toEqual([]);

    const named = await call(ROOT_KEY, { method: 'POST', url: '/v1/workflows/nap/runs?tenant=acme', payload: { input: {} } });
    expect(named.statusCode).toBe(201);
    expect(named.json()).toMatchObject({ tenant_id: 'acme' });
    const viaHeader = await call(BREAK_GLASS_KEY, { url: '/v1/runs', headers: { 'x-agentry-tenant': 'acme' } });
    expect(viaHeader.json<{ items: { id: string }[] }>().items.map((r) => r.id)).toEqual([named.json<{ id: string }>().id]);
  });

  it('needs no tenant for deployment-wide routes, nor from a tenant-bound key (its tenant is its credential’s)', async () => {
    for (const url of ['/v1/auth/whoami', '/v1/workflows', '/v1/tools', '/v1/admin/quotas', '/v1/security/credentials']) {
      expect((await call(ROOT_KEY, { url })).statusCode, url).toBe(200);
    }
    const own = await call(tenantKey('acme', 'operator'), { url: '/v1/runs' });
    expect(own.statusCode).toBe(200);
    expect(own.json<{ items: { tenant_id: string }[] }>().items.every((r) => r.tenant_id === 'acme')).toBe(true);
  });

  it('marks as deployment-wide only routes that hold no tenant’s data', () => {
    const wide = routesOf(api.app)
      .filter((r) => r.deploymentWide === true)
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(wide).toEqual(
      [
        'GET /v1/auth/whoami',
        'GET /v1/models',
        'GET /v1/models/:id',
        'GET /metrics',
        'GET /v1/admin/quotas',
        'GET /v1/security/credentials',
        'POST /v1/specs/validate',
        'GET /v1/tools',
        'GET /v1/tools/:name',
        'POST /v1/tools/:name/disable',
        'POST /v1/tools/:name/enable',
        'GET /v1/workflows',
        // Environment policies are the project's, like its workflows; changing one is an operator's switch of the deployment.
        'GET /v1/policies',
        'PUT /v1/policies/:environment',
        'DELETE /v1/policies/:environment',
        'POST /v1/specs/policy-report',
        // The fleet: worker processes and the maintenance switch serve every tenant alike.
        'GET /v1/admin/workers',
        'POST /v1/admin/workers/:id/drain',
        'GET /v1/admin/maintenance',
        'PUT /v1/admin/maintenance',
        'DELETE /v1/admin/maintenance',
        // The project's plugins and their fleet-wide switch.
        'GET /v1/plugins',
        'POST /v1/plugins/:name/disable',
        'POST /v1/plugins/:name/enable',
        // The deployment's build and store, and the scheduler's sweeps.
        'GET /v1/admin/info',
        'POST /v1/admin/sweep',
        // The deployment at a glance, and the server's own log lines.
        'GET /v1/admin/status',
        'GET /v1/admin/logs',
        // The routes the process serves, core and plugins'.
        'GET /v1/routes',
      ].sort(),
    );
  });
});
