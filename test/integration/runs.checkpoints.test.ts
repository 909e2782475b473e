/**
 * Checkpoints and checkpoint diff (`GET /v1/runs/{id}/checkpoints[/diff]`, `agentry runs
 * checkpoints`, ENG-19) on both stores: a run whose `http` step fails once (503) and succeeds on
 * its retry lists each state change, and the diff between the retry and the success shows the
 * step's new attempt, its cleared error and the output of the attempt that succeeded; bad and
 * unknown checkpoints are 400 and 404; the CLI prints the same locally and against a server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { cliStoreTargets, storeFactories, tempDir } from '../helpers/store.js';

interface Checkpoint {
  seq: number;
  type: string;
  step_id: string | null;
  attempt: number | null;
  at: string;
}
interface Change {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** Answers 503 to the first request of each path, then `{ price }` from the path. */
async function flakyServer(): Promise<{ url: string; server: Server }> {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    const first = !seen.has(req.url ?? '');
    seen.add(req.url ?? '');
    if (first) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ price: Number(req.url?.split('/').pop()) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function flakyWorkflow(url: string): Record<string, unknown> {
  return {
    name: 'quote',
    steps: {
      fetch: { http: { url: `${url}/price/{{ input.price }}` }, retry: { max_attempts: 2, initial: '10ms', max: '10ms' } },
      total: { needs: ['fetch'], transform: { price: '{{ steps.fetch.output.body.price }}' } },
    },
    output: '{{ steps.total.output }}',
  };
}

const byPath = (changes: Change[]) => new Map(changes.map((c) => [c.path, c]));

describe.each(storeFactories)('checkpoints over HTTP ($name)', { timeout: 60_000 }, (factory) => {
  let api: TestApi;
  let flaky: { url: string; server: Server };
  let price = 100;

  beforeAll(async () => {
    flaky = await flakyServer();
    api = await startTestApi({ factory, workflows: [flakyWorkflow(flaky.url)], engine: { pollIntervalMs: 25 } });
  });
  afterAll(async () => {
    await api.close();
    flaky.server.close();
  });

  async function quoteRun(): Promise<{ id: string; price: number }> {
    price += 1;
    const res = await api.app.inject({ method: 'POST', url: '/v1/workflows/quote/runs?wait=20s', payload: { input: { price } }, headers: api.auth('admin') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'succeeded' });
    return { id: res.json<{ id: string }>().id, price };
  }

  async function checkpoints(id: string): Promise<Checkpoint[]> {
    const res = await api.app.inject({ url: `/v1/runs/${id}/checkpoints?limit=1000`, headers: api.auth('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<{ run_id: string; items: Checkpoint[]; next_after: number | null }>();
    expect(page).toMatchObject({ run_id: id, next_after: null });
    return page.items;
  }

  it("lists each change of the run's state, oldest first, with its step and attempt", async () => {
    const run = await quoteRun();
    const items = await checkpoints(run.id);
    expect(items[0]).toMatchObject({ type: 'run.created', step_id: null, attempt: null });
    expect(items.at(-1)).toMatchObject({ type: 'run.succeeded', step_id: null });
    expect(items.map((c) => c.seq)).toEqual([...items.map((c) => c.seq)].sort((a, b) => a - b));
    const fetch = items.filter((c) => c.step_id === 'fetch').map((c) => `${c.type}#${c.attempt ?? '-'}`);
    expect(fetch).toEqual(expect.arrayContaining(['step.retry_scheduled#1', 'step.succeeded#2']));
    expect(fetch.indexOf('step.retry_scheduled#1')).toBeLessThan(fetch.indexOf('step.succeeded#2'));
    // Paged by event: two pages of a few hold the same checkpoints.
    const first = (await api.app.inject({ url: `/v1/runs/${run.id}/checkpoints?limit=3`, headers: api.auth('viewer') })).json<{
      items: Checkpoint[];
      next_after: number;
    }>();
    expect(first.items).toEqual(items.slice(0, 3));
    const rest = (await api.app.inject({ url: `/v1/runs/${run.id}/checkpoints?after=${first.next_after}&limit=1000`, headers: api.auth('viewer') })).json<{
      items: Checkpoint[];
    }>();
    expect([...first.items, ...rest.items]).toEqual(items);
  });

  it("shows the retried step's new attempt, cleared error and the output of the attempt that succeeded", async () => {
    const run = await quoteRun();
    const items = await checkpoints(run.id);
    const retried = items.find((c) => c.step_id === 'fetch' && c.type === 'step.retry_scheduled')!;
    const succeeded = items.find((c) => c.step_id === 'fetch' && c.type === 'step.succeeded')!;
    const res = await api.app.inject({ url: `/v1/runs/${run.id}/checkpoints/diff?from=${retried.seq}&to=${succeeded.seq}`, headers: api.auth('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    const diff = res.json<{ run_id: string; from: Checkpoint; to: Checkpoint; differences: Change[]; truncated: boolean; limit: number }>();
    expect(diff).toMatchObject({ run_id: run.id, from: retried, to: succeeded, truncated: false, limit: 1000 });
    const changes = byPath(diff.differences);
    expect(changes.get('/steps/fetch/status')).toEqual({ path: '/steps/fetch/status', before: 'queued', after: 'succeeded' });
    expect(changes.get('/steps/fetch/attempt')).toEqual({ path: '/steps/fetch/attempt', before: 1, after: 2 });
    expect(changes.get('/steps/fetch/error')).toMatchObject({ before: { code: 'http_status' }, after: null });
    const output = changes.get('/steps/fetch/output');
    expect(output).toMatchObject({ before: null, after: { status: 200, body: { price: run.price } } });
    // The output is the one of attempt 2, as the attempts table keeps it.
    const attempts = (await api.app.inject({ url: `/v1/runs/${run.id}/steps/fetch/attempts`, headers: api.auth('viewer') })).json<{
      items: { attempt: number; output: unknown }[];
    }>();
    expect(attempts.items.find((a) => a.attempt === 2)?.output).toEqual(output?.after);
    // Nothing else changed between the two: the run was running, `total` pending.
    expect([...changes.keys()].every((p) => p.startsWith('/steps/fetch/'))).toBe(true);

    // From the first checkpoint to the last: the run's end and both steps' outputs.
    const whole = await api.app.inject({
      url: `/v1/runs/${run.id}/checkpoints/diff?from=${items[0]!.seq}&to=${items.at(-1)!.seq}`,
      headers: api.auth('viewer'),
    });
    const all = byPath(whole.json<{ differences: Change[] }>().differences);
    expect(all.get('/status')).toEqual({ path: '/status', before: 'queued', after: 'succeeded' });
    expect(all.get('/output')).toEqual({ path: '/output', before: null, after: { price: run.price } });
    expect(all.get('/steps/total/output')).toEqual({ path: '/steps/total/output', before: null, after: { price: run.price } });
    expect(all.get('/steps/fetch/error')).toBeUndefined();

    const same = await api.app.inject({ url: `/v1/runs/${run.id}/checkpoints/diff?from=${retried.seq}&to=${retried.seq}`, headers: api.auth('viewer') });
    expect(same.json()).toMatchObject({ differences: [], truncated: false });
    const capped = await api.app.inject({
      url: `/v1/runs/${run.id}/checkpoints/diff?from=${items[0]!.seq}&to=${items.at(-1)!.seq}&limit=1`,
      headers: api.auth('viewer'),
    });
    expect(capped.json()).toMatchObject({ truncated: true, limit: 1 });
  });

  it('answers 404 for an unknown run or checkpoint and 400 for bad values or from after to', async () => {
    const run = await quoteRun();
    const items = await checkpoints(run.id);
    const last = items.at(-1)!.seq;
    const get = (q: string, id = run.id) => api.app.inject({ url: `/v1/runs/${id}/checkpoints/diff?${q}`, headers: api.auth('admin') });
    const unknown = await get(`from=1&to=${last + 100}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'not_found' });
    expect(unknown.json<{ detail: string }>().detail).toContain(`no checkpoint ${last + 100}`);
    expect((await get('from=1&to=1', 'run_nope')).statusCode).toBe(404);
    expect((await api.app.inject({ url: '/v1/runs/run_nope/checkpoints', headers: api.auth('admin') })).statusCode).toBe(404);
    for (const q of [`from=${last}&to=1`, 'from=0&to=1', 'from=a&to=2', 'to=2', 'from=1', 'from=1&to=2&limit=0', 'from=1.5&to=2']) {
      const res = await get(q);
      expect(res.statusCode, `${q}: ${res.body}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await get(`from=${last}&to=1`)).json<{ detail: string }>().detail).toContain('is after to');
  });
});

describe('agentry runs checkpoints against a server', { timeout: 60_000 }, () => {
  let api: TestApi;
  let flaky: { url: string; server: Server };
  let url: string;

  beforeAll(async () => {
    flaky = await flakyServer();
    api = await startTestApi({ workflows: [flakyWorkflow(flaky.url)], engine: { pollIntervalMs: 25 } });
    url = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
    flaky.server.close();
  });

  it('lists the checkpoints and prints the diff of two, with --json the API answer', async () => {
    const started = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/quote/runs?wait=20s',
      payload: { input: { price: 7 } },
      headers: api.auth('admin'),
    });
    const id = started.json<{ id: string }>().id;
    const env = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer };
    const list = await runCliInProcess(['runs', 'checkpoints', id, '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const items = JSON.parse(list.stdout).items as Checkpoint[];
    const retried = items.find((c) => c.type === 'step.retry_scheduled')!;
    const succeeded = items.find((c) => c.step_id === 'fetch' && c.type === 'step.succeeded')!;
    const text = await runCliInProcess(['runs', 'checkpoints', id], { env });
    expect(text.stdout).toMatch(new RegExp(`${retried.seq}\\s+\\S+ \\S+\\s+step.retry_scheduled\\s+fetch\\s+1`));
    const diff = await runCliInProcess(['runs', 'checkpoints', id, '--diff', `${retried.seq},${succeeded.seq}`], { env });
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain(`checkpoint #${retried.seq} step.retry_scheduled fetch → #${succeeded.seq} step.succeeded fetch`);
    expect(diff.stdout).toContain('~ /steps/fetch/attempt  1 → 2');
    expect(diff.stdout).toContain('~ /steps/fetch/status  "queued" → "succeeded"');
    const json = await runCliInProcess(['runs', 'checkpoints', id, '--diff', `${retried.seq},${succeeded.seq}`, '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ run_id: id, from: { seq: retried.seq }, to: { seq: succeeded.seq } });

    const backwards = await runCliInProcess(['runs', 'checkpoints', id, '--diff', `${succeeded.seq},${retried.seq}`], { env });
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('earlier checkpoint first');
    const missing = await runCliInProcess(['runs', 'checkpoints', id, '--diff', '1,99999'], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('not_found');
    // The CLI's keep-alive connection to the server ends with the test.
    api.app.server.closeAllConnections();
  });
});

describe.each(cliStoreTargets)('agentry runs checkpoints on the project store ($name)', { timeout: 60_000 }, (target) => {
  let dir: { dir: string; remove: () => void };
  let env: Record<string, string>;
  let done: () => Promise<void>;
  const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { env, cwd: dir.dir });

  beforeAll(async () => {
    dir = tempDir('agentry-checkpoints-');
    mkdirSync(join(dir.dir, 'workflows'));
    writeFileSync(join(dir.dir, 'workflows/prices.yaml'), 'name: prices\nsteps:\n  fetch:\n    transform: { price: "{{ input.price }}" }\n');
    ({ env, done } = await target.env());
  }, 60_000);
  afterAll(async () => {
    await done();
    dir.remove();
  });

  it("lists a local run's checkpoints and diffs two", async () => {
    const started = await cli(['run', 'prices', '-i', '{"price":"9"}', '--wait', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).id as string;
    const list = await cli(['runs', 'checkpoints', id, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const items = JSON.parse(list.stdout).items as Checkpoint[];
    const first = items[0]!;
    const done = items.find((c) => c.step_id === 'fetch' && c.type === 'step.succeeded')!;
    const diff = await cli(['runs', 'checkpoints', id, '--diff', `${first.seq},${done.seq}`, '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(byPath(JSON.parse(diff.stdout).differences).get('/steps/fetch/output')).toEqual({
      path: '/steps/fetch/output',
      before: null,
      after: { price: '9' },
    });
    const missing = await cli(['runs', 'checkpoints', 'run_nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not_found');
  });
});
