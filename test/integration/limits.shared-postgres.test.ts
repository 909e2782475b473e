/**
 * Limits shared by API processes on one PostgreSQL database: two servers, each with its own
 * connection pool, engine and HTTP listener, answer concurrent requests of one tenant limited
 * to 10 a minute — 10 are accepted in all, not 10 each — and concurrent starts against a
 * concurrent-run quota of 5, sent to both, never create more than 5 runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { limitsFrom, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { hasPostgres, type StoreFactory } from '../helpers/store.js';
import { startTenantIssuer, type TenantIssuer } from '../helpers/tenant-tokens.js';

const LIMITS = limitsFrom({
  tenants: { acme: { requests_per_minute: 10 }, racers: { max_concurrent_runs: 5 } },
});

describe.runIf(hasPostgres)('limits shared across API processes (postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let issuer: TenantIssuer;
  const apis: TestApi[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    issuer = await startTenantIssuer();
    // Each server opens its own pool on the one database, as two processes would.
    const factory: StoreFactory = {
      name: 'postgres-shared',
      open: () => {
        const store: Store = openPostgresStore(db.url, { poolSize: 10 });
        return Promise.resolve({ store, cleanup: () => store.close() });
      },
    };
    for (let i = 0; i < 2; i++) {
      const api = await startTestApi({ factory, start: false, limits: LIMITS, app: { auth: issuer.auth } });
      apis.push(api);
      urls.push(await listen(api.app));
    }
    // Fetch the issuer's keys once in each server, outside the tests (the leak guard counts sockets).
    const warm = await issuer.token('warmup', 'warmup', 'service');
    for (const url of urls) expect((await fetch(`${url}/v1/runs`, { headers: { authorization: `Bearer ${warm}` } })).status).toBe(200);
  });
  afterAll(async () => {
    for (const api of apis) await api.close();
    await issuer?.close();
    await db?.drop();
  });

  it('accepts 10 requests in all of a tenant limited to 10 a minute, sent at once to two servers', async () => {
    const tokens = await Promise.all(['ada', 'bob', 'cy'].map((sub) => issuer.token('acme', sub, 'service')));
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${urls[i % 2]!}/v1/runs?limit=1`, { headers: { authorization: `Bearer ${tokens[i % 3]!}`, connection: 'close' } });
        await res.arrayBuffer();
        return { status: res.status, server: i % 2, retryAfter: res.headers.get('retry-after') };
      }),
    );
    expect(statuses.filter((s) => s.status === 200)).toHaveLength(10);
    const refused = statuses.filter((s) => s.status === 429);
    expect(refused).toHaveLength(20);
    // Both servers refused some: the bucket is the database's, not a process's.
    expect(new Set(refused.map((s) => s.server))).toEqual(new Set([0, 1]));
    for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    // Another tenant is not affected on either server.
    const other = await issuer.token('beta', 'ada', 'service');
    for (const url of urls) expect((await fetch(`${url}/v1/runs`, { headers: { authorization: `Bearer ${other}`, connection: 'close' } })).status).toBe(200);
  });

  it('never starts more runs than a concurrent-run quota of 5 under 40 concurrent starts on two servers', async () => {
    const token = await issuer.token('racers', 'ada', 'service');
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await fetch(`${urls[i % 2]!}/v1/workflows/nap/runs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ input: {} }),
        });
        const body = (await res.json()) as { code?: string };
        return { status: res.status, code: body.code };
      }),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429 && r.code === 'quota_exceeded')).toHaveLength(35);
    const [usage] = await apis[0]!.store.tenantRunUsage(Date.now(), 'racers');
    expect(usage).toMatchObject({ activeRuns: 5, runsLastHour: 5 });
  });
});
