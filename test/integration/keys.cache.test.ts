/**
 * The per-process cache of managed keys, on SQLite and PostgreSQL, with a clock the test moves:
 * a change made by another process's service is seen once the cache is `REFRESH_MS` old (the
 * revision moved), not before; a change made through the same service is seen at once; and
 * `last_used_at` is written at most once per `TOUCH_INTERVAL_MS`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { localOperator } from '../../src/app/caller.js';
import { REFRESH_MS, TOUCH_INTERVAL_MS } from '../../src/app/key-cache.js';
import { KeysService } from '../../src/app/keys.js';
import { grantProblems } from '../../src/server/scopes.js';
import type { Store } from '../../src/store/store.js';
import { storeFactories } from '../helpers/store.js';

describe.each(storeFactories)('the managed key cache on $name', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let clock = Date.now();
  const now = () => clock;
  const operator = localOperator({ USER: 'ops' });
  /** Two processes' services on one database: `here` is the API process, `there` another one (or the CLI). */
  let here: KeysService;
  let there: KeysService;

  beforeAll(async () => {
    ({ store, cleanup } = await factory.open());
    // Open every pooled PostgreSQL connection now: one first opened during a test counts as a leak.
    await Promise.all(Array.from({ length: 10 }, () => store.apiKeyRevision()));
    const service = () => new KeysService({ store, audit: new AuditService(store), checkGrants: grantProblems, now });
    here = service();
    there = service();
  });
  afterAll(async () => {
    await cleanup();
  });

  it("sees another process's revocation once its copy is REFRESH_MS old, and its own at once", async () => {
    const a = await there.create(operator, { name: 'a', roles: ['service'], tenant: 'acme' });
    expect(await here.authenticate(a.secret)).toMatchObject({ ok: true, key: { keyId: a.key.id, name: 'a', tenantId: 'acme', grants: ['service'] } });

    await there.revoke(operator, a.key.id);
    // Within REFRESH_MS of its last check, this process still works from its copy…
    clock += REFRESH_MS - 1;
    expect((await here.authenticate(a.secret)).ok).toBe(true);
    // …and once the copy is that old, it reads the revision, sees it moved and reloads.
    clock += 1;
    expect(await here.authenticate(a.secret)).toEqual({ ok: false, reason: 'revoked', keyId: a.key.id });

    const b = await here.create(operator, { name: 'b', roles: ['viewer'] });
    expect((await here.authenticate(b.secret)).ok).toBe(true);
    await here.revoke(operator, 'b');
    expect(await here.authenticate(b.secret)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('tells an unknown id, a wrong secret and a malformed key apart (for the log)', async () => {
    const c = await here.create(operator, { name: 'c', roles: ['viewer'] });
    const wrong = `${c.secret.slice(0, -1)}${c.secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await here.authenticate(wrong)).toEqual({ ok: false, reason: 'mismatch', keyId: c.key.id });
    expect(await here.authenticate(`agk_${'0'.repeat(26)}_${'A'.repeat(43)}`)).toEqual({ ok: false, reason: 'unknown', keyId: `key_${'0'.repeat(26)}` });
    expect(await here.authenticate('agk_short')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('writes last_used_at at most once per TOUCH_INTERVAL_MS', async () => {
    const d = await here.create(operator, { name: 'd', roles: ['viewer'] });
    const lastUsed = async () => (await store.getApiKey(d.key.id))!.lastUsedAt;
    const first = clock;
    await here.authenticate(d.secret);
    expect(await lastUsed()).toBe(first);
    clock += TOUCH_INTERVAL_MS - 1;
    await here.authenticate(d.secret);
    expect(await lastUsed()).toBe(first);
    clock += 1;
    await here.authenticate(d.secret);
    expect(await lastUsed()).toBe(first + TOUCH_INTERVAL_MS);
  });

  it('ends an old key at the end of its grace and an expiring key at its expiry', async () => {
    const e = await here.create(operator, { name: 'e', roles: ['viewer'], expiresIn: '1h' });
    const rotated = await here.rotate(operator, 'e', { grace: '10m' });
    expect(rotated.key.expires_at).toBe(new Date(clock + 3_600_000).toISOString());
    expect(await here.authenticate(e.secret)).toMatchObject({ ok: true, key: { expiresAt: new Date(clock + 600_000) } });
    clock += 600_000;
    expect(await here.authenticate(e.secret)).toMatchObject({ ok: false, reason: 'rotated' });
    expect((await here.authenticate(rotated.secret)).ok).toBe(true);
    clock += 3_000_000;
    expect(await here.authenticate(rotated.secret)).toMatchObject({ ok: false, reason: 'expired' });
    // Neither counts as a key that can sign in (the server's start-up check); revoking one that could lowers the count.
    const usable = await here.usableCount();
    await here.revoke(operator, 'd');
    expect(await here.usableCount()).toBe(usable - 1);
  });
});
