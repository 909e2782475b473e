/**
 * Internal service tokens (`src/gateway/internal-token.ts`): what a worker mints, what a gateway
 * accepts, and each way a token is refused — wrong secret, expired, wrong audience, issuer or
 * type, `alg: none`, another HMAC, claims missing or malformed, a lifetime too long — and the
 * rotation with a previous secret (AUTH-17).
 */
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  INTERNAL_AUDIENCE,
  INTERNAL_TOKEN_TTL_S,
  INTERNAL_TOKEN_TYPE,
  InternalTokenSigner,
  InternalTokenVerifier,
  type InternalCall,
} from '../../src/gateway/internal-token.js';
import { AgentryError } from '../../src/lib/errors.js';

const SECRET = 'b7e0c2f9a4d1e6b3c8f5a2d7e4b1c6f3a8d5e2b9c4f1a6d3';
const OTHER = 'f1e2d3c4b5a6978877665544332211ffeeddccbbaa998877';
const CALL: InternalCall = { tenantId: 'acme', runId: 'run_01abc', stepId: 'draft' };
const now = () => Math.floor(Date.now() / 1000);

const signer = (secret = SECRET) => new InternalTokenSigner(secret, 'worker', 'wrk_test1');
const verifier = (current = SECRET, previous?: string) => new InternalTokenVerifier({ current, previous });

/** A token signed with `secret`, with the claims and header given over a valid worker token's. */
async function forged(options: { claims?: Record<string, unknown>; header?: Record<string, unknown>; secret?: string; alg?: string } = {}): Promise<string> {
  const t = now();
  const claims = {
    iss: 'agentry-worker',
    aud: INTERNAL_AUDIENCE,
    sub: 'wrk_test1',
    iat: t,
    exp: t + 60,
    jti: 'j-1',
    tenant: 'acme',
    run_id: 'run_01abc',
    ...options.claims,
  };
  for (const [key, value] of Object.entries(claims)) if (value === undefined) delete (claims as Record<string, unknown>)[key];
  const alg = options.alg ?? 'HS256';
  return new SignJWT(claims).setProtectedHeader({ alg, typ: INTERNAL_TOKEN_TYPE, ...options.header }).sign(new TextEncoder().encode(options.secret ?? SECRET));
}

async function refusal(token: string, v = verifier()): Promise<AgentryError> {
  const error = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentryError);
  expect((error as AgentryError).code).toBe('unauthorized');
  expect((error as AgentryError).status).toBe(401);
  return error as AgentryError;
}

describe('internal service tokens', () => {
  it('mints a token a verifier with the same secret accepts: tenant, run, step, subject, 5-minute expiry', async () => {
    const before = now();
    const token = await signer().mint(CALL);
    const identity = await verifier().verify(token);
    expect(identity).toMatchObject({ name: 'internal:wrk_test1', issuer: 'worker', tenantId: 'acme', runId: 'run_01abc', stepId: 'draft' });
    expect(identity.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    const ttl = identity.expiresAt.getTime() / 1000 - before;
    expect(ttl).toBeGreaterThanOrEqual(INTERNAL_TOKEN_TTL_S - 1);
    expect(ttl).toBeLessThanOrEqual(INTERNAL_TOKEN_TTL_S + 1);
    // Each call gets its own token.
    const again = await verifier().verify(await signer().mint(CALL));
    expect(again.tokenId).not.toBe(identity.tokenId);
  });

  it('mints a token for a call without a run (a forwarded request), and refuses a step without its run', async () => {
    const api = new InternalTokenSigner(SECRET, 'api', 'wrk_api1');
    const identity = await verifier().verify(await api.mint({ tenantId: 'acme' }));
    expect(identity).toMatchObject({ name: 'internal:wrk_api1', issuer: 'api', tenantId: 'acme' });
    expect(identity).not.toHaveProperty('runId');
    await expect(api.mint({ tenantId: 'acme', stepId: 'x' })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('refuses a token signed with another secret', async () => {
    const error = await refusal(await signer(OTHER).mint(CALL));
    expect(error.message).toMatch(/signature does not match/);
  });

  it('refuses an expired token', async () => {
    const error = await refusal(await signer().mint(CALL, now() - INTERNAL_TOKEN_TTL_S - 120));
    expect(error.message).toMatch(/expired/);
  });

  it.each<[string, Parameters<typeof forged>[0], RegExp]>([
    ['a wrong audience', { claims: { aud: 'agentry-api' } }, /aud claim/],
    ['a wrong issuer', { claims: { iss: 'someone-else' } }, /iss claim/],
    ['another token type (an OIDC-style JWT)', { header: { typ: 'JWT' } }, /typ claim/],
    ['no tenant', { claims: { tenant: undefined } }, /tenant claim/],
    ['the reserved tenant system', { claims: { tenant: 'system' } }, /tenant claim is not a tenant id/],
    ['no jti', { claims: { jti: undefined } }, /jti claim/],
    ['no subject', { claims: { sub: undefined } }, /sub claim/],
    ['a run id that is no id', { claims: { run_id: 'run 1; drop' } }, /run_id claim is not an id/],
    ['a step without its run', { claims: { run_id: undefined, step_id: 'draft' } }, /step without its run/],
    ['a lifetime of a day', { claims: { exp: now() + 86_400 } }, /live longer than 600 s/],
    ['HS512 with the right secret', { alg: 'HS512' }, /only HS256/],
  ])('refuses %s', async (_name, options, expected) => {
    const error = await refusal(await forged(options));
    expect(error.message).toMatch(expected);
  });

  it('refuses alg: none, and garbage', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const t = now();
    const none = `${encode({ alg: 'none', typ: INTERNAL_TOKEN_TYPE })}.${encode({ iss: 'agentry-worker', aud: INTERNAL_AUDIENCE, sub: 'wrk_x', iat: t, exp: t + 60, jti: 'j', tenant: 'acme' })}.`;
    expect((await refusal(none)).message).toMatch(/HS256|malformed/);
    await refusal('not-a-token');
    await refusal(`${(await signer().mint(CALL)).slice(0, -4)}AAAA`);
  });

  it('accepts the previous secret only while it is configured (rotation: AUTH-17)', async () => {
    const old = await signer(OTHER).mint(CALL);
    const fresh = await signer(SECRET).mint(CALL);
    // During the rotation: the new secret signs, the old one still verifies.
    const rotating = verifier(SECRET, OTHER);
    expect((await rotating.verify(old)).tenantId).toBe('acme');
    expect((await rotating.verify(fresh)).tenantId).toBe('acme');
    // After it: only the new secret.
    expect((await refusal(old, verifier(SECRET))).message).toMatch(/signature does not match/);
    // The previous secret never excuses anything but its signature: an expired old token stays refused.
    expect((await refusal(await signer(OTHER).mint(CALL, now() - 3_600), rotating)).message).toMatch(/expired/);
  });

  it('never shows its secret when logged or serialised', () => {
    const s = signer();
    const v = verifier(SECRET, OTHER);
    for (const text of [JSON.stringify(s), inspect(s, { depth: 5 }), JSON.stringify(v), inspect(v, { depth: 5 })]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(OTHER);
    }
  });
});
