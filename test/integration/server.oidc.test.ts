/**
 * Sign-in with OIDC: JWTs of one issuer, checked against its JWKS served by a loopback server
 * with keys this file generates. A valid token signs a person in (`oidc:<sub>`, tenant and
 * roles from its claims); expired, wrong-audience, wrong-issuer, unknown-kid, `alg: none` and
 * HS256-with-the-public-key tokens are 401; rotation needs no restart; only the configured
 * issuer's URLs are fetched; `GET /v1/auth/whoami` shows who the caller is.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSettings, type AuthSettings } from '../../src/server/auth.js';
import type { OidcOptions } from '../../src/server/oidc.js';
import { API_KEYS, KEYS, startTestApi, type TestApi } from '../helpers/server.js';

const AUDIENCE = 'agentry-test';
const ROLE_MAP = 'agentry-ops=operator,agentry-svc=service,agentry-svc=role:finance';

interface Signer {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signer(kid: string, alg: Signer['alg']): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The identity provider: a discovery document and a JWKS of `published` keys, on 127.0.0.1. */
interface Provider {
  url: string;
  published: Signer[];
  paths: string[];
  close: () => Promise<void>;
}

async function startProvider(): Promise<Provider> {
  const provider: Provider = { url: '', published: [], paths: [], close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    provider.paths.push(req.url ?? '');
    // `connection: close`: no keep-alive socket outlives a test (the leak guard counts them).
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') send(200, { issuer: provider.url, jwks_uri: `${provider.url}/keys` });
    else if (req.url === '/keys') send(200, { keys: provider.published.map((s) => s.publicJwk) });
    else send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return provider;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

let idp: Provider;
let elsewhere: Provider;
let current: Signer;
let rotated: Signer;
let unpublished: Signer;
let api: TestApi;

function oidcOptions(overrides: Partial<OidcOptions> = {}): OidcOptions {
  return {
    issuer: idp.url,
    audience: AUDIENCE,
    jwksUrl: undefined,
    tenantClaim: 'org',
    rolesClaim: 'groups',
    roleMap: ROLE_MAP,
    nameClaim: undefined,
    cooldownMs: 0,
    ...overrides,
  };
}

beforeAll(async () => {
  idp = await startProvider();
  elsewhere = await startProvider();
  current = await signer('k1', 'RS256');
  rotated = await signer('k2', 'ES256');
  unpublished = await signer('k3', 'RS256');
  idp.published = [current];
  elsewhere.published = [unpublished];
  const auth: AuthSettings = authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS, oidc: oidcOptions() });
  api = await startTestApi({ start: false, app: { auth } });
});
afterAll(async () => {
  await api?.close();
  await idp?.close();
  await elsewhere?.close();
});

/** A token of `by` (the current key unless given) for alice of acme, an operator; `claims` override. */
async function token(claims: JWTPayload = {}, by: Signer = current, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: idp.url, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 300, org: 'acme', groups: ['agentry-ops', 'staff'], ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: by.alg, kid: by.kid, ...header }).sign(by.privateKey);
}

const whoami = (bearer: string) => api.app.inject({ url: '/v1/auth/whoami', headers: { authorization: `Bearer ${bearer}` } });

describe('a valid token', () => {
  it('signs the person in as oidc:<sub>, in the tenant of its claim, with the roles its groups map to', async () => {
    const t = await token();
    const res = await whoami(t);
    expect(res.statusCode).toBe(200);
    const exp = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { exp: number };
    expect(res.json()).toEqual({
      principal: 'oidc:alice',
      via: 'oidc',
      tenant_id: 'acme',
      system_admin: false,
      roles: ['operator'],
      scopes: expect.arrayContaining(['runs:read', 'runs:write:all', 'specs:write']) as string[],
      expires_at: new Date(exp.exp * 1000).toISOString(),
    });
    expect((await api.app.inject({ url: '/v1/runs', headers: { authorization: `Bearer ${t}` } })).statusCode).toBe(200);
  });

  it('is accepted up to 30 s after its exp (clock tolerance), not later', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await whoami(await token({ exp: now - 10 }))).statusCode).toBe(200);
    expect((await whoami(await token({ exp: now - 60 }))).statusCode).toBe(401);
  });

  it('owns the runs it starts, like a key: another person with the same role does not see them', async () => {
    const bob = await token({ sub: 'bob', groups: ['agentry-svc'] });
    const started = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/hello/runs',
      headers: { authorization: `Bearer ${bob}` },
      payload: { input: { name: 'Ada' } },
    });
    expect(started.statusCode).toBe(201);
    const id = started.json<{ id: string }>().id;
    expect((await api.store.getRun(id))?.createdBy).toBe('oidc:bob');
    const asBob = await api.app.inject({ url: `/v1/runs/${id}`, headers: { authorization: `Bearer ${bob}` } });
    expect(asBob.statusCode).toBe(200);
    const carol = await token({ sub: 'carol', groups: ['agentry-svc'] });
    expect((await api.app.inject({ url: `/v1/runs/${id}`, headers: { authorization: `Bearer ${carol}` } })).statusCode).toBe(404);
  });

  it('whose groups map to no role is signed in without scopes: whoami answers, every scoped route is 403', async () => {
    const t = await token({ groups: ['staff'] });
    const res = await whoami(t);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ principal: 'oidc:alice', roles: [], scopes: [] });
    const runs = await api.app.inject({ url: '/v1/runs', headers: { authorization: `Bearer ${t}` } });
    expect(runs.statusCode).toBe(403);
    expect(runs.json()).toMatchObject({ code: 'forbidden' });
  });

  it('with a key the provider published after the server started is accepted (rotation, no restart)', async () => {
    const before = await whoami(await token({}, rotated));
    expect(before.statusCode).toBe(401);
    idp.published = [current, rotated];
    try {
      expect((await whoami(await token({}, rotated))).statusCode).toBe(200);
    } finally {
      idp.published = [current];
    }
  });
});

