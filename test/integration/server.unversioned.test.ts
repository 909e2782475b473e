/**
 * Unversioned paths are aliases of `/v1` (src/server/unversioned.ts): the same route, auth and
 * body, over real HTTP; the root routes (console, probes, docs) stay what they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let base: string;
beforeAll(async () => {
  api = await startTestApi();
  base = await listen(api.app);
});
afterAll(() => api?.close());

const json = { 'content-type': 'application/json' };

/** `fetch` that reads the whole answer and leaves no connection open behind it. */
async function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const response = await fetch(url, { ...init, headers: { ...init.headers, connection: 'close' } });
  return new Response(await response.text(), { status: response.status, headers: response.headers });
}

describe('unversioned paths', () => {
  it('serve the /v1 route with the same body, auth and scopes', async () => {
    const started = await request(`${base}/workflows/hello/runs`, {
      method: 'POST',
      headers: { ...api.auth('operator'), ...json },
      body: JSON.stringify({ input: { name: 'Ada' } }),
    });
    expect(started.status).toBe(201);
    const run = (await started.json()) as { id: string };
    await api.engine.waitForRun(run.id, { timeoutMs: 30_000 });

    const versioned = await request(`${base}/v1/runs/${run.id}?view=full`, { headers: api.auth('viewer') });
    const plain = await request(`${base}/runs/${run.id}?view=full`, { headers: api.auth('viewer') });
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe(await versioned.text());

    // The same auth: no key is 401, a viewer may not start a run.
    expect((await request(`${base}/runs/${run.id}`)).status).toBe(401);
    const refused = await request(`${base}/workflows/hello/runs`, {
      method: 'POST',
      headers: { ...api.auth('viewer'), ...json },
      body: '{"input":{"name":"x"}}',
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
  });

  it('leave root routes, the version itself and unknown paths as they are', async () => {
    expect((await request(`${base}/healthz`)).status).toBe(200);
    expect((await request(`${base}/openapi.json`)).status).toBe(200);
    const paths = Object.keys(((await (await request(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> }).paths);
    expect(paths.some((p) => p.startsWith('/runs'))).toBe(false);
    const unknown = await request(`${base}/nothing-here/at-all`, { headers: api.auth('admin') });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    // No double prefix: /v1/v1/… is not a route.
    expect((await request(`${base}/v1/v1/runs`, { headers: api.auth('admin') })).status).toBe(404);
  });
});
