/**
 * Budgets over the store (SQLite and PostgreSQL): monthly budgets that count calls recorded
 * earlier in the month, counters that follow calls recorded by other processes, reservations
 * that hold budget while an attempt runs and are replaced by its record, reservations of a dead
 * process that stop counting when they expire, and the housekeeping of both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeLedger } from '../../src/app/usage-ledger.js';
import { Gateway, estimatePromptTokens, type ChatRequest } from '../../src/gateway/index.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import type { Store } from '../../src/store/store.js';
import type { BudgetReservation, CallRecord, SpendQuery } from '../../src/types.js';
import { silentLogger } from '../helpers/engine.js';
import { storeFactories } from '../helpers/store.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'next step' }], max_tokens: 100 };
/** Worst case of one call in tokens; at $1000 per million tokens each token costs $0.001. */
const worstTokens = estimatePromptTokens(request) + 100;
const worstUsd = worstTokens * 0.001;

describe.each(storeFactories)('budgets on $name', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let fake: FakeServer;
  let clock: number;
  let n = 0;

  beforeEach(async () => {
    ({ store, cleanup } = await factory.open());
    fake = await startFakeOpenAI();
    // Every call reports 10 prompt + 90 completion tokens: 100 tokens, $0.10.
    fake.respond = () => ({ content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 90 } });
    clock = Date.parse('2026-03-20T10:00:00Z');
  });

  afterEach(async () => {
    await fake.close();
    await cleanup();
  });

  function gateway(budgets: GatewaySpec['budgets']): Gateway {
    return new Gateway({
      spec: {
        providers: { up: { type: 'openai-compatible', base_url: fake.url } },
        models: { smart: { targets: [{ provider: 'up', model: 'm', input_per_mtok: 1000, output_per_mtok: 1000 }] } },
        budgets,
      },
      env: {},
      logger: silentLogger,
      ledger: storeLedger(store, () => clock),
      now: () => clock,
    });
  }

  /** A call record as another process (or an earlier day) left it: 100 tokens, $0.10 unless told. */
  function record(over: Partial<CallRecord>): CallRecord {
    return {
      id: `call_seed_${++n}`,
      tenantId: 'acme',
      runId: null,
      stepId: null,
      workflow: null,
      group: 'smart',
      provider: 'up',
      model: 'm',
      inputTokens: 10,
      outputTokens: 90,
      costUsd: 0.1,
      latencyMs: 5,
      outcome: 'ok',
      at: clock,
      ...over,
    };
  }

  const day = (tenantId: string, d: string): SpendQuery => ({ scope: 'tenant', tenantId, day: d });
  const month = (tenantId: string, m: string): SpendQuery => ({ scope: 'tenant', tenantId, month: m });

  /** What a check-and-reserve sees for the scopes right now (reserving nothing). */
  async function look(...scopes: SpendQuery[]) {
    const { states } = await store.reserveBudget(
      { id: `look_${++n}`, scopes, amount: { tokens: 0, costUsd: 0 }, at: clock, expiresAt: clock + 1 },
      () => false,
    );
    return states;
  }

  it("refuses a call when the tenant's month is spent though its day is not, and allows it again the next month", async () => {
    // 19 calls on earlier days of March ($1.90), a big one in February and another tenant's in March.
    for (let d = 1; d <= 19; d++) await store.recordCall(record({ at: Date.parse(`2026-03-${String(d).padStart(2, '0')}T12:00:00Z`) }));
    await store.recordCall(record({ at: Date.parse('2026-02-27T12:00:00Z'), costUsd: 50, outputTokens: 50_000 }));
    await store.recordCall(record({ tenantId: 'beta', costUsd: 0.5 }));
    const gw = gateway({ tenant_daily_usd: 1, tenant_monthly_usd: 2 });

    const error = await gw.chat(request, { tenantId: 'acme' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'budget_exceeded',
      details: { scope: 'tenant', period: 'month', metric: 'usd', limit: 2, reserved: 0, estimate: worstUsd },
    });
    expect((error as { details: { spent: number } }).details.spent).toBeCloseTo(1.9, 8);
    expect((error as Error).message).toMatch(/^tenant monthly budget of 2 USD would be exceeded: spent 1\.9 USD/);
    expect(fake.requests).toHaveLength(0);
    // The day alone had room: today nothing was spent.
    expect((await store.spent(day('acme', '2026-03-20'))).costUsd).toBe(0);

    // Another tenant's month is its own.
    await gw.chat(request, { tenantId: 'beta' });
    expect(fake.requests).toHaveLength(1);

    clock = Date.parse('2026-04-01T00:00:01Z');
    await gw.chat(request, { tenantId: 'acme' });
    expect(fake.requests).toHaveLength(2);
    expect((await store.spent(month('acme', '2026-04'))).costUsd).toBeCloseTo(0.1, 8);
  });

  it('counts a call another process recorded after the budget was first checked', async () => {
    const gw = gateway({ tenant_daily_tokens: 900 });
    await gw.chat(request, { tenantId: 'acme' });
    expect((await look(day('acme', '2026-03-20')))[0]!.spent.tokens).toBe(100);
    // Another gateway process records 700 tokens: 800 are spent, and a worst case (over 100) no longer fits.
    await store.recordCall(record({ outputTokens: 690 }));
    expect((await look(day('acme', '2026-03-20')))[0]!.spent.tokens).toBe(800);
    await expect(gw.chat(request, { tenantId: 'acme' })).rejects.toMatchObject({
      code: 'budget_exceeded',
      details: { scope: 'tenant', period: 'day', metric: 'tokens', limit: 900, spent: 800 },
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('counts a call recorded twice once', async () => {
    const twice = record({ outputTokens: 290 });
    await look(day('acme', '2026-03-20'));
    await store.recordCall(twice);
    await store.recordCall(twice);
    expect((await look(day('acme', '2026-03-20'), month('acme', '2026-03'))).map((s) => s.spent)).toEqual([
      { tokens: 300, costUsd: 0.1 },
      { tokens: 300, costUsd: 0.1 },
    ]);
  });

  it("holds an attempt's worst case while it runs, and replaces it with what it used once recorded", async () => {
    fake.respond = () => ({ content: 'slow', usage: { prompt_tokens: 10, completion_tokens: 90 }, delayMs: 300 });
    const gw = gateway({ tenant_monthly_tokens: 100_000 });
    const call = gw.chat(request, { tenantId: 'acme' });
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(await store.budgetState(month('acme', '2026-03'), clock)).toEqual({
      spent: { tokens: 0, costUsd: 0 },
      reserved: { tokens: worstTokens, costUsd: worstUsd },
    });
    const response = await call;
    expect(await store.budgetState(month('acme', '2026-03'), clock)).toEqual({ spent: { tokens: 100, costUsd: 0.1 }, reserved: { tokens: 0, costUsd: 0 } });
    expect(await store.renewBudgetReservation(response.agentry!.call_id, clock + 60_000)).toBe(false);
  });

  it('a reservation of a process that died holds the budget until it expires, then is reclaimed', async () => {
    // A gateway with the same budget reserved a worst case for a call, then died before recording it.
    const dead: BudgetReservation = {
      id: 'call_of_a_dead_process',
      scopes: [day('acme', '2026-03-20')],
      amount: { tokens: worstTokens, costUsd: worstUsd },
      at: clock,
      expiresAt: clock + 90_000,
    };
    expect((await store.reserveBudget(dead, () => true)).admitted).toBe(true);
    expect(await store.renewBudgetReservation(dead.id, clock + 90_000)).toBe(true);
    const gw = gateway({ tenant_daily_tokens: 2 * worstTokens });

    await gw.chat(request, { tenantId: 'acme' });
    await expect(gw.chat(request, { tenantId: 'acme' })).rejects.toMatchObject({
      code: 'budget_exceeded',
      details: { scope: 'tenant', period: 'day', metric: 'tokens', spent: 100, reserved: worstTokens, estimate: worstTokens },
    });
    expect(fake.requests).toHaveLength(1);

    clock += 90_000;
    await gw.chat(request, { tenantId: 'acme' });
    expect(fake.requests).toHaveLength(2);
    // The check deleted it: nothing expired is left to prune, and renewing it finds nothing.
    expect((await store.pruneBudgets(clock)).reservations).toBe(0);
    expect(await store.renewBudgetReservation(dead.id, clock + 90_000)).toBe(false);
  });

  it('prunes expired reservations and unused counters; a pruned counter is rebuilt from the ledger', async () => {
    await store.recordCall(record({ outputTokens: 190 }));
    const scopes = [day('acme', '2026-03-20'), month('beta', '2026-03')];
    await store.reserveBudget({ id: 'call_x', scopes, amount: { tokens: 5, costUsd: 0 }, at: clock, expiresAt: clock + 1_000 }, () => true);
    expect((await look(...scopes)).map((s) => s.reserved.tokens)).toEqual([5, 5]);

    expect(await store.pruneBudgets(clock)).toEqual({ reservations: 0, counters: 0 });
    clock += 41 * 86_400_000;
    expect(await store.pruneBudgets(clock)).toEqual({ reservations: 2, counters: 2 });

    clock -= 41 * 86_400_000;
    expect((await look(...scopes)).map((s) => s.spent.tokens)).toEqual([200, 0]);
  });

  it('refuses a reservation that admit turns down, and changes nothing', async () => {
    const scopes = [day('acme', '2026-03-20')];
    const result = await store.reserveBudget({ id: 'call_no', scopes, amount: { tokens: 10, costUsd: 0 }, at: clock, expiresAt: clock + 1_000 }, () => false);
    expect(result).toEqual({ admitted: false, states: [{ spent: { tokens: 0, costUsd: 0 }, reserved: { tokens: 0, costUsd: 0 } }] });
    expect(await store.budgetState(scopes[0]!, clock)).toEqual({ spent: { tokens: 0, costUsd: 0 }, reserved: { tokens: 0, costUsd: 0 } });
    expect(await store.renewBudgetReservation('call_no', clock + 1_000)).toBe(false);
  });
});
