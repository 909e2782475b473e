/**
 * Internal service tokens on the API (docs/security.md#internal-service-tokens): the gateway's
 * routes take a worker's token, bound to its tenant, run and step, and record the call there;
 * every other route of the table refuses it (401), even beside a valid key; each kind of bad
 * token is 401; two instances sharing the secret both accept one token (AUTH-16); a rotation
 * accepts old tokens only while the previous secret is configured (AUTH-17). Only keys bound to
 * a tenant are configured: no system admin anywhere.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, routesOf } from '../../src/server/app.js';
import type { RouteDef } from '../../src/server/route.js';
import { authSettings } from '../../src/server/auth.js';
import { INTERNAL_TOKEN_HEADER, InternalTokenSigner, type InternalCall } from '../../src/gateway/internal-token.js';
import { silentLogger } from '../helpers/engine.js';
import { listen, MOCK_GATEWAY, startTestApi, type TestApi } from '../helpers/server.js';

const SECRET = 'c4a9e1f7b3d8a2c6e0f5b9d4a8c3e7f1b6d0a5c9e4f8b2d7';
const OLD_SECRET = 'e8b3d7a1c6f0e5b9d4a8c2f7e1b6d0a5c9f3e8b2d6a1c5f0';
const KEYS = { acme: 'acme-operator-key-0123456789abcdef', globex: 'globex-operator-key-0123456789abcdef' };
const API_KEYS = `acme-op:${KEYS.acme}:operator,tenant:acme;globex-op:${KEYS.globex}:operator,tenant:globex`;

let api: TestApi;
const runs = { acme: '', globex: '' };

const auth = (secrets: { current?: string; previous?: string } = { current: SECRET }) =>
  authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS, internalSecret: secrets.current, internalSecretPrevious: secrets.previous });
const worker = (secret = SECRET) => new InternalTokenSigner(secret, 'worker', 'wrk_itest');
const tokenFor = (call: InternalCall, secret = SECRET) => worker(secret).mint(call);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const hi = { model: 'demo', messages: [{ role: 'user', content: 'hi' }] };

async function chat(app: FastifyInstance, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: hi, headers });
  return { status: res.statusCode, body: res.json() };
}

/** Calls recorded against a run, as its tenant's key reads them. */
async function usageOf(tenant: 'acme' | 'globex', runId: string): Promise<{ calls: number } | null> {
  const res = await api.app.inject({ url: `/v1/runs/${runId}`, headers: bearer(KEYS[tenant]) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ usage: { calls: number } | null }>().usage;
}

beforeAll(async () => {
  api = await startTestApi({ gateway: MOCK_GATEWAY, app: { auth: auth() } });
  runs.acme = (await api.engine.startRun('nap', {}, { tenantId: 'acme', createdBy: 'acme-op' })).id;
  runs.globex = (await api.engine.startRun('nap', {}, { tenantId: 'globex', createdBy: 'globex-op' })).id;
});
afterAll(async () => {
  await api.close();
});

describe('a worker token on the gateway', () => {
  it("records each tenant's call against the token's run, in that tenant, with no system admin key", async () => {
    for (const tenant of ['acme', 'globex'] as const) {
      const token = await tokenFor({ tenantId: tenant, runId: runs[tenant], stepId: 'long' });
      const { status, body } = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ object: 'chat.completion' });
    }
    expect(await usageOf('acme', runs.acme)).toMatchObject({ calls: 1 });
    expect(await usageOf('globex', runs.globex)).toMatchObject({ calls: 1 });
    // Each tenant's usage report holds its own call only.
    for (const tenant of ['acme', 'globex'] as const) {
      const usage = await api.app.inject({ url: '/v1/usage', headers: bearer(KEYS[tenant]) });
      expect(usage.json<{ items: Array<{ tenant_id: string; calls: number }> }>().items).toEqual([expect.objectContaining({ tenant_id: tenant, calls: 1 })]);
    }
  });

  it("takes a token on the Messages API too: the call is the token's run's, another run in a header is 403", async () => {
    const token = await tokenFor({ tenantId: 'acme', runId: runs.acme, stepId: 'long' });
    const before = await usageOf('acme', runs.acme);
    const payload = { model: 'demo', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] };
    const ok = await api.app.inject({ method: 'POST', url: '/v1/messages', payload, headers: { [INTERNAL_TOKEN_HEADER]: token } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'mock reply to: hi' }] });
    expect(await usageOf('acme', runs.acme)).toMatchObject({ calls: (before?.calls ?? 0) + 1 });
    const otherRun = await api.app.inject({
      method: 'POST',
      url: '/v1/messages',
      payload,
      headers: { [INTERNAL_TOKEN_HEADER]: token, 'x-agentry-run-id': runs.globex },
    });
    expect(otherRun.statusCode).toBe(403);
    expect(otherRun.json()).toMatchObject({ type: 'error', error: { type: 'permission_error', details: { error_code: 'forbidden' } } });
  });

  it("refuses a token naming another tenant's run as missing (404), and records nothing", async () => {
    const before = await usageOf('globex', runs.globex);
    const token = await tokenFor({ tenantId: 'acme', runId: runs.globex });
    const { status, body } = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token });
    expect(status).toBe(404);
    expect(body).toMatchObject({ code: 'not_found' });
    expect(await usageOf('globex', runs.globex)).toEqual(before);
  });

  it('binds the call to the run and step the token names: other ones in headers are 403, another tenant named is 403', async () => {
    const token = await tokenFor({ tenantId: 'acme', runId: runs.acme, stepId: 'long' });
    const before = await usageOf('acme', runs.acme);
    const otherRun = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token, 'x-agentry-run-id': runs.globex });
    expect(otherRun).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const otherStep = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token, 'x-agentry-step-id': 'other' });
    expect(otherStep).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const otherTenant = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token, 'x-agentry-tenant': 'globex' });
    expect(otherTenant).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    // The same headers naming what the token names are fine.
    const same = await chat(api.app, {
      [INTERNAL_TOKEN_HEADER]: token,
      'x-agentry-run-id': runs.acme,
      'x-agentry-step-id': 'long',
      'x-agentry-tenant': 'acme',
    });
    expect(same.status).toBe(200);
    expect(await usageOf('acme', runs.acme)).toMatchObject({ calls: before!.calls + 1 });
  });

  it('lists the model groups for a token (GET /v1/models), which a forwarding API process needs', async () => {
    const token = await tokenFor({ tenantId: 'acme' });
    const res = await api.app.inject({ url: '/v1/models', headers: { [INTERNAL_TOKEN_HEADER]: token } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ object: 'list', data: [expect.objectContaining({ id: 'demo' })] });
  });
});

