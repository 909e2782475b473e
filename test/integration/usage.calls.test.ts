/**
 * `GET /v1/usage/calls` on every store: the ledger's call records newest first with latency,
 * tokens (cached and reasoning too), cost, error code and the cache-hit flag; each filter (run,
 * workflow, model group, status, time range); keyset pages that neither skip nor repeat a record,
 * also when records share a millisecond; a tenant's key never sees another tenant's calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/types.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

function call(id: string, fields: Partial<CallRecord> = {}): CallRecord {
  return {
    id,
    tenantId: 'default',
    runId: 'run_a',
    stepId: 'ask',
    workflow: 'triage',
    group: 'smart',
    provider: 'up',
    model: 'up-1',
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.001,
    latencyMs: 120,
    outcome: 'ok',
    at: T0,
    ...fields,
  };
}

const RECORDS: CallRecord[] = [
  call('call_01', { at: T0, cachedTokens: 4, reasoningTokens: 2 }),
  call('call_02', { at: T0 + 1000, outcome: 'error', errorCode: 'rate_limited', inputTokens: 0, outputTokens: 0, costUsd: 0 }),
  call('call_03', { at: T0 + 2000, group: 'cheap', model: 'up-mini' }),
  // Three in one millisecond: the page boundary falls between them.
  call('call_04', { at: T0 + 3000, runId: 'run_b', workflow: 'digest' }),
  call('call_05', { at: T0 + 3000, runId: 'run_b', workflow: 'digest', cacheHit: true, costUsd: 0 }),
  call('call_06', { at: T0 + 3000, runId: null, stepId: null, workflow: null }),
  call('call_07', { at: T0 + 4000, tenantId: 'acme', runId: 'run_acme', workflow: 'triage' }),
];

interface Page {
  items: Array<Record<string, unknown> & { id: string }>;
  next_cursor: string | null;
}

describe.each(storeFactories)('GET /v1/usage/calls on $name', (factory) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ factory, start: false });
    for (const r of RECORDS) await api.store.recordCall(r);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  const get = async (query: string, role: 'viewer' | 'admin' = 'viewer') => {
    const res = await api.app.inject({ url: `/v1/usage/calls${query}`, headers: api.auth(role) });
    return { status: res.statusCode, body: res.json<Page & { code?: string; detail?: string }>() };
  };
  const ids = (page: Page) => page.items.map((i) => i.id);

  it('lists every call of the tenant newest first with its latency, tokens, cost, error code and cache flag', async () => {
    const { status, body } = await get('');
    expect(status).toBe(200);
    expect(ids(body)).toEqual(['call_06', 'call_05', 'call_04', 'call_03', 'call_02', 'call_01']);
    expect(body.next_cursor).toBeNull();
    const byId = new Map(body.items.map((i) => [i.id, i]));
    expect(byId.get('call_01')).toEqual({
      id: 'call_01',
      tenant_id: 'default',
      run_id: 'run_a',
      step_id: 'ask',
      workflow: 'triage',
      model_group: 'smart',
      provider: 'up',
      model: 'up-1',
      status: 'ok',
      error_code: null,
      latency_ms: 120,
      input_tokens: 10,
      output_tokens: 5,
      cached_input_tokens: 4,
      reasoning_tokens: 2,
      cost_usd: 0.001,
      cache_hit: false,
      at: new Date(T0).toISOString(),
    });
    expect(byId.get('call_02')).toMatchObject({ status: 'error', error_code: 'rate_limited', cost_usd: 0 });
    expect(byId.get('call_05')).toMatchObject({ cache_hit: true, cost_usd: 0 });
    expect(byId.get('call_06')).toMatchObject({ run_id: null, step_id: null, workflow: null });
  });

  it('filters by run, workflow, model group, status and time range', async () => {
    expect(ids((await get('?run_id=run_b')).body)).toEqual(['call_05', 'call_04']);
    expect(ids((await get('?workflow=triage')).body)).toEqual(['call_03', 'call_02', 'call_01']);
    expect(ids((await get('?model_group=cheap')).body)).toEqual(['call_03']);
    expect(ids((await get('?status=error')).body)).toEqual(['call_02']);
    const after = encodeURIComponent(new Date(T0 + 1000).toISOString());
    const before = encodeURIComponent(new Date(T0 + 3000).toISOString());
    expect(ids((await get(`?after=${after}&before=${before}`)).body)).toEqual(['call_03', 'call_02']);
    expect(ids((await get('?workflow=triage&status=ok')).body)).toEqual(['call_03', 'call_01']);
  });

  it('pages with a cursor without skipping or repeating a call, across records of one millisecond', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body }: { status: number; body: Page } = await get(`?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(body));
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(['call_06', 'call_05', 'call_04', 'call_03', 'call_02', 'call_01']);
    expect(pages).toBe(3);
  });

  it('refuses a bad cursor, status or time with 400 invalid_request', async () => {
    const bad = await get(`?cursor=${Buffer.from('nonsense').toString('base64url')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
    expect((await get('?status=fine')).status).toBe(400);
    expect((await get('?after=yesterday')).status).toBe(400);
  });

  it("never shows another tenant's calls to a tenant's key", async () => {
    // The test keys belong to the deployment's tenant, `default`: acme's call is not theirs.
    const { body } = await get('?limit=1000');
    expect(ids(body)).not.toContain('call_07');
    expect(body.items.every((i) => i.tenant_id === 'default')).toBe(true);
    // The store itself holds it, and a query scoped to acme finds only it.
    const acme = await api.store.listCalls({ tenantId: 'acme', limit: 10 });
    expect(acme.items.map((r) => r.id)).toEqual(['call_07']);
  });
});
