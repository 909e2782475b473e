/**
 * Probes with a real database failure: the store's connection is closed under the running
 * server (every query then fails), `/readyz` turns 503 naming the failing checks, `/livez`
 * stays 200, and once a connection to the same file is opened again `/readyz` is 200 again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { startTestApi, type TestApi } from '../helpers/server.js';

/** A store whose connection can be closed and reopened (on the same file) under its users. */
class Reconnectable {
  current: Store;
  private readonly extra: Store[] = [];

  constructor(private readonly first: Store) {
    this.current = first;
  }

  get file(): string {
    return this.first.location.replace(/^sqlite:/, '');
  }

  proxy(): Store {
    return new Proxy(this.first, {
      get: (_target, prop) => {
        const value: unknown = Reflect.get(this.current, prop);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(this.current) : value;
      },
    });
  }

  async disconnect(): Promise<void> {
    await this.current.close();
  }

  reconnect(): void {
    this.current = openSqliteStore(this.file);
    this.extra.push(this.current);
  }

  async closeExtra(): Promise<void> {
    for (const store of this.extra) await store.close();
  }
}

let api: TestApi;
let db: Reconnectable;

beforeAll(async () => {
  api = await startTestApi({
    wrapStore: (raw) => {
      db = new Reconnectable(raw);
      return db.proxy();
    },
  });
});
afterAll(async () => {
  await api.app.close();
  await api.engine.stop();
  await db.closeExtra();
  // The first store was closed by the test; `close` removes the temporary directory.
  await api.close().catch(() => undefined);
});

describe('/readyz', () => {
  it('is 200 with every check ok on a healthy server', async () => {
    const res = await api.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: { database: { status: 'ok' }, migrations: { status: 'ok' }, workers: { status: 'ok' } },
    });
  });

  it('turns 503 not_ready naming the database when its connection is gone, and 200 again once it is back', async () => {
    await db.disconnect();
    const down = await api.app.inject({ url: '/readyz', headers: { 'x-request-id': 'probe-1' } });
    expect(down.statusCode).toBe(503);
    const body = down.json();
    expect(body).toMatchObject({ status: 'not_ready', code: 'not_ready', request_id: 'probe-1' });
    expect(body.checks.database.status).toBe('fail');
    expect(body.checks.database.detail).toMatch(/destroyed|closed|not open/i);
    expect(body.detail).toContain('database');
    expect((await api.app.inject({ url: '/livez' })).statusCode).toBe(200);
    // A public client sees the same 503, without the checks (AGENTRY_READYZ_DETAIL=internal).
    const outside = await api.app.inject({ url: '/readyz', remoteAddress: '203.0.113.7' });
    expect(outside.statusCode).toBe(503);
    expect(outside.json()).toEqual({ status: 'not_ready' });
    // Other routes report the failure as a problem, not a crash.
    const runs = await api.app.inject({ url: '/v1/runs', headers: api.auth('viewer') });
    expect(runs.statusCode).toBeGreaterThanOrEqual(500);
    expect(runs.headers['content-type']).toMatch(/^application\/problem\+json/);

    db.reconnect();
    const up = await api.app.inject({ url: '/readyz' });
    expect(up.statusCode).toBe(200);
    expect(up.json().status).toBe('ready');
  });
});
