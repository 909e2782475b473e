/**
 * Route schemas compile on a route's first request (`src/server/lazy-schemas.ts`): every one of
 * them must still compile, which an app built with `eagerSchemas` checks while it gets ready,
 * and a lazily compiled route validates, coerces and serializes as Fastify's default would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_GATEWAY, startTestApi, type TestApi } from '../helpers/server.js';

describe('route schemas compiled on first use', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ gateway: MOCK_GATEWAY });
  });
  afterAll(async () => {
    await api.close();
  });

  it('every route of every group compiles when the app is built with eagerSchemas', async () => {
    const eager = await startTestApi({ gateway: MOCK_GATEWAY, start: false, app: { eagerSchemas: true } });
    try {
      expect((await eager.app.inject({ url: '/livez' })).statusCode).toBe(200);
    } finally {
      await eager.close();
    }
  });

  it('validates a body, with a problem naming the field', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/hello/runs',
      headers: api.auth('admin'),
      payload: { input: { name: 'Ada' }, nope: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('matches a header schema whatever the case of the header name, and coerces query strings', async () => {
    const headers = { ...api.auth('admin'), 'Idempotency-Key': 'lazy-1' };
    const first = await api.app.inject({ method: 'POST', url: '/v1/workflows/hello/runs', headers, payload: { input: { name: 'Ada' } } });
    const again = await api.app.inject({ method: 'POST', url: '/v1/workflows/hello/runs', headers, payload: { input: { name: 'Ada' } } });
    expect(first.statusCode).toBe(201);
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    const list = await api.app.inject({ url: '/v1/runs?limit=1', headers: api.auth('admin') });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: unknown[]; next_cursor: string | null }>().items).toHaveLength(1);
    expect((await api.app.inject({ url: '/v1/runs?limit=x', headers: api.auth('admin') })).statusCode).toBe(400);
  });
});
