/**
 * Request rate limits over HTTP, on SQLite and PostgreSQL: a tenant over its limit gets 429
 * `rate_limited` with `Retry-After` and `RateLimit-*` headers while another tenant is not
 * affected; per-key and per-role limits; probes are never limited; refusals are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { LimitsSpec } from '../../src/spec/limits.js';
import { limitsFrom, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { startTenantIssuer, type TenantIssuer } from '../helpers/tenant-tokens.js';

const LIMITS: LimitsSpec = {
  tenants: { acme: { requests_per_minute: 5 }, delta: { requests_per_minute: 3 } },
  roles: { viewer: { requests_per_minute: 3 } },
  keys: { 'oidc:ci': { requests_per_minute: 2 }, 'oidc:noisy': { requests_per_minute: 1 } },
};

describe.each(storeFactories)('request rate limits ($name)', (factory) => {
  let issuer: TenantIssuer;
  let api: TestApi;
  beforeAll(async () => {
    issuer = await startTenantIssuer();
    api = await startTestApi({ factory, start: false, limits: limitsFrom(LIMITS), app: { auth: issuer.auth } });
    // Fetch the issuer's keys once, outside any test (the leak guard counts sockets).
    expect((await bearer(await issuer.token('warmup', 'warmup', 'service'))).statusCode).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
    await issuer?.close();
  });

  const bearer = (token: string, url = '/v1/runs?limit=1'): Promise<LightMyRequestResponse> =>
    api.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
  const statuses = async (token: string, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await bearer(token)).statusCode);
    return out;
  };

  it('answers the 6th request of a tenant limited to 5 a minute 429 with Retry-After and RateLimit-* headers; another tenant is unaffected', async () => {
    const ada = await issuer.token('acme', 'ada', 'service');
    const ok: LightMyRequestResponse[] = [];
    for (let i = 0; i < 5; i++) ok.push(await bearer(ada));
    expect(ok.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    // Successful limited answers carry the headers too.
    expect(ok.map((r) => r.headers['ratelimit-limit'])).toEqual(['5', '5', '5', '5', '5']);
    expect(ok.map((r) => r.headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0']);

    const refused = await bearer(ada);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({
      code: 'rate_limited',
      status: 429,
      detail: expect.stringContaining('tenant acme is over its rate limit of 5 requests a minute'),
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12); // one token grows back in 60 s / 5
    expect(refused.headers['ratelimit-limit']).toBe('5');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(48);
    expect(Number(refused.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);

    // Another key of acme shares the tenant's bucket; tenant beta (no limit) is not affected and sends no headers.
    expect((await bearer(await issuer.token('acme', 'bob', 'service'))).statusCode).toBe(429);
    const beta = await statuses(await issuer.token('beta', 'ada', 'service'), 8);
    expect(beta).toEqual(Array(8).fill(200));
    expect((await bearer(await issuer.token('beta', 'ada', 'service'))).headers['ratelimit-limit']).toBeUndefined();
    // The bootstrap keys' tenant (default) is not affected either.
    expect((await api.app.inject({ url: '/v1/runs', headers: api.auth('operator') })).statusCode).toBe(200);
  });

  it('limits a key by its name, separately in each tenant', async () => {
    const ciBeta = await issuer.token('beta', 'ci', 'service');
    expect(await statuses(ciBeta, 3)).toEqual([200, 200, 429]);
    const refused = await bearer(ciBeta);
    expect(refused.json()).toMatchObject({
      code: 'rate_limited',
      detail: expect.stringContaining('key oidc:ci is over its rate limit of 2 requests a minute'),
    });
    // The same key name in another tenant has its own bucket; another key of beta is unaffected.
    expect(await statuses(await issuer.token('gamma', 'ci', 'service'), 2)).toEqual([200, 200]);
    expect(await statuses(await issuer.token('beta', 'eve', 'service'), 3)).toEqual([200, 200, 200]);
  });

  it('limits a key by its role when it has no entry of its own', async () => {
    const viewer = { authorization: api.auth('viewer').authorization! };
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((await api.app.inject({ url: '/v1/runs', headers: viewer })).statusCode);
    expect(seen).toEqual([200, 200, 200, 429]);
    // Admin has no role limit (and tenant default none): not limited.
    const admin: number[] = [];
    for (let i = 0; i < 6; i++) admin.push((await api.app.inject({ url: '/v1/runs', headers: api.auth('admin') })).statusCode);
    expect(admin).toEqual(Array(6).fill(200));
    // A viewer token of another tenant has its own bucket.
    expect(await statuses(await issuer.token('beta', 'val', 'viewer'), 3)).toEqual([200, 200, 200]);
  });

  it('never limits the probes, even for a key over its limit', async () => {
    // The viewer key is over its limit from the test above.
    expect((await api.app.inject({ url: '/v1/runs', headers: api.auth('viewer') })).statusCode).toBe(429);
    for (let i = 0; i < 5; i++) {
      expect((await api.app.inject({ url: '/livez' })).statusCode).toBe(200);
      expect((await api.app.inject({ url: '/metrics', headers: api.auth('viewer') })).statusCode).toBe(200);
    }
  });

  it('leaves the tenant’s bucket alone for requests its key’s bucket refused', async () => {
    const noisy = await issuer.token('delta', 'noisy', 'service');
    expect(await statuses(noisy, 6)).toEqual([200, 429, 429, 429, 429, 429]);
    // delta (3 a minute) spent one token on noisy's one accepted request: two are left.
    expect(await statuses(await issuer.token('delta', 'quiet', 'service'), 3)).toEqual([200, 200, 429]);
  });

  it('documents 429 rate_limited on every limited route of the OpenAPI document, and on no probe', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    }>();
    expect(doc.paths['/v1/runs']!.get!.responses['429']!.description).toBe('`rate_limited`');
    expect(doc.paths['/v1/specs/validate']!.post!.responses['429']!.description).toBe('`rate_limited`');
    expect(doc.paths['/v1/workflows/{name}/runs']!.post!.responses['429']!.description).toBe('`rate_limited`, `quota_exceeded`');
    expect(doc.paths['/metrics']!.get!.responses['429']).toBeUndefined();
    expect(doc.paths['/livez']!.get!.responses['429']).toBeUndefined();
  });

  it('counts refusals by tenant and by the bucket that refused', async () => {
    const text = (await api.app.inject({ url: '/metrics', headers: api.auth('admin') })).body;
    expect(text).toContain('agentry_rate_limited_total{tenant="acme",reason="tenant"} 2');
    expect(text).toContain('agentry_rate_limited_total{tenant="beta",reason="key"} 2');
    expect(text).toContain('agentry_rate_limited_total{tenant="default",reason="key"} 2');
    expect(text).toContain('agentry_rate_limited_total{tenant="delta",reason="key"} 5');
    expect(text).toContain('agentry_rate_limited_total{tenant="delta",reason="tenant"} 1');
  });
});