/** A request for every route of the table: its path with each parameter filled, and a JSON body for POSTs and PUTs. */
function requestFor(route: { method: RouteDef['method']; url: string }): InjectOptions {
  const url = route.url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => (name === 'id' ? runs.acme : 'x'));
  return { method: route.method, url, ...(route.method === 'POST' || route.method === 'PUT' ? { payload: {} } : {}) };
}

describe('everywhere else', () => {
  it('refuses the token (401) on every authenticated route but the gateway’s, alone or beside a valid key', async () => {
    const token = await tokenFor({ tenantId: 'acme', runId: runs.acme, stepId: 'long' });
    const routes = routesOf(api.app);
    const accepting = routes.filter((r) => r.internalTokens === true).map((r) => `${r.method} ${r.url}`);
    expect(accepting.sort()).toEqual(['GET /v1/models', 'GET /v1/models/:id', 'POST /v1/chat/completions', 'POST /v1/embeddings', 'POST /v1/messages']);
    const checked: string[] = [];
    for (const route of routes) {
      if (route.scope === null || route.internalTokens === true) continue;
      const request = requestFor(route);
      for (const headers of [{ [INTERNAL_TOKEN_HEADER]: token }, { [INTERNAL_TOKEN_HEADER]: token, ...bearer(KEYS.acme) }]) {
        const res = await api.app.inject({ ...request, headers });
        expect(res.statusCode, `${route.method} ${route.url}: ${res.body}`).toBe(401);
        expect(res.json()).toMatchObject({ code: 'unauthorized', detail: expect.stringMatching(/accepted only by the gateway/) });
      }
      checked.push(`${route.method} ${route.url}`);
    }
    expect(checked).toEqual(expect.arrayContaining(['POST /v1/workflows/:name/runs', 'GET /v1/runs', 'GET /v1/auth/whoami', 'GET /v1/usage']));
    // Replayed to start a run: refused, and no run started.
    const before = (await api.store.listRuns({ limit: 100 })).items.length;
    const replay = await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', payload: {}, headers: { [INTERNAL_TOKEN_HEADER]: token } });
    expect(replay.statusCode).toBe(401);
    expect((await api.store.listRuns({ limit: 100 })).items).toHaveLength(before);
  });

  it('gives an open route nothing more for a token: /readyz shows no checks to it from outside', async () => {
    const token = await tokenFor({ tenantId: 'acme' });
    const res = await api.app.inject({ url: '/readyz', remoteAddress: '203.0.113.9', headers: { [INTERNAL_TOKEN_HEADER]: token } });
    expect(res.json()).not.toHaveProperty('checks');
  });

  it('refuses a token and an API key together on the gateway (one credential per request)', async () => {
    const token = await tokenFor({ tenantId: 'acme', runId: runs.acme });
    const { status, body } = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: token, ...bearer(KEYS.acme) });
    expect(status).toBe(401);
    expect(body).toMatchObject({ code: 'unauthorized', detail: expect.stringMatching(/not both/) });
  });
});

