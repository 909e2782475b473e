/**
 * Re-runs over HTTP (app.inject): `POST /v1/runs/{id}/retry` with and without `from_step`, the
 * run DTO's `retry_of` / `parent` / `children`, and `GET /v1/runs/{id}/steps/{step}/attempts`
 * with `?diff=a,b`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let server: TestServer;
let admin: Record<string, string>;
/** Requests to `c` fail while this is above zero. */
let failures = 0;

beforeAll(async () => {
  let calls = 0;
  server = await startServer((_req, res) => {
    calls++;
    if (failures > 0) {
      failures--;
      json(res, 500, { error: 'down' });
    } else json(res, 200, { call: calls });
  });
  api = await startTestApi({
    workflows: [
      {
        name: 'chain',
        steps: {
          a: { transform: { n: '{{ input.n }}' } },
          b: { needs: ['a'], transform: { n: '{{ steps.a.output.n + 1 }}' } },
          c: { needs: ['b'], http: { url: `${server.url}/c?n={{ steps.b.output.n }}&run={{ run.id }}` }, retry: { max_attempts: 1 } },
          d: { needs: ['c'], transform: { answer: '{{ steps.c.output.body }}' } },
        },
        output: '{{ steps.d.output }}',
      },
      { name: 'nap', steps: { long: { sleep: '1h' } } },
    ],
  });
  admin = api.auth('admin');
});
afterAll(async () => {
  await api.close();
  await server.close();
});

async function chainRun(failing: number): Promise<string> {
  failures = failing;
  const run = await api.engine.startRun('chain', { n: 1 });
  return (await api.engine.waitForRun(run.id, { timeoutMs: 10_000 })).id;
}

const retry = (id: string, body?: object) =>
  api.app.inject({ method: 'POST', url: `/v1/runs/${id}/retry`, headers: admin, ...(body ? { payload: body } : {}) });
const attempts = (id: string, step: string, query = '') => api.app.inject({ url: `/v1/runs/${id}/steps/${step}/attempts${query}`, headers: admin });

describe('POST /v1/runs/{id}/retry', () => {
  it('retries a failed run from its failed step (empty body), reusing the steps that succeeded', async () => {
    const failed = await chainRun(1);
    const res = await retry(failed);
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ workflow: 'chain', input: { n: 1 }, retry_of: failed, parent: null });
    expect(res.headers.location).toBe(`/v1/runs/${created.id}`);
    await api.engine.waitForRun(created.id, { timeoutMs: 10_000 });

    const detail = (await api.app.inject({ url: `/v1/runs/${created.id}`, headers: admin })).json();
    expect(detail).toMatchObject({ status: 'succeeded', retry_of: failed, parent: null, children: [] });
    expect(detail.steps.map((s: { id: string; status: string; attempt: number }) => [s.id, s.status, s.attempt])).toEqual([
      ['a', 'succeeded', 0],
      ['b', 'succeeded', 0],
      ['c', 'succeeded', 1],
      ['d', 'succeeded', 1],
    ]);
    // The run it retried has no retry_of itself.
    expect((await api.app.inject({ url: `/v1/runs/${failed}`, headers: admin })).json()).toMatchObject({ retry_of: null, status: 'failed' });
  });

  it('re-runs a succeeded run from a step with from_step', async () => {
    const succeeded = await chainRun(0);
    expect((await retry(succeeded)).json()).toMatchObject({ code: 'conflict' });
    const res = await retry(succeeded, { from_step: 'c' });
    expect(res.statusCode).toBe(201);
    const done = await api.engine.waitForRun(res.json().id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: 'succeeded', retryOf: succeeded });
    const steps = await api.store.getSteps(done.id);
    expect(Object.fromEntries(steps.map((s) => [s.stepId, s.attempt]))).toEqual({ a: 0, b: 0, c: 1, d: 1 });
  });

  it('answers 400 for an unknown from_step and 409 for a run that has not ended, creating nothing', async () => {
    const failed = await chainRun(1);
    const nap = (await api.engine.startRun('nap', {})).id;
    const before = (await api.store.listRuns({ limit: 200 })).items.length;
    const unknown = await retry(failed, { from_step: 'bb' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.json()).toMatchObject({ code: 'invalid_request', detail: expect.stringContaining("did you mean 'b'") });
    expect((await retry(failed, { from_step: '' })).statusCode).toBe(400);
    expect((await retry(failed, { from: 'b' })).statusCode).toBe(400);
    expect((await retry(nap)).json()).toMatchObject({ status: 409, code: 'conflict' });
    expect((await retry(nap, { from_step: 'long' })).json()).toMatchObject({ status: 409, code: 'conflict' });
    expect((await retry('run_nope', { from_step: 'a' })).statusCode).toBe(404);
    expect((await api.store.listRuns({ limit: 200 })).items.length).toBe(before);
    await api.engine.cancelRun(nap);
  });
});

describe('GET /v1/runs/{id}/steps/{step}/attempts', () => {
  it('lists the attempts across the retry chain and diffs two of them', async () => {
    const failed = await chainRun(1);
    const second = (await retry(failed)).json().id as string;
    await api.engine.waitForRun(second, { timeoutMs: 10_000 });

    const res = await attempts(second, 'c', '?diff=1,2');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.items.map((a: { run_id: string; attempt: number; status: string }) => [a.run_id, a.attempt, a.status])).toEqual([
      [failed, 1, 'failed'],
      [second, 1, 'succeeded'],
    ]);
    expect(body.items[0]).toMatchObject({ error: { code: 'http_status' }, output: null, worker_id: expect.any(String), started_at: expect.any(String) });
    expect(body.items[0].input).toEqual({ url: `${server.url}/c?n=2&run=${failed}` });
    expect(body.diff).toMatchObject({ from: 1, to: 2 });
    expect(body.diff.input).toEqual([{ path: '/url', before: `${server.url}/c?n=2&run=${failed}`, after: `${server.url}/c?n=2&run=${second}` }]);
    // The failed attempt had no output: the whole value appeared.
    expect(body.diff.output).toEqual([{ path: '', before: null, after: expect.objectContaining({ status: 200, body: { call: expect.any(Number) } }) }]);

    // A step the re-run reused shows the attempt of the run that ran it; no diff without ?diff.
    const reused = (await attempts(second, 'a')).json();
    expect(reused.items.map((a: { run_id: string }) => a.run_id)).toEqual([failed]);
    expect(reused.diff).toBeUndefined();
  });

  it('answers 400 for a malformed or out-of-range diff and 404 for an unknown run or step', async () => {
    const failed = await chainRun(1);
    for (const query of ['?diff=1,3', '?diff=0,1', '?diff=1', '?diff=a,b', '?diff=1,2,3']) {
      const res = await attempts(failed, 'c', query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code, query).toBe('invalid_request');
    }
    expect((await attempts(failed, 'c', '?diff=1,1')).json().diff).toEqual({ from: 1, to: 1, input: [], output: [] });
    const step = await attempts(failed, 'cc');
    expect(step.statusCode).toBe(404);
    expect(step.json()).toMatchObject({ code: 'not_found', detail: expect.stringContaining("did you mean 'c'") });
    expect((await attempts('run_nope', 'c')).statusCode).toBe(404);
  });
});
