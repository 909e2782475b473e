/**
 * `GET /v1/runs` on both stores: each listed run carries its LLM cost (the detail's
 * `usage.cost_usd`, summed from the ledger in the listing's own query), and `?q=` finds runs by
 * a piece of their id, case-insensitively, with `%` and `_` taken literally; a bad `q` is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

interface Listed {
  id: string;
  cost_usd: number;
}

describe.each(storeFactories)('the run list on $name', { timeout: 60_000 }, (factory) => {
  let api: TestApi;
  let costly: string;
  let free: string;

  async function list(query: string): Promise<Listed[]> {
    const res = await api.app.inject({ url: `/v1/runs?${query}`, headers: api.auth('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Listed[] }>().items;
  }

  beforeAll(async () => {
    api = await startTestApi({ factory, start: false });
    costly = (await api.engine.startRun('nap', {})).id;
    free = (await api.engine.startRun('nap', {})).id;
    for (const [i, cost] of [0.125, 0.0005].entries()) {
      await api.store.recordCall({
        id: `call_${i}`,
        tenantId: 'default',
        runId: costly,
        stepId: 'long',
        workflow: 'nap',
        group: 'demo',
        provider: 'demo',
        model: 'demo-1',
        inputTokens: 10,
        outputTokens: 20,
        costUsd: cost,
        latencyMs: 5,
        outcome: 'ok',
        at: Date.now(),
      });
    }
  });
  afterAll(() => api?.close());

  it("gives each run its cost, as the run's detail does", async () => {
    const items = await list('limit=10');
    const detail = (await api.app.inject({ url: `/v1/runs/${costly}`, headers: api.auth('viewer') })).json<{ usage: { cost_usd: number } }>();
    expect(detail.usage.cost_usd).toBe(0.1255);
    expect(items.find((r) => r.id === costly)?.cost_usd).toBe(detail.usage.cost_usd);
    expect(items.find((r) => r.id === free)?.cost_usd).toBe(0);
  });

  it('finds runs by a piece of their id, in any case, with % and _ matching only themselves', async () => {
    const tail = costly.slice(-12);
    expect((await list(`q=${tail}`)).map((r) => r.id)).toEqual([costly]);
    expect((await list(`q=${tail.toUpperCase()}`)).map((r) => r.id)).toEqual([costly]);
    expect((await list(`q=${costly.slice(0, 4)}`)).map((r) => r.id).sort()).toEqual([costly, free].sort());
    // Unescaped, `%` would match every id and `_` any character.
    expect(await list('q=%25')).toEqual([]);
    expect(await list(`q=${encodeURIComponent(`run_${costly.slice(4, 8)}`)}`)).not.toEqual([]);
    expect(await list(`q=${encodeURIComponent(`${costly.slice(0, 3)}%${costly.slice(4, 8)}`)}`)).toEqual([]);
    expect(await list(`q=${encodeURIComponent(`${costly.slice(0, 3)}__${costly.slice(5, 8)}`)}`)).toEqual([]);
  });

  it('refuses an empty or overlong q', async () => {
    for (const q of ['', 'x'.repeat(65)]) {
      const res = await api.app.inject({ url: `/v1/runs?q=${q}`, headers: api.auth('viewer') });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('invalid_request');
    }
  });
});
