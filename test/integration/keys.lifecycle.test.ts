/**
 * Managed API keys over real HTTP on SQLite and PostgreSQL: a key is created (its secret shown
 * once), signs in as its name in its tenant, records its last use, is rotated (old and new work
 * during the grace, the old one is refused after it), revoked, or expires; the secret is never in
 * the database, the log or the audit log.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyDto, ApiKeyPageDto, IssuedKeyDto, RevokedKeysDto } from '../../src/app/dto/keys.js';
import type { AuditPageDto } from '../../src/app/dto/audit.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { call, capturingLogger, createKey, databaseText, SECRET_SHAPE, whoamiStatus } from '../helpers/keys.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(storeFactories)('managed API keys on $name', (factory) => {
  let api: TestApi;
  let base: string;
  const { logger, lines } = capturingLogger();
  /** Every secret issued in this suite: none may be stored, logged or audited. */
  const issued: string[] = [];
  const admin = KEYS.admin;

  beforeAll(async () => {
    api = await startTestApi({ factory, start: false, app: { logger } });
    base = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
  });

  async function create(body: { name: string; roles: string[]; expires_in?: string }, tenant?: string): Promise<IssuedKeyDto> {
    const key = await createKey(base, admin, body, tenant);
    issued.push(key.secret);
    return key;
  }

  async function listed(query: string): Promise<ApiKeyDto[]> {
    const res = await call<ApiKeyPageDto>(base, `/v1/admin/keys?${query}`, admin);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  it('creates a key whose secret is shown once, that signs in as its name in its tenant and records its last use', async () => {
    const res = await call<IssuedKeyDto>(base, '/v1/admin/keys?tenant=acme', admin, { body: { name: 'ci', roles: ['service'] } });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('location')).toBe(`/v1/admin/keys/${res.body.key.id}`);
    const { key, secret } = res.body;
    issued.push(secret);
    expect(secret).toMatch(SECRET_SHAPE);
    expect(secret.startsWith(`${key.prefix}_`)).toBe(true);
    expect(key).toMatchObject({
      tenant_id: 'acme',
      name: 'ci',
      roles: ['service'],
      status: 'active',
      created_by: 'admin',
      expires_at: null,
      last_used_at: null,
    });
    expect(Object.keys(key)).not.toContain('secret_hash');

    const me = await call(base, '/v1/auth/whoami', secret);
    expect(me.body).toEqual({
      principal: 'ci',
      via: 'api_key',
      tenant_id: 'acme',
      system_admin: false,
      roles: ['service'],
      scopes: ['runs:read', 'runs:write', 'specs:read', 'gateway:use'],
      expires_at: null,
      key_id: key.id,
    });
    expect((await call(base, '/v1/runs', secret)).status).toBe(200);
    const refused = await call(base, '/v1/admin/keys', secret);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden', detail: 'missing required scope: keys:admin' });

    const [shown] = await listed('tenant=acme&name=ci');
    expect(shown).toMatchObject({ id: key.id, status: 'active' });
    expect(shown!.last_used_at).not.toBeNull();
    const page = (await call(base, '/v1/admin/keys?tenant=acme', admin)).text;
    expect(page).not.toContain(secret);
    expect(page).not.toContain(sha256(secret));
  });

  it('rotates a key: old and new work during the grace, the old one is refused after it, and revoking the name refuses all', async () => {
    const [first] = issued;
    const rotated = await call<IssuedKeyDto>(base, '/v1/admin/keys/ci/rotate?tenant=acme', admin, { body: { grace: '1h' } });
    expect(rotated.status).toBe(201);
    const second = rotated.body;
    issued.push(second.secret);
    expect(second.key).toMatchObject({ name: 'ci', tenant_id: 'acme', roles: ['service'], status: 'active', rotated_from: second.previous!.id });
    expect(second.previous).toMatchObject({ status: 'grace', replaced_by: second.key.id });
    expect((await call(base, '/v1/auth/whoami', first)).body).toMatchObject({ principal: 'ci', expires_at: second.previous!.grace_until });
    expect((await call(base, '/v1/auth/whoami', second.secret)).body).toMatchObject({ principal: 'ci', key_id: second.key.id, expires_at: null });

    // A second rotate with a grace of one second: the key it replaces is refused once it has passed.
    const third = (await call<IssuedKeyDto>(base, `/v1/admin/keys/${second.key.id}/rotate?tenant=acme`, admin, { body: { grace: '1s' } })).body;
    issued.push(third.secret);
    await expect.poll(() => whoamiStatus(base, second.secret), { timeout: 15_000, interval: 200 }).toBe(401);
    expect(await whoamiStatus(base, third.secret)).toBe(200);
    expect(await whoamiStatus(base, first!)).toBe(200);
    expect((await listed('tenant=acme&name=ci')).map((k) => [k.id, k.status])).toEqual([
      [third.key.id, 'active'],
      [second.key.id, 'rotated'],
      [second.previous!.id, 'grace'],
    ]);

    const revoked = await call<RevokedKeysDto>(base, '/v1/admin/keys/ci/revoke?tenant=acme', admin, { body: {} });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked.map((k) => k.id).sort()).toEqual([second.previous!.id, second.key.id, third.key.id].sort());
    expect(revoked.body.revoked.every((k) => k.status === 'revoked' && k.revoked_by === 'admin')).toBe(true);
    for (const secret of [first!, second.secret, third.secret]) {
      const res = await call(base, '/v1/auth/whoami', secret);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'unauthorized', detail: 'the API key is not valid' });
    }
    expect((await call(base, '/v1/admin/keys/ci/revoke?tenant=acme', admin, { body: {} })).status).toBe(404);
    const again = await call(base, `/v1/admin/keys/${third.key.id}/revoke?tenant=acme`, admin, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', detail: `key ${third.key.id} was already revoked` });
    // The name is free again.
    await create({ name: 'ci', roles: ['viewer'] }, 'acme');
  });

  it('refuses an expired key with the answer any wrong key gets, and logs why', async () => {
    const short = await create({ name: 'short', roles: ['viewer'], expires_in: '1s' });
    expect(short.key.expires_at).not.toBeNull();
    await expect.poll(() => whoamiStatus(base, short.secret), { timeout: 15_000, interval: 200 }).toBe(401);
    const expired = await call(base, '/v1/auth/whoami', short.secret);
    const unknown = await call(base, '/v1/auth/whoami', `${short.key.prefix.replace(/.$/, '0')}_${'A'.repeat(43)}`);
    expect(expired.body.detail).toBe(unknown.body.detail);
    expect((await listed('name=short'))[0]).toMatchObject({ status: 'expired' });
    const refusals = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'managed API key refused');
    expect(refusals).toContainEqual(expect.objectContaining({ key_id: short.key.id, reason: 'expired' }));
  });

  it('records creates, rotations and revocations in the audit log, and never stores, logs or audits a secret', async () => {
    const audit = await call<AuditPageDto>(base, '/v1/audit?target=key:acme/ci&limit=50&tenant=acme', admin);
    expect(audit.body.items.map((e) => `${e.action} ${e.outcome}${e.outcome === 'denied' ? ` ${String(e.details?.error)}` : ''}`)).toEqual([
      'key.create success',
      'key.revoke denied conflict',
      'key.revoke denied not_found',
      'key.revoke success',
      'key.rotate success',
      'key.rotate success',
      'key.create success',
    ]);
    expect(audit.body.items[3]!.details).toMatchObject({ key_ids: expect.any(Array) });
    const everything = [
      await databaseText(api.store),
      lines.join('\n'),
      (await call(base, '/v1/audit?limit=1000', admin)).text,
      (await call(base, '/v1/audit?limit=1000&tenant=acme', admin)).text,
    ];
    expect(issued.length).toBeGreaterThanOrEqual(5);
    for (const secret of issued) {
      const random = secret.slice(-43);
      for (const text of everything) {
        expect(text).not.toContain(random);
      }
    }
    // What is stored is the hash (so the search above looked where keys are kept).
    expect(everything[0]).toContain(sha256(issued[0]!));
  });
});
