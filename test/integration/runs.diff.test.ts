/**
 * Run diff (`GET /v1/runs/{a}/diff/{b}`, `agentry runs diff`) on both stores: two runs of one
 * workflow whose inputs and outputs differ, over HTTP and in the CLI on the project's store.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { cliStoreTargets, storeFactories, tempDir } from '../helpers/store.js';

const PRICES = {
  name: 'prices',
  steps: {
    fetch: { transform: { items: ['a', 'b', 'c', { price: '{{ input.price }}' }] } },
    total: { needs: ['fetch'], transform: { label: 'total {{ input.price }}' } },
  },
  output: '{{ steps.total.output }}',
};

const PRICES_YAML = `name: prices
steps:
  fetch:
    transform: { items: [a, b, c, { price: "{{ input.price }}" }] }
  total:
    needs: [fetch]
    transform: { label: "total {{ input.price }}" }
output: "{{ steps.total.output }}"
`;

describe.each(storeFactories)('run diff over HTTP ($name)', (factory) => {
  let api: TestApi;
  let admin: Record<string, string>;

  beforeAll(async () => {
    api = await startTestApi({ factory, workflows: [PRICES], engine: { pollIntervalMs: 25 } });
    admin = api.auth('admin');
  });
  afterAll(async () => {
    await api.close();
  });

  async function finishedRun(price: string, metadata: Record<string, string>): Promise<string> {
    const res = await api.app.inject({ method: 'POST', url: '/v1/workflows/prices/runs?wait=20s', payload: { input: { price }, metadata }, headers: admin });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ id: string }>().id;
  }

  it('answers the differences of two runs as JSON Pointer paths', async () => {
    const a = await finishedRun('10', { env: 'dev' });
    const b = await finishedRun('12', { env: 'prod' });
    const res = await api.app.inject({ url: `/v1/runs/${a}/diff/${b}`, headers: api.auth('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    const diff = res.json<{ differences: { path: string; before?: unknown; after?: unknown }[]; steps: unknown; truncated: boolean }>();
    const byPath = new Map(diff.differences.map((c) => [c.path, c]));
    expect(byPath.get('/input/price')).toEqual({ path: '/input/price', before: '10', after: '12' });
    expect(byPath.get('/metadata/env')).toEqual({ path: '/metadata/env', before: 'dev', after: 'prod' });
    expect(byPath.get('/steps/fetch/output/items/3/price')).toEqual({ path: '/steps/fetch/output/items/3/price', before: '10', after: '12' });
    expect(byPath.get('/steps/total/output/label')).toMatchObject({ before: 'total 10', after: 'total 12' });
    expect(byPath.get('/output/label')).toMatchObject({ before: 'total 10', after: 'total 12' });
    expect(byPath.has('/status')).toBe(false);
    expect(diff.steps).toEqual({ only_in_a: [], only_in_b: [], changed: ['fetch', 'total'], unchanged: 0 });
    expect(diff.truncated).toBe(false);

    const capped = await api.app.inject({ url: `/v1/runs/${a}/diff/${b}?limit=2`, headers: admin });
    expect(capped.json()).toMatchObject({ truncated: true, limit: 2 });
    expect(capped.json<{ differences: unknown[] }>().differences).toHaveLength(2);
  });

  it('is 404 for an unknown run on either side, and 400 for a bad limit', async () => {
    const a = await finishedRun('1', {});
    const missing = await api.app.inject({ url: `/v1/runs/${a}/diff/run_nope`, headers: admin });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found' });
    expect((await api.app.inject({ url: `/v1/runs/run_nope/diff/${a}`, headers: admin })).statusCode).toBe(404);
    expect((await api.app.inject({ url: `/v1/runs/${a}/diff/${a}?limit=0`, headers: admin })).statusCode).toBe(400);
  });
});

describe.each(cliStoreTargets)('agentry runs diff on the project store ($name)', (target) => {
  let dir: { dir: string; remove: () => void };
  let env: Record<string, string>;
  let done: () => Promise<void>;
  const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { env, cwd: dir.dir });

  beforeAll(async () => {
    dir = tempDir('agentry-run-diff-');
    mkdirSync(join(dir.dir, 'workflows'));
    writeFileSync(join(dir.dir, 'workflows/prices.yaml'), PRICES_YAML);
    ({ env, done } = await target.env());
  }, 60_000);
  afterAll(async () => {
    await done();
    dir.remove();
  });

  it('prints the differences, and with --json the API answer', async () => {
    const ids: string[] = [];
    for (const price of ['10', '12']) {
      const res = await cli(['run', 'prices', '-i', JSON.stringify({ price }), '--wait', '--json']);
      expect(res.code, res.stderr).toBe(0);
      ids.push(JSON.parse(res.stdout).id);
    }
    const [a = '', b = ''] = ids;
    const json = await cli(['runs', 'diff', a, b, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const diff = JSON.parse(json.stdout);
    expect(diff).toMatchObject({ a: { id: a }, b: { id: b }, truncated: false, steps: { changed: ['fetch', 'total'] } });
    expect(diff.differences).toContainEqual({ path: '/steps/fetch/output/items/3/price', before: '10', after: '12' });

    const text = await cli(['runs', 'diff', a, b]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('/steps/fetch/output/items/3/price  "10" → "12"');
    expect(text.stdout).toContain('2 changed steps');

    const capped = await cli(['runs', 'diff', a, b, '--limit', '1']);
    expect(capped.stdout).toContain('Only the first 1 differences');
    const missing = await cli(['runs', 'diff', a, 'run_nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('not_found');
  });
});

describe('agentry runs diff against a server', () => {
  let api: TestApi;
  let url: string;

  beforeAll(async () => {
    api = await startTestApi({ workflows: [PRICES], engine: { pollIntervalMs: 25 } });
    url = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
  });

  it('prints the server answer with --json and caps it with --limit', async () => {
    const ids: string[] = [];
    for (const price of ['1', '2']) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/workflows/prices/runs?wait=20s',
        payload: { input: { price } },
        headers: api.auth('admin'),
      });
      ids.push(res.json<{ id: string }>().id);
    }
    const env = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer };
    const res = await runCli(['runs', 'diff', ids[0] ?? '', ids[1] ?? '', '--limit', '1', '--json'], { env });
    expect(res.code, res.stderr).toBe(0);
    const diff = JSON.parse(res.stdout);
    expect(diff).toMatchObject({ truncated: true, limit: 1, steps: { changed: ['fetch', 'total'] } });
    expect(diff.differences).toHaveLength(1);
  });
});