describe('refused tokens', () => {
  const cases: [string, () => Promise<string>][] = [
    ['an expired token', () => token({ exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['a token not valid yet (nbf)', () => token({ nbf: Math.floor(Date.now() / 1000) + 3600 })],
    ['a token for another audience', () => token({ aud: 'someone-else' })],
    ['a token of another issuer', () => token({ iss: 'https://idp.example.com' })],
    ['a token signed with a key the JWKS does not have (unknown kid)', () => token({}, unpublished)],
    ['a token signed with a key the JWKS does not have, under a published kid', () => token({}, { ...unpublished, kid: current.kid })],
    [
      'an alg: none token',
      async () => {
        const [, payload] = (await token()).split('.');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      },
    ],
    [
      'an HS256 token whose secret is the public key',
      async () => {
        const { importJWK } = await import('jose');
        const spki = await exportSPKI((await importJWK(current.publicJwk, 'RS256', { extractable: true })) as CryptoKey);
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ org: 'acme', groups: ['agentry-ops'] })
          .setProtectedHeader({ alg: 'HS256', kid: current.kid })
          .setIssuer(idp.url)
          .setAudience(AUDIENCE)
          .setSubject('mallory')
          .setExpirationTime(now + 300)
          .sign(new TextEncoder().encode(spki));
      },
    ],
    ['a token without the tenant claim', () => token({ org: undefined })],
    ['a token naming the reserved tenant system', () => token({ org: 'system' })],
    [
      'a token with a tampered payload',
      async () => {
        const [header, , signature] = (await token()).split('.');
        return `${header}.${b64({ sub: 'root', org: 'acme', groups: ['agentry-ops'], iss: idp.url, aud: AUDIENCE, exp: 9_999_999_999 })}.${signature}`;
      },
    ],
  ];
  for (const [what, make] of cases) {
    it(`${what} is 401 unauthorized`, async () => {
      const res = await whoami(await make());
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'unauthorized' });
    });
  }

  it('fetches keys only from the issuer: a jku or jwk header naming other keys is not followed', async () => {
    elsewhere.paths.length = 0;
    const res = await whoami(await token({}, unpublished, { jku: `${elsewhere.url}/keys`, jwk: unpublished.publicJwk }));
    expect(res.statusCode).toBe(401);
    expect(elsewhere.paths).toEqual([]);
    expect(new Set(idp.paths)).toEqual(new Set(['/.well-known/openid-configuration', '/keys']));
  });
});

describe('API keys next to OIDC', () => {
  it('still work, and whoami shows a bootstrap key: the deployment tenant, no system admin, no expiry', async () => {
    const res = await whoami(KEYS.viewer);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ principal: 'viewer', via: 'api_key', tenant_id: 'default', system_admin: false, roles: ['viewer'], expires_at: null });
  });

  it("keep a bootstrap key out of a signed-in person's tenant: acme's runs are 404 to it and missing from its lists", async () => {
    const alice = await token();
    const started = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/hello/runs',
      headers: { authorization: `Bearer ${alice}` },
      payload: { input: { name: 'A' } },
    });
    expect(started.statusCode).toBe(201);
    const id = started.json<{ id: string; tenant_id: string }>().id;
    expect(started.json()).toMatchObject({ tenant_id: 'acme' });
    const asKey = await api.app.inject({ url: `/v1/runs/${id}`, headers: { authorization: `Bearer ${KEYS.operator}` } });
    expect(asKey.statusCode).toBe(404);
    const listed = await api.app.inject({ url: '/v1/runs?limit=200', headers: { authorization: `Bearer ${KEYS.operator}` } });
    expect(listed.json<{ items: { id: string }[] }>().items.map((r) => r.id)).not.toContain(id);
    // The deployment's admin key is a system admin: it reaches acme by naming it.
    const asAdmin = await api.app.inject({ url: `/v1/runs/${id}?tenant=acme`, headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(asAdmin.statusCode).toBe(200);
  });
});

describe('an unreachable provider', () => {
  it('is 503 auth_unavailable (retryable), not 401', async () => {
    const closed = await startProvider();
    await closed.close();
    const app = await startTestApi({
      start: false,
      app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS, oidc: oidcOptions({ jwksUrl: `${closed.url}/keys` }) }) },
    });
    try {
      const res = await app.app.inject({ url: '/v1/auth/whoami', headers: { authorization: `Bearer ${await token()}` } });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'auth_unavailable' });
    } finally {
      await app.close();
    }
  });
});

describe('OIDC settings', () => {
  it('refuse a plain-http issuer off loopback, a missing audience, an unknown role and a JWT-shaped API key, all at once', () => {
    const jwtShaped = `${b64({ alg: 'HS256' })}.${b64({ sub: 'x' })}.c2ln`;
    let message = '';
    try {
      authSettings({
        enabled: true,
        host: '127.0.0.1',
        apiKeys: `ci:${jwtShaped}:viewer`,
        oidc: oidcOptions({ issuer: 'http://idp.example.com', audience: undefined, roleMap: 'ops=superuser' }),
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('AGENTRY_OIDC_ISSUER must be https://');
    expect(message).toContain('AGENTRY_OIDC_AUDIENCE is required');
    expect(message).toContain("'superuser' is neither a role");
    expect(message).toContain('the key looks like a JWT');
  });

  it('let OIDC alone turn auth on, with no API keys', () => {
    expect(authSettings({ enabled: true, host: '0.0.0.0', apiKeys: undefined, oidc: oidcOptions() }).oidc).toBeDefined();
  });
});