describe('bad tokens', () => {
  const t = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ iss: 'agentry-worker', aud: 'agentry-gateway', sub: 'wrk_x', iat: t(), exp: t() + 60, jti: 'j1', tenant: 'acme', run_id: runs.acme });
  const sign = (payload: Record<string, unknown>, secret = SECRET, alg = 'HS256') =>
    new SignJWT(payload).setProtectedHeader({ alg, typ: 'agentry-internal+jwt' }).sign(new TextEncoder().encode(secret));
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each<[string, () => Promise<string>, RegExp]>([
    ['a wrong signature', () => tokenFor({ tenantId: 'acme', runId: runs.acme }, OLD_SECRET), /signature does not match/],
    ['an expired token', () => worker().mint({ tenantId: 'acme', runId: runs.acme }, t() - 3_600), /expired/],
    ['a wrong audience', () => sign({ ...claims(), aud: 'agentry-api' }), /aud claim/],
    ['alg: none', () => Promise.resolve(`${encode({ alg: 'none', typ: 'agentry-internal+jwt' })}.${encode(claims())}.`), /HS256|malformed/],
    ['an OIDC-style RS256 header', () => Promise.resolve(`${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims())}.c2ln`), /HS256|malformed/],
  ])('answers 401 unauthorized to %s, recording nothing', async (_name, make, reason) => {
    const before = await usageOf('acme', runs.acme);
    const { status, body } = await chat(api.app, { [INTERNAL_TOKEN_HEADER]: await make() });
    expect(status).toBe(401);
    expect(body).toMatchObject({ code: 'unauthorized', detail: expect.stringMatching(reason) });
    // OpenAI's error member too: OpenAI clients raise AuthenticationError.
    expect(body).toMatchObject({ error: { code: 'unauthorized' } });
    expect(await usageOf('acme', runs.acme)).toEqual(before);
  });

  it('answers 401 on a server without an internal secret, naming the setting', async () => {
    const plain = await buildApp({
      engine: api.engine,
      store: api.store,
      logger: silentLogger,
      version: 'test',
      gateway: api.gateway,
      auth: auth({}),
      docs: false,
    });
    try {
      const { status, body } = await chat(plain, { [INTERNAL_TOKEN_HEADER]: await tokenFor({ tenantId: 'acme', runId: runs.acme }) });
      expect(status).toBe(401);
      expect(body).toMatchObject({ code: 'unauthorized', detail: expect.stringMatching(/set AGENTRY_INTERNAL_SECRET/) });
    } finally {
      await plain.close();
    }
  });
});

describe('instances and rotation, over real HTTP', () => {
  /** A gateway instance on the same store with these secrets, listening on 127.0.0.1 (a restart is a new instance). */
  async function instance(secrets: { current?: string; previous?: string }): Promise<{ url: string; close: () => Promise<void> }> {
    const app = await buildApp({
      engine: api.engine,
      store: api.store,
      logger: silentLogger,
      version: 'test',
      gateway: api.gateway,
      auth: auth(secrets),
      groups: ['probes', 'gateway'],
      docs: false,
    });
    const url = await listen(app);
    return { url, close: () => app.close() };
  }

  async function post(url: string, token: string): Promise<number> {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token, connection: 'close' },
      body: JSON.stringify(hi),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('a token minted once is accepted by two instances sharing the secret (AUTH-16)', async () => {
    const [a, b] = await Promise.all([instance({ current: SECRET }), instance({ current: SECRET })]);
    try {
      const before = (await usageOf('acme', runs.acme))!.calls;
      const token = await tokenFor({ tenantId: 'acme', runId: runs.acme });
      expect([await post(a.url, token), await post(b.url, token)]).toEqual([200, 200]);
      expect(await usageOf('acme', runs.acme)).toMatchObject({ calls: before + 2 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rotating the secret: old tokens pass while the previous secret is configured, and get 401 once it is dropped (AUTH-17)', async () => {
    const old = await tokenFor({ tenantId: 'acme', runId: runs.acme }, OLD_SECRET);
    const before = await instance({ current: OLD_SECRET });
    expect(await post(before.url, old)).toBe(200);
    await before.close();
    // Step 1: the new secret as current, the old one as previous, on every instance.
    const during = await instance({ current: SECRET, previous: OLD_SECRET });
    try {
      expect(await post(during.url, old)).toBe(200);
      expect(await post(during.url, await tokenFor({ tenantId: 'acme', runId: runs.acme }))).toBe(200);
    } finally {
      await during.close();
    }
    // Step 2: the previous secret dropped: every token signed with it is refused; new ones pass.
    const after = await instance({ current: SECRET });
    try {
      expect(await post(after.url, old)).toBe(401);
      expect(await post(after.url, await tokenFor({ tenantId: 'acme', runId: runs.acme }))).toBe(200);
    } finally {
      await after.close();
    }
  });
});
