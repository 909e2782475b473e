/**
 * The gateway's batched ledger and budget leases over the store (SQLite and PostgreSQL): usage
 * is exact after a burst and after a graceful stop, a lease admits calls in memory until it is
 * used up and a call that fits no more is refused, and two gateways sharing one store and one
 * budget never together spend more than it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeasingLedger } from '../../src/app/budget-leases.js';
import { LedgerWriter, withLedgerWriter } from '../../src/app/ledger-writer.js';
import { Gateway, estimatePromptTokens, type ChatRequest } from '../../src/gateway/index.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import type { Store } from '../../src/store/store.js';
import type { CallRecord, LedgerBatch } from '../../src/types.js';
import { silentLogger } from '../helpers/engine.js';
import { storeFactories } from '../helpers/store.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'next step' }], max_tokens: 100 };
/** Worst case of one call in tokens ($0.001 a token); every call really uses 100 tokens ($0.10). */
const worstTokens = estimatePromptTokens(request) + 100;
/** A call record of tenant acme, today (its id, outcome and tokens set by the test). */
const base: CallRecord = {
  id: '',
  tenantId: 'acme',
  runId: null,
  stepId: null,
  workflow: null,
  group: 'smart',
  provider: 'up',
  model: 'm',
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  latencyMs: 1,
  outcome: 'ok',
  at: Date.now(),
};

