/**
 * A dev server (`--no-auth`) out of a web page's reach, over real HTTP on 127.0.0.1: only a
 * loopback `Host` is answered (DNS rebinding), a foreign `Origin` is refused, a state-changing
 * request needs `Content-Type: application/json` (no preflight-free POST), and CORS headers
 * appear only for origins listed in `AGENTRY_CORS_ORIGINS`. With auth on none of this applies.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSettings } from '../../src/server/auth.js';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';

const LISTED = 'https://console.example.com';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { code?: string; detail?: string; status?: string; id?: string };
}

/**
 * One request with exactly these headers (Host too, as a rebinding page's browser would send
 * it), on a connection of its own that is closed after it.
 */
async function send(url: string, method: 'GET' | 'POST' | 'OPTIONS', headers: Record<string, string>, body?: string): Promise<Answer> {
  const res = await request(url, { method, headers, reset: true, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Answer['body']) };
}

describe('auth off (--no-auth): the browser guard', () => {
  let api: TestApi;
  let base: string;
  let port: string;

  beforeAll(async () => {
    api = await startTestApi({ app: { auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }), corsOrigins: [LISTED] } });
    base = await listen(api.app);
    port = new URL(base).port;
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers a loopback Host, with or without the port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost', '127.0.0.1', 'LOCALHOST']) {
      expect((await send(`${base}/v1/runs`, 'GET', { host })).status, host).toBe(200);
    }
  });

  it('refuses a rebinding page: any other Host gets 403 problem+json and no data', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost.:${port}`]) {
      const res = await send(`${base}/v1/runs`, 'GET', { host });
      expect(res.status, host).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('forbidden');
      expect(res.body.detail).toContain('Host');
    }
    const started = await send(
      `${base}/v1/workflows/hello/runs`,
      'POST',
      { host: 'evil.example', 'content-type': 'application/json' },
      '{"input":{"name":"x"}}',
    );
    expect(started.status).toBe(403);
  });

  it("refuses a page of another origin, and accepts the server's own origin and a listed one", async () => {
    const host = `127.0.0.1:${port}`;
    for (const origin of ['https://evil.example', 'null', `http://localhost:${port}`, `http://127.0.0.1:1`]) {
      const res = await send(`${base}/v1/runs`, 'GET', { host, origin });
      expect(res.status, origin).toBe(403);
      expect(res.body.detail).toContain('Origin');
    }
    expect((await send(`${base}/v1/runs`, 'GET', { host, origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await send(`${base}/v1/runs`, 'GET', { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await send(`${base}/v1/runs`, 'GET', { host, origin: LISTED })).status).toBe(200);
  });

  it('refuses a state-changing request without Content-Type: application/json, even without a body', async () => {
    const host = `127.0.0.1:${port}`;
    const run = await send(`${base}/v1/workflows/nap/runs`, 'POST', { host, 'content-type': 'application/json' }, '{"input":{}}');
    expect(run.status).toBe(201);
    const cancel = `${base}/v1/runs/${run.body.id}/cancel`;
    // What a page can send without a preflight: no body, or a "simple" content type.
    expect((await send(cancel, 'POST', { host })).status).toBe(415);
    expect((await send(cancel, 'POST', { host, 'content-type': 'text/plain' }, '{}')).status).toBe(415);
    expect((await send(cancel, 'POST', { host, 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')).status).toBe(415);
    const refused = await send(cancel, 'POST', { host });
    expect(refused.body.code).toBe('unsupported_media_type');
    expect((await api.engine.getRun(run.body.id!)).status).not.toBe('cancelled');
    // The CLI and curl send JSON; a body-less POST with the JSON content type is fine.
    const cancelled = await send(cancel, 'POST', { host, 'content-type': 'application/json' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it('sends no CORS headers to an unlisted origin, and answers a listed origin and its preflight', async () => {
    const host = `127.0.0.1:${port}`;
    const own = await send(`${base}/v1/runs`, 'GET', { host, origin: `http://127.0.0.1:${port}` });
    expect(Object.keys(own.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const listed = await send(`${base}/v1/runs`, 'GET', { host, origin: LISTED });
    expect(listed.headers['access-control-allow-origin']).toBe(LISTED);
    const preflight = await send(`${base}/v1/runs/x/cancel`, 'OPTIONS', {
      host,
      origin: LISTED,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(LISTED);
    expect(preflight.headers['access-control-allow-headers']).toContain('content-type');
    const foreign = await send(`${base}/v1/runs/x/cancel`, 'OPTIONS', { host, origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    expect(foreign.status).toBe(403);
    expect(Object.keys(foreign.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('auth on: the browser guard does not apply', () => {
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    api = await startTestApi();
    base = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers any Host and Origin and a body-less POST with a key, and sends no CORS headers', async () => {
    const headers = { ...api.auth('operator'), host: 'api.example.com', origin: 'https://elsewhere.example' };
    const list = await send(`${base}/v1/runs`, 'GET', headers);
    expect(list.status).toBe(200);
    expect(Object.keys(list.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const run = await send(`${base}/v1/workflows/nap/runs`, 'POST', { ...headers, 'content-type': 'application/json' }, '{"input":{}}');
    expect(run.status).toBe(201);
    const cancelled = await send(`${base}/v1/runs/${run.body.id}/cancel`, 'POST', headers);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it('still refuses a request without a key', async () => {
    expect((await send(`${base}/v1/runs`, 'GET', { host: 'localhost' })).status).toBe(401);
  });
});
