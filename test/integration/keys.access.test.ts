/**
 * Who may manage managed keys, and what bad input gets, on SQLite and PostgreSQL: only `admin`
 * keys reach `/v1/admin/keys`; a managed admin key of a tenant sees and changes that tenant's keys
 * only (another tenant's key is 404, naming another tenant 403); every bad request is a clear
 * problem and changes nothing.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyPageDto, IssuedKeyDto } from '../../src/app/dto/keys.js';
import { ROLES } from '../../src/server/scopes.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

describe.each(storeFactories)('who manages managed keys, on $name', (factory) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ factory, start: false });
  });
  afterAll(async () => {
    await api.close();
  });

  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

  async function create(body: Record<string, unknown>, tenant?: string, headers = api.auth('admin')): Promise<IssuedKeyDto> {
    const res = await api.app.inject({ method: 'POST', url: `/v1/admin/keys${tenant === undefined ? '' : `?tenant=${tenant}`}`, payload: body, headers });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<IssuedKeyDto>();
  }

  /** Every key of every tenant, as the bootstrap admin (a key of every tenant) sees them. */
  async function allKeys(): Promise<string> {
    const res = await api.app.inject({ url: '/v1/admin/keys?limit=500', headers: api.auth('admin') });
    return JSON.stringify(res.json<ApiKeyPageDto>().items);
  }

  it('refuses the key routes to managed keys of every role but admin', async () => {
    for (const role of ROLES) {
      const { secret } = await create({ name: `role-${role}`, roles: [role] }, 'acme');
      const list = await api.app.inject({ url: '/v1/admin/keys', headers: bearer(secret) });
      const made = await api.app.inject({ method: 'POST', url: '/v1/admin/keys', payload: { name: `by-${role}`, roles: ['viewer'] }, headers: bearer(secret) });
      if (role === 'admin') {
        expect([list.statusCode, made.statusCode]).toEqual([200, 201]);
      } else {
        expect([list.statusCode, made.statusCode], role).toEqual([403, 403]);
        expect(list.json()).toMatchObject({ code: 'forbidden', detail: 'missing required scope: keys:admin' });
      }
    }
  });

  it("keeps a tenant's admin key to its own tenant's keys: another tenant's are 404 and naming another tenant is 403", async () => {
    const boss = await create({ name: 'boss', roles: ['admin'] }, 'north');
    const theirs = await create({ name: 'south-ci', roles: ['service'] }, 'south');
    const mine = await create({ name: 'north-ci', roles: ['service'] }, 'north');
    const as = bearer(boss.secret);

    const listed = (await api.app.inject({ url: '/v1/admin/keys?limit=500', headers: as })).json<ApiKeyPageDto>().items;
    // Taken after the boss key's first use (its last_used_at is set now, and not again within a minute).
    const before = await allKeys();
    expect(listed.map((k) => k.tenant_id)).toEqual(listed.map(() => 'north'));
    expect(listed.map((k) => k.id)).toEqual(expect.arrayContaining([boss.key.id, mine.key.id]));
    expect(listed.map((k) => k.id)).not.toContain(theirs.key.id);

    const hidden: InjectOptions[] = [
      { url: `/v1/admin/keys/${theirs.key.id}` },
      { url: `/v1/admin/keys/${theirs.key.prefix}` },
      { method: 'POST', url: `/v1/admin/keys/${theirs.key.id}/revoke`, payload: {} },
      { method: 'POST', url: `/v1/admin/keys/${theirs.key.id}/rotate`, payload: {} },
      // By name, a key is looked up in the caller's tenant, where there is no south-ci.
      { method: 'POST', url: '/v1/admin/keys/south-ci/revoke', payload: {} },
    ];
    for (const request of hidden) {
      const res = await api.app.inject({ ...request, headers: as });
      expect(res.statusCode, request.url as string).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    }
    const named: InjectOptions[] = [
      { url: '/v1/admin/keys?tenant=south' },
      { method: 'POST', url: '/v1/admin/keys?tenant=south', payload: { name: 'intruder', roles: ['admin'] } },
      { method: 'POST', url: '/v1/admin/keys/south-ci/revoke?tenant=south', payload: {} },
    ];
    for (const request of named) {
      const res = await api.app.inject({ ...request, headers: as });
      expect(res.statusCode, request.url as string).toBe(403);
      expect(res.json().detail).toMatch(/acts in tenant north only; only a system admin may act in another tenant/);
    }
    expect(await allKeys()).toBe(before);
    expect((await api.app.inject({ url: '/v1/auth/whoami', headers: bearer(theirs.secret) })).statusCode).toBe(200);

    // Its own tenant's keys it manages, and a key it creates is its tenant's.
    const own = await create({ name: 'north-bot', roles: ['viewer'] }, undefined, as);
    expect(own.key.tenant_id).toBe('north');
    const revoked = await api.app.inject({ method: 'POST', url: '/v1/admin/keys/north-ci/revoke', payload: {}, headers: as });
    expect(revoked.statusCode).toBe(200);
    expect((await api.app.inject({ url: '/v1/auth/whoami', headers: bearer(mine.secret) })).statusCode).toBe(401);
  });

  it('answers every bad request with a clear problem and changes nothing', async () => {
    await create({ name: 'taken', roles: ['viewer'] }, 'acme');
    const before = await allKeys();
    const post = (url: string, payload: unknown) => api.app.inject({ method: 'POST', url, payload: payload as object, headers: api.auth('admin') });
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['/v1/admin/keys', { name: 'bad name', roles: ['viewer'] }, 400, /key name 'bad name' is not valid: use 1–64 letters, digits or _\.@-/],
      ['/v1/admin/keys', { name: 'key_x', roles: ['viewer'] }, 400, /names may not start with key_ or agk_/],
      ['/v1/admin/keys', { name: 'x', roles: ['wizard'] }, 400, /invalid roles: 'wizard' is neither a role \(admin, operator/],
      ['/v1/admin/keys', { name: 'x', roles: ['service', 'tenant:acme'] }, 400, /'tenant:<id>' is not a grant of a managed key/],
      ['/v1/admin/keys', { name: 'x', roles: [] }, 400, /roles/],
      ['/v1/admin/keys', { name: 'x', roles: ['viewer'], expires_in: '90 days' }, 400, /expires: invalid duration '90 days'/],
      ['/v1/admin/keys', { name: 'x', roles: ['viewer'], expires_in: '0s' }, 400, /expires must be longer than 0/],
      ['/v1/admin/keys', { name: 'x', roles: ['viewer'], expires_in: '4000d' }, 400, /at most 3650d/],
      ['/v1/admin/keys', { name: 'x', roles: ['viewer'], secret: 'mine' }, 400, /secret/],
      ['/v1/admin/keys?tenant=system', { name: 'x', roles: ['viewer'] }, 400, /'system' is reserved/],
      ['/v1/admin/keys?tenant=a%20b', { name: 'x', roles: ['viewer'] }, 400, /'a b' is not a tenant id/],
      ['/v1/admin/keys?tenant=acme', { name: 'taken', roles: ['viewer'] }, 409, /tenant acme already has a key named 'taken'; rotate or revoke it first/],
      ['/v1/admin/keys/taken/rotate?tenant=acme', { grace: '31d' }, 400, /grace must be at most 30d/],
      ['/v1/admin/keys/taken/rotate?tenant=acme', { grace: 'soon' }, 400, /grace: invalid duration 'soon'/],
      ['/v1/admin/keys/missing/rotate?tenant=acme', {}, 404, /tenant acme has no key named 'missing' that is not revoked/],
      ['/v1/admin/keys/key_00000000000000000000000000/revoke', {}, 404, /key key_00000000000000000000000000 not found/],
      ['/v1/admin/keys/taken/revoke?tenant=acme', { now: true }, 400, /now/],
    ];
    for (const [url, payload, status, detail] of cases) {
      const res = await post(url, payload);
      expect(res.statusCode, `${url} ${JSON.stringify(payload)}: ${res.body}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body, url).toMatch(detail);
    }
    const cursor = await api.app.inject({ url: '/v1/admin/keys?cursor=bm90LWEtY3Vyc29y', headers: api.auth('admin') });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json()).toMatchObject({ code: 'invalid_request', detail: 'cursor is not valid' });
    expect(await allKeys()).toBe(before);
  });

  it('pages the listing newest first with a cursor', async () => {
    for (const n of [1, 2, 3]) await create({ name: `page-${n}`, roles: ['viewer'] }, 'paged');
    const first = (await api.app.inject({ url: '/v1/admin/keys?tenant=paged&limit=2', headers: api.auth('admin') })).json<ApiKeyPageDto>();
    expect(first.items.map((k) => k.name)).toEqual(['page-3', 'page-2']);
    const second = (
      await api.app.inject({ url: `/v1/admin/keys?tenant=paged&limit=2&cursor=${first.next_cursor!}`, headers: api.auth('admin') })
    ).json<ApiKeyPageDto>();
    expect(second).toMatchObject({ items: [{ name: 'page-1' }], next_cursor: null });
  });
});