describe.each(storeFactories)('batched ledger and budget leases on $name', (factory) => {
  let raw: Store;
  let cleanup: () => Promise<void>;
  let fake: FakeServer;
  const today = new Date().toISOString().slice(0, 10);
  const day = { scope: 'tenant' as const, tenantId: 'acme', day: today };

  beforeEach(async () => {
    ({ store: raw, cleanup } = await factory.open());
    fake = await startFakeOpenAI();
    fake.respond = () => ({ content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 90 } });
  });

  afterEach(async () => {
    await fake.close();
    await cleanup();
  });

  /** A gateway process as bootstrap wires it: its own writer, the store wrapped by it, and leases. */
  function process(budgets: GatewaySpec['budgets'], flushMs = 2) {
    const writer = new LedgerWriter(raw, { logger: silentLogger, flushMs });
    const store = withLedgerWriter(raw, writer);
    const gateway = new Gateway({
      spec: {
        providers: { up: { type: 'openai-compatible', base_url: fake.url } },
        models: { smart: { targets: [{ provider: 'up', model: 'm', input_per_mtok: 1000, output_per_mtok: 1000 }] } },
        budgets,
      },
      env: {},
      logger: silentLogger,
      ledger: new LeasingLedger(store, writer),
    });
    return { writer, store, gateway };
  }

  it('usage is exact after a burst: read through the writer at once, and by another process once written', async () => {
    // A long window: nothing is written by the timer while the burst runs.
    const gw = process({}, 60_000);
    await Promise.all(Array.from({ length: 40 }, () => gw.gateway.chat(request, { tenantId: 'acme' })));
    // Not yet in the store…
    expect((await raw.spent(day)).tokens).toBe(0);
    // …but this process reads its own calls (the read writes the queue first).
    expect(await gw.store.spent(day)).toEqual({ tokens: 4000, costUsd: expect.closeTo(4, 8) as number });
    expect((await raw.usage({ tenantId: 'acme' }))[0]).toMatchObject({ calls: 40, inputTokens: 400, outputTokens: 3600 });
  });

  it('a graceful stop writes what is queued', async () => {
    const gw = process({ tenant_daily_tokens: 100_000 }, 60_000);
    await Promise.all(Array.from({ length: 25 }, () => gw.gateway.chat(request, { tenantId: 'acme' })));
    await gw.writer.flush();
    expect((await raw.usage({ tenantId: 'acme' }))[0]).toMatchObject({ calls: 25, inputTokens: 250, outputTokens: 2250 });
    // The counters agree and no lease is left holding budget.
    expect(await raw.budgetState(day, Date.now())).toEqual({
      spent: { tokens: 2500, costUsd: expect.closeTo(2.5, 8) as number },
      reserved: { tokens: 0, costUsd: 0 },
    });
  });

  it('admits calls on a lease in memory, and refuses the call that fits neither the lease nor the budget', async () => {
    // Room for 3 worst cases: three calls in flight together take it all.
    fake.respond = () => ({ content: 'slow', usage: { prompt_tokens: 10, completion_tokens: 90 }, delayMs: 200 });
    const gw = process({ tenant_daily_tokens: 3 * worstTokens });
    const calls = [0, 1, 2].map(() => gw.gateway.chat(request, { tenantId: 'acme' }));
    while (fake.requests.length < 3) await new Promise((r) => setTimeout(r, 10));
    // What the store holds for them: their worst cases (in one or more leases).
    expect((await raw.budgetState(day, Date.now())).reserved.tokens).toBe(3 * worstTokens);
    await expect(gw.gateway.chat(request, { tenantId: 'acme' })).rejects.toMatchObject({ code: 'budget_exceeded' });
    await Promise.all(calls);
    await gw.writer.flush();
    // 300 used of 3 worst cases: one more does not fit.
    await expect(gw.gateway.chat(request, { tenantId: 'acme' })).rejects.toMatchObject({
      code: 'budget_exceeded',
      details: { scope: 'tenant', period: 'day', metric: 'tokens', spent: 300, reserved: 0 },
    });
    expect(fake.requests).toHaveLength(3);
    await gw.writer.flush();
    expect((await raw.usage({ tenantId: 'acme' }))[0]).toMatchObject({ calls: 5, inputTokens: 30, outputTokens: 270 });
  });

  it('a batch counts each call once: twice in the batch, or recorded before', async () => {
    const rec = (id: string): CallRecord => ({ ...base, id, inputTokens: 10, outputTokens: 90, costUsd: 0.1 });
    await raw.budgetState(day, Date.now());
    await raw.reserveBudget({ id: 'call_b', scopes: [day], amount: { tokens: 500, costUsd: 0 }, at: Date.now(), expiresAt: Date.now() + 60_000 }, () => true);
    await raw.recordCall(rec('call_a'));
    await raw.recordCalls({
      records: [{ record: rec('call_a') }, { record: rec('call_b') }, { record: rec('call_b') }, { record: rec('call_c'), unreserved: true }],
      release: [],
    });
    // Counter created before the batch (by the reservation's check) and the ledger agree: three calls.
    expect(await raw.budgetState(day, Date.now())).toEqual({
      spent: { tokens: 300, costUsd: expect.closeTo(0.3, 8) as number },
      reserved: { tokens: 0, costUsd: 0 },
    });
    const [seen] = (
      await raw.reserveBudget({ id: 'look', scopes: [day], amount: { tokens: 0, costUsd: 0 }, at: Date.now(), expiresAt: Date.now() + 1 }, () => false)
    ).states;
    expect(seen!.spent.tokens).toBe(300);
    expect((await raw.usage({ tenantId: 'acme' }))[0]).toMatchObject({ calls: 3 });
  });

  it('a batch adds to each of its counters what its own calls used (several tenants, a workflow, a run)', async () => {
    const month = today.slice(0, 7);
    const scopes = [
      day,
      { scope: 'tenant' as const, tenantId: 'acme', month },
      { scope: 'tenant' as const, tenantId: 'zeta', day: today },
      { scope: 'workflow' as const, tenantId: 'acme', workflow: 'triage', day: today },
      { scope: 'run' as const, runId: 'run_1' },
    ];
    const none = { tokens: 0, costUsd: 0 };
    // Each counter exists before the batch (a check-and-reserve creates it from the ledger), some with calls of their own.
    await raw.recordCall({ ...base, id: 'before', tenantId: 'zeta', inputTokens: 1000, costUsd: 1 });
    await raw.reserveBudget({ id: 'make', scopes, amount: none, at: Date.now(), expiresAt: Date.now() + 1 }, () => true);
    const rec = (id: string, over: Partial<CallRecord>): { record: CallRecord; unreserved: true } => ({ record: { ...base, id, ...over }, unreserved: true });
    await raw.recordCalls({
      records: [
        rec('a1', { inputTokens: 1, costUsd: 0.001 }),
        rec('a2', { workflow: 'triage', runId: 'run_1', inputTokens: 20, costUsd: 0.02 }),
        rec('z1', { tenantId: 'zeta', outputTokens: 300, costUsd: 0.3 }),
        rec('a3', { workflow: 'triage', inputTokens: 4000, costUsd: 4 }),
      ],
      release: [],
    });
    // What the counters hold (a check reads them, not the ledger).
    const { states } = await raw.reserveBudget({ id: 'look', scopes, amount: none, at: Date.now(), expiresAt: Date.now() + 1 }, () => false);
    const spent = states.map((state) => state.spent);
    expect(spent.map((s) => s.tokens)).toEqual([4021, 4021, 1300, 4020, 20]);
    expect(spent.map((s) => s.costUsd)).toEqual([4.021, 4.021, 1.3, 4.02, 0.02].map((usd) => expect.closeTo(usd, 8) as number));
  });

  it("checks each call's own budgets even when its lease has room", async () => {
    const writer = new LedgerWriter(raw, { logger: silentLogger });
    const ledger = new LeasingLedger(withLedgerWriter(raw, writer), writer);
    const at = Date.now();
    const amount = { tokens: 100, costUsd: 0.1 };
    const reservation = (id: string) => ({ id, scopes: [day], amount, at, expiresAt: at + 60_000 });
    // The first lease holds one call; the second, taken while that call runs, holds two: room for one more.
    expect((await ledger.reserve(reservation('call_1'), () => true)).admitted).toBe(true);
    expect((await ledger.reserve(reservation('call_2'), () => true)).admitted).toBe(true);
    expect((await raw.budgetState(day, at)).reserved.tokens).toBe(300);
    // A call whose budget is spent is refused although the lease has room for it.
    expect((await ledger.reserve(reservation('call_3'), () => false)).admitted).toBe(false);
    expect((await ledger.reserve(reservation('call_4'), () => true)).admitted).toBe(true);
    // The leases hold three worst cases, no more: the fourth call went on the lease.
    expect((await raw.budgetState(day, at)).reserved.tokens).toBe(300);
    for (const id of ['call_1', 'call_2', 'call_3', 'call_4']) {
      await ledger.record({ ...base, id, outcome: id === 'call_3' ? 'budget_exceeded' : 'ok', inputTokens: 10, outputTokens: id === 'call_3' ? 0 : 40 });
    }
    await writer.flush();
    expect(await raw.budgetState(day, Date.now())).toEqual({
      spent: { tokens: 160, costUsd: expect.closeTo(0, 8) as number },
      reserved: { tokens: 0, costUsd: 0 },
    });
  });

  it('two gateways on one store never together spend more than a shared budget', async () => {
    fake.respond = () => ({ content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 90 }, delayMs: 5 + Math.floor(Math.random() * 20) });
    const budget = 20 * worstTokens;
    const a = process({ tenant_daily_tokens: budget });
    const b = process({ tenant_daily_tokens: budget });
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).gateway.chat(request, { tenantId: 'acme' })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'budget_exceeded' });
    expect(ok).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(ok);
    await a.writer.flush();
    await b.writer.flush();
    const state = await raw.budgetState(day, Date.now());
    expect(state.spent.tokens).toBe(100 * ok);
    expect(state.spent.tokens).toBeLessThanOrEqual(budget);
    expect(state.reserved).toEqual({ tokens: 0, costUsd: 0 });
    expect((await raw.usage({ tenantId: 'acme' }))[0]).toMatchObject({ calls: 60 });
  });
});

describe('the ledger writer on close', () => {
  it("writes what is queued before the store closes (a graceful stop's path)", async () => {
    const events: string[] = [];
    const fakeStore = {
      recordCalls: (batch: LedgerBatch) => {
        events.push(`write ${batch.records.map((r) => r.record.id).join(',')}`);
        return Promise.resolve();
      },
      close: () => {
        events.push('close');
        return Promise.resolve();
      },
    } as unknown as Store;
    const writer = new LedgerWriter(fakeStore, { logger: silentLogger, flushMs: 60_000 });
    const store = withLedgerWriter(fakeStore, writer);
    const record = (id: string) => ({ id }) as CallRecord;
    await store.recordCall(record('a'));
    await store.recordCall(record('b'));
    expect(events).toEqual([]);
    await store.close();
    expect(events).toEqual(['write a,b', 'close']);
  });
});
