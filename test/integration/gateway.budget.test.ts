import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { Gateway, InMemoryUsageLedger, estimatePromptTokens, type CallContext, type ChatRequest } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

let fake: FakeServer;
let ledger: InMemoryUsageLedger;
let clock: number;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  ledger = new InMemoryUsageLedger();
  clock = Date.parse('2026-03-01T10:00:00Z');
  // Every call reports 10 prompt + 90 completion tokens.
  fake.respond = () => ({ content: 'step', usage: { prompt_tokens: 10, completion_tokens: 90 } });
});

afterEach(async () => {
  await fake.close();
});

function gateway(budgets?: GatewaySpec['budgets']): Gateway {
  return new Gateway({
    spec: {
      providers: { up: { type: 'openai-compatible', base_url: fake.url } },
      // $1000 per million tokens either way: $0.001 a token, so 100 tokens cost $0.10.
      models: { smart: { targets: [{ provider: 'up', model: 'm', input_per_mtok: 1000, output_per_mtok: 1000 }] } },
      ...(budgets === undefined ? {} : { budgets }),
    },
    env: {},
    logger: createLogger({ level: 'silent' }),
    ledger,
    now: () => clock,
  });
}

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'next step' }], max_tokens: 100 };
/** Worst case of one call: estimated prompt + max_tokens. */
const worstTokens = estimatePromptTokens(request) + 100;

/** Calls until one fails; returns that error. */
async function loop(gw: Gateway, ctx: CallContext, max = 50): Promise<AgentryError> {
  for (let i = 0; i < max; i++) {
    try {
      await gw.chat(request, ctx);
    } catch (error) {
      return error as AgentryError;
    }
  }
  throw new Error('the loop was never stopped');
}

describe('gateway budgets', () => {
  it("stops a loop of calls at the run's max_cost_usd before sending the call that could pass it", async () => {
    const error = await loop(gateway(), { tenantId: 't1', runId: 'run_1', budget: { maxCostUsd: 0.5 } });
    expect(error).toBeInstanceOf(AgentryError);
    expect(error.code).toBe('budget_exceeded');
    expect(error.retryable).toBe(false);
    const details = error.details as { scope: string; metric: string; limit: number; spent: number; estimate: number };
    expect(details).toMatchObject({ scope: 'run', metric: 'usd', limit: 0.5 });
    expect(details.spent + details.estimate).toBeGreaterThan(0.5);
    expect(details.estimate).toBeCloseTo(worstTokens * 0.001, 8);

    const ok = ledger.records.filter((r) => r.outcome === 'ok');
    // The fake saw exactly the calls that were allowed, and they stayed within the budget.
    expect(fake.requests).toHaveLength(ok.length);
    expect(ok.length).toBe(Math.floor((0.5 - worstTokens * 0.001) / 0.1 + 1e-9) + 1);
    expect(ok.reduce((sum, r) => sum + r.costUsd, 0)).toBeLessThanOrEqual(0.5);
    expect(ledger.records.at(-1)).toMatchObject({ outcome: 'budget_exceeded', errorCode: 'budget_exceeded', inputTokens: 0, costUsd: 0, runId: 'run_1' });
  });

  it("stops a loop at the run's max_tokens", async () => {
    const error = await loop(gateway(), { tenantId: 't1', runId: 'run_2', budget: { maxTokens: 450 } });
    expect(error.details).toMatchObject({ scope: 'run', metric: 'tokens', limit: 450 });
    const spent = ledger.records.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0);
    expect(spent).toBeLessThanOrEqual(450);
    expect(fake.requests).toHaveLength(spent / 100);
  });

  it('shares a workflow daily budget across runs of the workflow, not with other workflows, and resets it the next UTC day', async () => {
    const gw = gateway({ workflow_daily_usd: 0.3 });
    const first = await loop(gw, { tenantId: 't1', runId: 'r1', workflow: 'triage' });
    expect(first.details).toMatchObject({ scope: 'workflow', limit: 0.3 });
    const sent = fake.requests.length;
    await expect(gw.chat(request, { tenantId: 't1', runId: 'r2', workflow: 'triage' })).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(fake.requests).toHaveLength(sent);
    await gw.chat(request, { tenantId: 't1', runId: 'r3', workflow: 'other' });
    clock += 24 * 3_600_000;
    await gw.chat(request, { tenantId: 't1', runId: 'r4', workflow: 'triage' });
    expect(fake.requests).toHaveLength(sent + 2);
  });

  it('enforces a tenant daily token budget, with per-tenant overrides', async () => {
    const gw = gateway({ tenant_daily_tokens: 1_000_000, per_tenant: { small: { daily_tokens: 350 } } });
    const error = await loop(gw, { tenantId: 'small', runId: 'r1' });
    expect(error.details).toMatchObject({ scope: 'tenant', metric: 'tokens', limit: 350 });
    const smallCalls = fake.requests.length;
    expect(smallCalls).toBeGreaterThan(0);
    await gw.chat(request, { tenantId: 'big', runId: 'r2' });
    expect(fake.requests).toHaveLength(smallCalls + 1);
  });

  it('enforces a tenant monthly budget across the days of a UTC month, and starts afresh the next month', async () => {
    const gw = gateway({ tenant_daily_tokens: 1_000_000, per_tenant: { small: { monthly_tokens: 350 } } });
    const error = await loop(gw, { tenantId: 'small' });
    expect(error.details).toMatchObject({ scope: 'tenant', period: 'month', metric: 'tokens', limit: 350 });
    const sent = fake.requests.length;
    clock = Date.parse('2026-03-31T23:00:00Z');
    await expect(gw.chat(request, { tenantId: 'small' })).rejects.toMatchObject({ code: 'budget_exceeded', details: { period: 'month' } });
    clock = Date.parse('2026-04-01T00:00:00Z');
    await gw.chat(request, { tenantId: 'small' });
    expect(fake.requests).toHaveLength(sent + 1);
  });

  it('a reservation left in the in-memory ledger stops counting once it expires', async () => {
    const gw = gateway({ tenant_daily_tokens: worstTokens });
    await ledger.reserve(
      {
        id: 'call_lost',
        scopes: [{ scope: 'tenant', tenantId: 't1', day: '2026-03-01' }],
        amount: { tokens: 1, costUsd: 0 },
        at: clock,
        expiresAt: clock + 1_000,
      },
      () => true,
    );
    await expect(gw.chat(request, { tenantId: 't1' })).rejects.toMatchObject({ details: { reserved: 1, spent: 0 } });
    clock += 1_000;
    await gw.chat(request, { tenantId: 't1' });
    expect(ledger.reservations.size).toBe(0);
  });

  it('does not let concurrent calls overshoot a budget together', async () => {
    fake.respond = () => ({ content: 'slow', usage: { prompt_tokens: 10, completion_tokens: 90 }, delayMs: 50 });
    const gw = gateway();
    const ctx: CallContext = { tenantId: 't1', runId: 'run_c', budget: { maxTokens: worstTokens * 2 } };
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => gw.chat(request, ctx)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(fake.requests).toHaveLength(2);
  });

  it('counts the default output cap when a request sets no max_tokens, and sends that cap', async () => {
    const gw = gateway();
    const error = await gw
      .chat({ model: 'smart', messages: request.messages }, { tenantId: 't1', runId: 'r', budget: { maxTokens: 1000 } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'budget_exceeded', details: { estimate: estimatePromptTokens(request) + 4096 } });
    expect(fake.requests).toHaveLength(0);
  });
});
