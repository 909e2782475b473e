/** The items of a for_each step over HTTP: pages in input order, 404 and 400. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let runId: string;

beforeAll(async () => {
  api = await startTestApi({
    workflows: [
      {
        name: 'squares',
        steps: {
          each: { for_each: { from: 'input.items', concurrency: 3 }, transform: '{{ item * item }}' },
          sum: { transform: '{{ size(steps.each.output) }}' },
        },
      },
    ],
  });
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/workflows/squares/runs?wait=20s',
    headers: api.auth('operator'),
    payload: { input: { items: [1, 2, 3, 4, 5] } },
  });
  expect(res.json<{ status: string }>().status).toBe('succeeded');
  runId = res.json<{ id: string }>().id;
});
afterAll(async () => {
  await api.close();
});

const get = (url: string) => api.app.inject({ method: 'GET', url, headers: api.auth('viewer') });

describe('GET /v1/runs/{id}/steps/{step}/items', () => {
  it('lists the items in input order, each with its item, status and output, a page at a time', async () => {
    const first = await get(`/v1/runs/${runId}/steps/each/items?limit=2`);
    expect(first.statusCode).toBe(200);
    const page = first.json<{ items: Record<string, unknown>[]; next_offset: number | null }>();
    expect(page.items.map((i) => [i.id, i.index, i.item, i.status, i.output])).toEqual([
      ['each[0]', 0, 1, 'succeeded', 1],
      ['each[1]', 1, 2, 'succeeded', 4],
    ]);
    expect(page.next_offset).toBe(2);
    const last = (await get(`/v1/runs/${runId}/steps/each/items?offset=4&limit=2`)).json<{ items: { output: number }[]; next_offset: number | null }>();
    expect(last.items.map((i) => i.output)).toEqual([25]);
    expect(last.next_offset).toBeNull();
    const run = (await get(`/v1/runs/${runId}`)).json<{ steps: { id: string; output: unknown }[] }>();
    expect(run.steps.map((s) => s.id)).toEqual(['each', 'sum']);
    expect(run.steps[0]!.output).toEqual([1, 4, 9, 16, 25]);
  });

  it('answers 404 for an unknown run or step, 400 for a step without for_each or a bad page', async () => {
    expect((await get('/v1/runs/run_nope/steps/each/items')).statusCode).toBe(404);
    expect((await get(`/v1/runs/${runId}/steps/nope/items`)).statusCode).toBe(404);
    const plain = await get(`/v1/runs/${runId}/steps/sum/items`);
    expect(plain.statusCode).toBe(400);
    expect(plain.json<{ code: string }>().code).toBe('invalid_request');
    expect((await get(`/v1/runs/${runId}/steps/each/items?limit=0`)).statusCode).toBe(400);
    expect((await get(`/v1/runs/${runId}/steps/each/items?offset=-1`)).statusCode).toBe(400);
  });
});
