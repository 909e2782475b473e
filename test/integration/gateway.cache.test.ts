/**
 * The gateway's exact-match response cache (a model group's `cache: { ttl }`), on every store:
 * an identical request twice → the second is `x-agentry-cache: hit`, the upstream is called once,
 * and the ledger records the hit at cost 0 with its cache flag; a request with tools is never
 * cached unless the group marks tools safe; answers are per tenant; an expired answer is not
 * served and is pruned; a cache that fails lets the request through to the upstream with a
 * warning logged (LLM-11).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/gateway/index.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { captureLogs } from '../helpers/log-capture.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

let fake: FakeServer;

function spec(): GatewaySpec {
  return {
    providers: { up: { type: 'openai-compatible', base_url: fake.url } },
    models: {
      cached: { targets: [{ provider: 'up', model: 'm', input_per_mtok: 1000, output_per_mtok: 1000 }], cache: { ttl: '10m' } },
      safe: { targets: [{ provider: 'up', model: 'm' }], cache: { ttl: '10m', tools_safe: true } },
      plain: { targets: [{ provider: 'up', model: 'm' }] },
    },
  };
}

const TOOLS = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.respond = () => ({ content: `answer ${fake.requests.length}`, usage: { prompt_tokens: 10, completion_tokens: 5 }, headers: { connection: 'close' } });
});

describe.each(storeFactories)('response cache on $name', (factory) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ factory, start: false, gateway: spec() });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  const chat = (body: Record<string, unknown>) => api.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: api.auth('service'), payload: body });

  it('answers an identical request from the cache: upstream called once, the hit recorded at cost 0 with its flag', async () => {
    const body = { model: 'cached', messages: [{ role: 'user', content: 'what is 2+2?' }], temperature: 0 };
    const first = await chat(body);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['x-agentry-cache']).toBe('miss');
    // The same request with its keys in another order and `stream: false` is the same request.
    const second = await chat({ temperature: 0, stream: false, messages: [{ content: 'what is 2+2?', role: 'user' }], model: 'cached' });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.headers['x-agentry-cache']).toBe('hit');
    expect(second.headers['x-agentry-cost-usd']).toBe('0');
    expect(second.json().choices[0].message.content).toBe(first.json().choices[0].message.content);
    expect(fake.requests).toHaveLength(1);

    const calls = (await api.app.inject({ url: '/v1/usage/calls?model_group=cached', headers: api.auth('viewer') })).json<{
      items: Array<{ id: string; cache_hit: boolean; cost_usd: number; status: string }>;
    }>();
    expect(calls.items.map((c) => [c.cache_hit, c.status, c.cost_usd])).toEqual([
      [true, 'ok', 0],
      [false, 'ok', 0.015],
    ]);
    expect(calls.items[0]!.id).toBe(second.headers['x-agentry-call-id']);

    // A different request misses.
    const other = await chat({ ...body, messages: [{ role: 'user', content: 'what is 3+3?' }] });
    expect(other.headers['x-agentry-cache']).toBe('miss');
    expect(fake.requests).toHaveLength(2);
  });

  it('never caches a request with tools unless the group marks them safe, nor a group without cache', async () => {
    const withTools = { model: 'cached', messages: [{ role: 'user', content: 'look it up' }], tools: TOOLS };
    for (let i = 0; i < 2; i++) expect((await chat(withTools)).headers['x-agentry-cache']).toBeUndefined();
    expect(fake.requests).toHaveLength(2);
    const safe = { ...withTools, model: 'safe' };
    expect((await chat(safe)).headers['x-agentry-cache']).toBe('miss');
    expect((await chat(safe)).headers['x-agentry-cache']).toBe('hit');
    expect(fake.requests).toHaveLength(3);
    const plain = { model: 'plain', messages: [{ role: 'user', content: 'hi' }] };
    await chat(plain);
    await chat(plain);
    expect(fake.requests).toHaveLength(5);
  });

  it('keeps answers per tenant, and serves none past its TTL (expired ones are pruned)', async () => {
    const request: ChatRequest = { model: 'cached', messages: [{ role: 'user', content: 'tenant question' }] };
    const a1 = await api.gateway!.chat(request, { tenantId: 'acme' });
    const b1 = await api.gateway!.chat(request, { tenantId: 'globex' });
    expect([a1.agentry?.cache, b1.agentry?.cache]).toEqual(['miss', 'miss']);
    expect(fake.requests).toHaveLength(2);
    expect((await api.gateway!.chat(request, { tenantId: 'acme' })).agentry?.cache).toBe('hit');
    expect(fake.requests).toHaveLength(2);

    // Past the TTL: the store serves nothing and prunes it.
    const later = Date.now() + 11 * 60_000;
    const rows = await api.store.listCalls({ tenantId: 'acme', limit: 10 });
    expect(rows.items.some((r) => r.cacheHit === true)).toBe(true);
    expect(await api.store.pruneCache(later)).toBeGreaterThanOrEqual(2);
    expect((await api.gateway!.chat(request, { tenantId: 'acme' })).agentry?.cache).toBe('miss');
    expect(fake.requests).toHaveLength(3);
  });
});

describe('a failing response cache', () => {
  let api: TestApi;
  const logs = captureLogs('warn');
  afterEach(async () => {
    await api?.close();
  });

  it('lets every request through to the upstream and logs a warning', async () => {
    api = await startTestApi({
      start: false,
      gateway: spec(),
      logger: logs.logger,
      cache: { get: () => Promise.reject(new Error('cache backend unreachable')), put: () => Promise.reject(new Error('cache backend unreachable')) },
    });
    const body = { model: 'cached', messages: [{ role: 'user', content: 'still works?' }] };
    for (let i = 0; i < 2; i++) {
      const res = await api.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: api.auth('service'), payload: body });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-agentry-cache']).toBe('miss');
    }
    expect(fake.requests).toHaveLength(2);
    const warnings = logs.lines.filter((l) => l.event === 'llm.cache_failed');
    expect(warnings.map((w) => w.operation)).toEqual(['get', 'put', 'get', 'put']);
    expect(String((warnings[0]!.err as { message: string }).message)).toContain('cache backend unreachable');
  });
});
