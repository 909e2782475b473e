/**
 * The typed client (`agentry/client`) against a live server on loopback, behind a proxy that
 * loses answers and drops connections on purpose: a run start whose answer was lost is retried
 * with the same Idempotency-Key (one run), listings iterate every page, a followed event stream
 * cut mid-run resumes with Last-Event-ID (no event lost or repeated), waitForRun, cancel and
 * retry, and the server's problems as typed `AgentryApiError`s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentryApiError, AgentryWaitTimeoutError, createAgentryClient, type AgentryClient, type RunEvent } from '../../src/client/index.js';
import { VERSION } from '../../src/lib/version.js';
import { poolFetch, useClientPool } from '../helpers/client.js';
import { startHttpProxy, type HttpProxy } from '../helpers/http-proxy.js';
import { KEYS, listen, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';

let api: TestApi;
let proxy: HttpProxy;
let client: AgentryClient;
useClientPool();

beforeAll(async () => {
  api = await startTestApi({
    app: { version: VERSION },
    workflows: [...WORKFLOWS, { name: 'listed', steps: { a: { transform: 1 } } }, { name: 'breaks', steps: { a: { transform: '{{ input.nope.deeper }}' } } }],
  });
  const url = await listen(api.app);
  proxy = await startHttpProxy(Number(new URL(url).port));
  client = createAgentryClient({ url: proxy.url, apiKey: KEYS.operator, retryDelayMs: 20, fetch: poolFetch });
});
afterAll(async () => {
  await proxy?.close();
  await api?.close();
});

describe('runs', () => {
  it('starts a run once when its answer is lost: the retry carries the same Idempotency-Key and gets the first run back', async () => {
    const before = proxy.requests.length;
    proxy.dropNext('POST /v1/workflows/hello/runs');
    const { run, replayed } = await client.runs.start('hello', { input: { name: 'Ada' } });
    expect(replayed).toBe(true);
    expect(run.workflow).toBe('hello');
    const posts = proxy.requests.slice(before).filter((head) => head.startsWith('POST /v1/workflows/hello/runs'));
    expect(posts).toHaveLength(2);
    const keys = posts.map((head) => /\r\nidempotency-key: (.+)\r\n/i.exec(head)?.[1]);
    expect(keys[0]).toMatch(/^agentry-client-/);
    expect(keys[1]).toBe(keys[0]);
    const all = await client.runs.list({ workflow: 'hello' }).toArray();
    expect(all.filter((r) => r.input !== undefined && JSON.stringify(r.input) === JSON.stringify({ name: 'Ada' }))).toHaveLength(1);
    const ended = await client.waitForRun(run.id, { timeoutMs: 30_000 });
    expect(ended.status).toBe('succeeded');
  });

  it('a second start with another key is another run; the same key with another input is idempotency_conflict', async () => {
    const first = await client.runs.start('hello', { input: { name: 'Bo' }, idempotencyKey: 'bo-1' });
    const again = await client.runs.start('hello', { input: { name: 'Bo' }, idempotencyKey: 'bo-1' });
    expect(again).toMatchObject({ replayed: true, run: { id: first.run.id } });
    const other = await client.runs.start('hello', { input: { name: 'Bo' } });
    expect(other.run.id).not.toBe(first.run.id);
    const error = await client.runs.start('hello', { input: { name: 'Cy' }, idempotencyKey: 'bo-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryApiError);
    expect(error).toMatchObject({ status: 409, code: 'idempotency_conflict' });
  });

  it('iterates every page of a listing with for await', async () => {
    const started = [];
    for (let i = 0; i < 5; i++) started.push((await client.runs.start('listed')).run.id);
    const seen: string[] = [];
    for await (const run of client.runs.list({ workflow: 'listed', limit: 2 })) seen.push(run.id);
    expect(seen.sort()).toEqual([...started].sort());
    const pages = [];
    for await (const page of client.runs.list({ workflow: 'listed', limit: 2 }).pages()) pages.push(page.items.length);
    expect(pages).toEqual([2, 2, 1]);
  });

  it('follows a run over SSE through a dropped connection: resumed with Last-Event-ID, every event once and in order', async () => {
    const { run } = await client.runs.start('slow');
    const before = proxy.requests.length;
    const events: RunEvent[] = [];
    let cut = false;
    for await (const event of client.runs.follow(run.id, { reconnectDelayMs: 20 })) {
      events.push(event);
      if (!cut) {
        cut = true;
        proxy.cut();
      }
    }
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(events.at(-1)?.type).toBe('run.succeeded');
    const stored = await client.runs.allEvents(run.id);
    expect(stored.map((e) => e.seq)).toEqual(seqs);
    const streams = proxy.requests.slice(before).filter((head) => head.startsWith(`GET /v1/runs/${run.id}/events`));
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams[0]).toMatch(/\r\nlast-event-id: 0\r\n/i);
    expect(streams[1]).toMatch(/\r\nlast-event-id: [1-9]\d*\r\n/i);
  });

  it("follows the runs' changes over SSE through a dropped connection: resumed with Last-Event-ID, no change lost", async () => {
    const before = proxy.requests.length;
    const seen: { id: string; type: string; status: string; position: string }[] = [];
    const changes = client.runs.changes({ workflow: 'hello', reconnectDelayMs: 20 });
    const first = changes.next();
    const { run: a } = await client.runs.start('hello', { input: { name: 'Ed' } });
    const head = (await first).value!;
    seen.push({ id: head.run.id, type: head.type, status: head.run.status, position: head.id });
    proxy.cut();
    // Made while (or after) the stream was down: it comes on the resumed stream.
    const { run: b } = await client.runs.start('hello', { input: { name: 'Flo' } });
    for await (const change of changes) {
      seen.push({ id: change.run.id, type: change.type, status: change.run.status, position: change.id });
      // Leaving the loop closes the stream.
      if (change.run.id === b.id && change.type === 'run.succeeded') break;
    }
    for (const id of [a.id, b.id]) {
      expect(new Set(seen.filter((c) => c.id === id).map((c) => c.type))).toEqual(new Set(['run.created', 'run.started', 'run.succeeded']));
    }
    expect(seen.find((c) => c.id === b.id && c.type === 'run.succeeded')?.status).toBe('succeeded');
    const streams = proxy.requests.slice(before).filter((h) => h.startsWith('GET /v1/runs/stream?workflow=hello'));
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams[0]).not.toMatch(/\r\nlast-event-id:/i);
    // Resumed after a change it had yielded (frames read before the cut are yielded first).
    const resumedAfter = /\r\nlast-event-id: (\S+)\r\n/i.exec(streams[1]!)?.[1];
    expect(seen.map((c) => c.position)).toContain(resumedAfter);
  });

  it('waitForRun resolves with the ended run, and gives up after timeoutMs with the run as it was', async () => {
    const { run } = await client.runs.start('hello', { input: { name: 'Di' } });
    const ended = await client.waitForRun(run.id, { timeoutMs: 30_000 });
    expect(ended).toMatchObject({ id: run.id, status: 'succeeded', output: { message: 'Hello, Di!' } });

    const napping = (await client.runs.start('nap')).run;
    const error = await client.waitForRun(napping.id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryWaitTimeoutError);
    expect((error as AgentryWaitTimeoutError<{ id: string; status: string }>).run).toMatchObject({ id: napping.id });
    expect(['queued', 'running', 'waiting']).toContain((error as AgentryWaitTimeoutError<{ status: string }>).run.status);
    const cancelled = await client.runs.cancel(napping.id, 'done napping');
    expect(cancelled.status).toBe('cancelled');
  });

  it('starts with waitMs (the server waits), gets, retries a failed run, and reads a step’s attempts', async () => {
    const waited = await client.runs.start('hello', { input: { name: 'Ed' }, waitMs: 30_000 });
    expect(waited).toMatchObject({ ended: true, run: { status: 'succeeded' } });
    const detail = await client.runs.get(waited.run.id);
    expect(detail.steps.map((s) => s.id)).toEqual(['greet', 'done']);
    const attempts = await client.runs.attempts(waited.run.id, 'greet');
    expect(attempts.items.length).toBe(1);

    const broken = await client.runs.start('breaks', { waitMs: 30_000 });
    expect(broken.run.status).toBe('failed');
    const retried = await client.runs.retry(broken.run.id);
    expect(retried.retry_of).toBe(broken.run.id);
  });
});

describe('typed errors', () => {
  it('404: not_found with the detail and the request id', async () => {
    const error = await client.runs.get('run_missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryApiError);
    const e = error as AgentryApiError;
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
    expect(e.detail).toMatch(/run_missing/);
    expect(e.requestId).toMatch(/.+/);
    expect(e.problem.type).toBe('urn:agentry:error:not_found');
  });

  it('400: input_invalid and invalid_request, with the problem’s extra members', async () => {
    const invalid = await client.runs.start('hello', { input: { name: 5 } }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: 'input_invalid' });
    const bad = await client.runs.page({ limit: 0 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(Array.isArray((bad as AgentryApiError).member('errors'))).toBe(true);
  });

  it('403 for a viewer starting a run, 401 without a key (no retries for either)', async () => {
    const viewer = createAgentryClient({ url: proxy.url, apiKey: KEYS.viewer, fetch: poolFetch });
    const before = proxy.requests.length;
    await expect(viewer.runs.start('hello', { input: { name: 'V' } })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(proxy.requests.slice(before).filter((h) => h.startsWith('POST ')).length).toBe(1);
    const nobody = createAgentryClient({ url: proxy.url, fetch: poolFetch });
    await expect(nobody.runs.page()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
