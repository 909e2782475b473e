/** Request logs and run metrics: one redacted JSON line per request; runs and steps counted. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ app: { logger: createLogger({ level: 'info', destination: sink }) } });
});
afterAll(async () => {
  await api.close();
});

describe('request logs', () => {
  it('writes one line per request with method, route, status, duration and request_id, and never a key', async () => {
    await api.app.inject({ url: '/v1/runs?limit=1', headers: { 'x-request-id': 'log-1', authorization: `Bearer ${KEYS.viewer}` } });
    await api.app.inject({ url: '/v1/runs', headers: { 'x-request-id': 'log-2', 'x-api-key': 'wrong-key-0123456789abcdef', cookie: 'session=secret' } });
    const mine = lines.filter((l) => l.request_id === 'log-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 'info', method: 'GET', route: '/v1/runs', status: 200, principal: 'viewer', msg: 'request' });
    expect(typeof mine[0]!.duration_ms).toBe('number');
    expect(lines.filter((l) => l.request_id === 'log-2')).toMatchObject([{ status: 401, route: '/v1/runs' }]);
    const text = JSON.stringify(lines);
    for (const secret of [KEYS.viewer, 'wrong-key-0123456789abcdef', 'session=secret']) expect(text).not.toContain(secret);
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
    expect(text).toMatch(/^agentry_http_request_duration_seconds_count\{method="POST",route="\/v1\/workflows\/:name\/runs",status_code="200"\} 1$/m);
    expect(text).toMatch(/^agentry_queue_depth \d+$/m);
    expect(text).toMatch(/^agentry_attempts_in_flight \d+$/m);
  });
});
