/** Runs over HTTP (app.inject): start, idempotency, wait, list, get, cancel, retry, events, errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let admin: Record<string, string>;

beforeAll(async () => {
  api = await startTestApi({ app: { maxBodyBytes: 4096 } });
  admin = api.auth('admin');
});
afterAll(async () => {
  await api.close();
});

const start = (body: unknown, headers: Record<string, string> = {}, query = '') =>
  api.app.inject({ method: 'POST', url: `/v1/workflows/hello/runs${query}`, headers: { ...admin, ...headers }, payload: body as object });

async function runCount(): Promise<number> {
  return (await api.store.listRuns({ limit: 200 })).items.length;
}

describe('Idempotency-Key', () => {
  it('replays the first run for the same key and body (keys in any order), creating one run', async () => {
    const before = await runCount();
    const first = await start({ input: { name: 'Ada' }, priority: 3 }, { 'idempotency-key': 'order-1' });
    const again = await start({ priority: 3, input: { name: 'Ada' } }, { 'idempotency-key': '  order-1  ' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await runCount()).toBe(before + 1);
  });

  it('answers 409 idempotency_conflict for the same key with a different body, creating nothing', async () => {
    await start({ input: { name: 'Ada' } }, { 'idempotency-key': 'order-2' });
    const before = await runCount();
    const res = await start({ input: { name: 'Grace' } }, { 'idempotency-key': 'order-2' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'idempotency_conflict', status: 409 });
    expect(await runCount()).toBe(before);
  });

  it('answers 400 for a blank key or one of 257 characters, and accepts 256', async () => {
    const before = await runCount();
    for (const key of ['', '   ', 'k'.repeat(257)]) {
      const res = await start({ input: { name: 'Ada' } }, { 'idempotency-key': key });
      expect(res.statusCode, JSON.stringify(key)).toBe(400);
      expect(res.json().code).toBe('invalid_idempotency_key');
    }
    expect(await runCount()).toBe(before);
    expect((await start({ input: { name: 'Ada' } }, { 'idempotency-key': 'k'.repeat(256) })).statusCode).toBe(201);
  });
});

describe('runs', () => {
  it('starts a run and, with ?wait=, answers 200 with the finished run, or 202 when it has not ended', async () => {
    const done = await start({ input: { name: 'Ada' } }, {}, '?wait=10s');
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'succeeded', output: { message: 'Hello, Ada!' } });
    expect(done.headers.location).toBe(`/v1/runs/${done.json().id}`);
    const napping = await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs?wait=200ms', headers: admin, payload: {} });
    expect(napping.statusCode).toBe(202);
    expect(napping.json().status).not.toBe('succeeded');
  });

  it('rejects input that does not match the workflow schema, and unknown workflows, as problems', async () => {
    const bad = await start({ input: { nom: 'Ada' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('input_invalid');
    const missing = await api.app.inject({ method: 'POST', url: '/v1/workflows/nope/runs', headers: admin, payload: {} });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('gets a run with its steps: status, attempt, timings and output', async () => {
    const { id } = (await start({ input: { name: 'Ada' } }, {}, '?wait=10s')).json();
    const res = await api.app.inject({ url: `/v1/runs/${id}`, headers: admin });
    expect(res.statusCode).toBe(200);
    const run = res.json();
    expect(run.steps.map((s: { id: string }) => s.id)).toEqual(['greet', 'done']);
    expect(run.steps[0]).toMatchObject({ kind: 'transform', status: 'succeeded', attempt: 1, output: { greeting: 'Hello, Ada!' } });
    expect(run.steps[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect((await api.app.inject({ url: '/v1/runs/run_missing', headers: admin })).statusCode).toBe(404);
  });

  it('lists runs with filters and cursor pagination that visits each run once', async () => {
    for (let i = 0; i < 5; i++) await start({ input: { name: `p${i}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; json: () => { items: { id: string }[]; next_cursor: string | null } } = await api.app.inject({
        url: `/v1/runs?workflow=hello&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: admin,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r: { id: string }) => r.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe((await api.store.listRuns({ workflow: 'hello', limit: 200 })).items.length);
    const napping = await api.app.inject({ url: '/v1/runs?status=queued,running,waiting&workflow=nap', headers: admin });
    expect(napping.json().items.every((r: { workflow: string; status: string }) => r.workflow === 'nap' && r.status !== 'succeeded')).toBe(true);
    const future = await api.app.inject({ url: `/v1/runs?created_after=${new Date(Date.now() + 60_000).toISOString()}`, headers: admin });
    expect(future.json()).toEqual({ items: [], next_cursor: null });
    expect((await api.app.inject({ url: '/v1/runs?limit=201', headers: admin })).statusCode).toBe(400);
    expect((await api.app.inject({ url: '/v1/runs?cursor=%21%21', headers: admin })).statusCode).toBe(400);
  });

  it('cancels a running run, and answers 409 conflict for one that has ended', async () => {
    const id = (await api.engine.startRun('nap', {})).id;
    const res = await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/cancel`, headers: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('cancelled');
    const again = await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/cancel`, headers: admin });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('conflict');
  });

  it('retries a cancelled run as a new run with the same input, linked by retry_of; an unknown from_step is 400', async () => {
    const id = (await api.engine.startRun('hello', { name: 'Ada' })).id;
    await api.engine.waitForRun(id, { timeoutMs: 10_000 });
    expect((await api.app.inject({ method: 'POST', url: `/v1/runs/${id}/retry`, headers: admin })).statusCode).toBe(409);
    const nap = (await api.engine.startRun('nap', { x: 1 })).id;
    await api.engine.cancelRun(nap);
    const res = await api.app.inject({ method: 'POST', url: `/v1/runs/${nap}/retry`, headers: admin, payload: {} });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ workflow: 'nap', input: { x: 1 }, retry_of: nap });
    expect(res.json().id).not.toBe(nap);
    const fromStep = await api.app.inject({ method: 'POST', url: `/v1/runs/${nap}/retry`, headers: admin, payload: { from_step: 'longer' } });
    expect(fromStep.statusCode).toBe(400);
    expect(fromStep.json()).toMatchObject({ code: 'invalid_request', detail: expect.stringContaining("has no step 'longer'") });
  });

  it("pages a run's events as JSON after a given seq", async () => {
    const { id } = (await start({ input: { name: 'Ada' } }, {}, '?wait=10s')).json();
    const all = (await api.app.inject({ url: `/v1/runs/${id}/events`, headers: admin })).json();
    expect(all.items[0]).toMatchObject({ seq: 1, type: 'run.created' });
    expect(all.items.at(-1).type).toBe('run.succeeded');
    const page = (await api.app.inject({ url: `/v1/runs/${id}/events?after=2&limit=2`, headers: admin })).json();
    expect(page.items.map((e: { seq: number }) => e.seq)).toEqual([3, 4]);
    expect(page.next_after).toBe(4);
  });
});

describe('errors and request ids', () => {
  it('echoes a sane X-Request-ID and generates a UUID otherwise, on every response', async () => {
    const echoed = await api.app.inject({ url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    for (const bad of ['x'.repeat(129), 'has space', 'tab\there']) {
      const res = await api.app.inject({ url: '/livez', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const problem = await api.app.inject({ url: '/nowhere', headers: { 'x-request-id': 'req-9' } });
    expect(problem.json().request_id).toBe('req-9');
  });

  it('answers unknown routes 404, unknown methods 405 with Allow, big bodies 413 and other media 415, all as problem+json', async () => {
    const cases = [
      { req: { url: '/v2/nothing' }, status: 404, code: 'not_found' },
      { req: { method: 'DELETE' as const, url: '/v1/runs/abc' }, status: 405, code: 'method_not_allowed' },
      {
        req: { method: 'POST' as const, url: '/v1/workflows/hello/runs', headers: admin, payload: { input: { name: 'x'.repeat(5000) } } },
        status: 413,
        code: 'payload_too_large',
      },
      {
        req: { method: 'POST' as const, url: '/v1/workflows/hello/runs', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'hi' },
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        req: { method: 'POST' as const, url: '/v1/workflows/hello/runs', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"input":' },
        status: 400,
        code: 'invalid_request',
      },
    ];
    for (const c of cases) {
      const res = await api.app.inject(c.req);
      expect(res.statusCode, c.code).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ type: `urn:agentry:error:${c.code}`, code: c.code, status: c.status, request_id: res.headers['x-request-id'] });
    }
    expect((await api.app.inject({ method: 'DELETE', url: '/v1/runs/abc' })).headers.allow).toBe('GET');
  });
});
