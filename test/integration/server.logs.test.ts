/**
 * Request logs and run metrics: exactly one `http_request` access record per request, with
 * fixed fields and never a key, a query string or a forged client address; request logs can
 * be turned off; runs and steps counted.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import type { AppOptions } from '../../src/server/app.js';

type Line = Record<string, unknown>;

/** A logger at `info` whose lines are kept, parsed, in `lines`. */
function capture(): { lines: Line[]; logger: AppOptions['logger'] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination: sink }) };
}

/** Real HTTP requests close their connection, so no socket outlives its test. */
const CLOSE = { connection: 'close' };

const byRequest = (lines: Line[], id: string): Line[] => lines.filter((l) => l.request_id === id);

const { lines, logger } = capture();
let api: TestApi;
let base: string;

beforeAll(async () => {
  api = await startTestApi({ app: { logger } });
  base = await listen(api.app);
});
afterAll(async () => {
  await api.close();
});

describe('request logs', () => {
  it('writes exactly one http_request record per request, with fixed fields, no query string and never a key', async () => {
    await api.app.inject({
      url: '/v1/runs?limit=1&token=query-secret-0123',
      headers: { 'x-request-id': 'log-1', authorization: `Bearer ${KEYS.viewer}`, 'user-agent': 'log-test/1.0' },
    });
    await api.app.inject({ url: '/v1/runs', headers: { 'x-request-id': 'log-2', 'x-api-key': 'wrong-key-0123456789abcdef', cookie: 'session=secret' } });
    const mine = byRequest(lines, 'log-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 'info',
      event: 'http_request',
      method: 'GET',
      path: '/v1/runs',
      route: '/v1/runs',
      status_code: 200,
      principal: 'viewer',
      client_ip: '127.0.0.1',
      user_agent: 'log-test/1.0',
    });
    expect(typeof mine[0]!.duration_ms).toBe('number');
    expect(mine[0]).not.toHaveProperty('error');
    expect(byRequest(lines, 'log-2')).toMatchObject([
      { event: 'http_request', status_code: 401, route: '/v1/runs', error: 'unauthorized', message: 'the API key is not valid' },
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [KEYS.viewer, 'wrong-key-0123456789abcdef', 'session=secret', 'query-secret-0123']) expect(text).not.toContain(secret);
  });

  it('POST /v1/workflows/x/runs over HTTP: one record with the new run_id and the TCP peer as client_ip', async () => {
    const res = await fetch(`${base}/v1/workflows/hello/runs?wait=10s`, {
      method: 'POST',
      headers: { ...CLOSE, 'content-type': 'application/json', authorization: `Bearer ${KEYS.admin}`, 'x-request-id': 'log-start' },
      body: JSON.stringify({ input: { name: 'Ada' } }),
    });
    const run = (await res.json()) as { id: string };
    const mine = byRequest(lines, 'log-start');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      event: 'http_request',
      request_id: 'log-start',
      method: 'POST',
      path: '/v1/workflows/hello/runs',
      route: '/v1/workflows/:name/runs',
      status_code: 200,
      client_ip: '127.0.0.1',
      run_id: run.id,
      principal: 'admin',
    });
    expect(typeof mine[0]!.duration_ms).toBe('number');

    await api.app.inject({ url: `/v1/runs/${run.id}`, headers: { ...api.auth('viewer'), 'x-request-id': 'log-get' } });
    expect(byRequest(lines, 'log-get')).toMatchObject([{ event: 'http_request', route: '/v1/runs/:id', run_id: run.id }]);
  });

  it('a failed request adds the problem code and message', async () => {
    await api.app.inject({ method: 'POST', url: '/v1/workflows/nope/runs', headers: { ...api.auth('admin'), 'x-request-id': 'log-fail' }, payload: {} });
    expect(byRequest(lines, 'log-fail')).toMatchObject([
      { event: 'http_request', status_code: 404, path: '/v1/workflows/nope/runs', error: 'not_found', message: expect.stringContaining('nope') as unknown },
    ]);
    await api.app.inject({ url: '/no/such/route?x=1', headers: { 'x-request-id': 'log-404' } });
    expect(byRequest(lines, 'log-404')).toMatchObject([{ event: 'http_request', route: 'unmatched', path: '/no/such/route', error: 'not_found' }]);
  });

  it('does not believe X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    await fetch(`${base}/livez`, { headers: { ...CLOSE, 'x-forwarded-for': '1.2.3.4', 'x-request-id': 'log-xff' } });
    expect(byRequest(lines, 'log-xff')).toMatchObject([{ event: 'http_request', client_ip: '127.0.0.1' }]);
  });
});

describe('request logs behind a trusted proxy, and turned off', () => {
  it('takes client_ip from X-Forwarded-For when the peer is a trusted proxy', async () => {
    const proxied = capture();
    const behind = await startTestApi({ start: false, app: { logger: proxied.logger, trustedProxies: ['127.0.0.1'] } });
    try {
      await fetch(`${await listen(behind.app)}/livez`, { headers: { ...CLOSE, 'x-forwarded-for': '1.2.3.4', 'x-request-id': 'xff-trusted' } });
      expect(byRequest(proxied.lines, 'xff-trusted')).toMatchObject([{ event: 'http_request', client_ip: '1.2.3.4' }]);
    } finally {
      await behind.close();
    }
  });

  it('with requestLogs false writes no http_request record, and other logs go on', async () => {
    const quiet = capture();
    const off = await startTestApi({ start: false, app: { logger: quiet.logger, requestLogs: false } });
    try {
      expect((await off.app.inject({ url: '/livez' })).statusCode).toBe(200);
      expect((await off.app.inject({ url: '/v1/runs' })).statusCode).toBe(401);
      off.app.log.warn('still logging');
      // No access record, and no other per-request line in its place.
      expect(quiet.lines.filter((l) => l.event === 'http_request' || l.request_id !== undefined)).toEqual([]);
      expect(quiet.lines.map((l) => l.msg)).toContain('still logging');
    } finally {
      await off.close();
    }
  });
});

describe('run metrics', () => {
  it('counts started and finished runs by workflow and finished steps by kind', async () => {
    const admin = api.auth('admin');
    const res = await api.app.inject({ method: 'POST', url: '/v1/workflows/hello/runs?wait=10s', headers: admin, payload: { input: { name: 'Ada' } } });
    expect(res.json().status).toBe('succeeded');
    const text = (await api.app.inject({ url: '/metrics', headers: admin })).body;
    expect(text).toMatch(/^agentry_runs_started_total\{workflow="hello"\} [1-9]/m);
    expect(text).toMatch(/^agentry_runs_finished_total\{workflow="hello",status="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^agentry_steps_finished_total\{kind="transform",status="succeeded"\} [2-9]/m);
    expect(text).toMatch(/^agentry_http_request_duration_seconds_count\{method="POST",route="\/v1\/workflows\/:name\/runs",status_code="200"\} 2$/m);
    expect(text).toMatch(/^agentry_queue_depth \d+$/m);
    expect(text).toMatch(/^agentry_attempts_in_flight\{workflow="hello"\} \d+$/m);
  });
});
