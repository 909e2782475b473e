/**
 * `GET /v1/usage/budgets`: the state of the caller's tenant's budgets (per day and month, the
 * tenant's and each limited workflow's), and a monthly budget refusing a call over HTTP with
 * 402 `budget_exceeded` naming the period.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

let fake: FakeServer;
let api: TestApi;

function gatewaySpec(): GatewaySpec {
  return {
    providers: { up: { type: 'openai-compatible', base_url: fake.url } },
    // A token costs $0.001.
    models: { smart: { targets: [{ provider: 'up', model: 'up-1', input_per_mtok: 1000, output_per_mtok: 1000 }] } },
    defaults: { retry: { max_attempts: 1 } },
    budgets: { tenant_daily_usd: 5, tenant_monthly_tokens: 250, per_workflow: { nap: { daily_tokens: 500, monthly_usd: 20 } } },
  };
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  api = await startTestApi({ gateway: gatewaySpec() });
});
afterAll(async () => {
  await api.close();
  await fake.close();
});
beforeEach(() => {
  fake.respond = () => ({ content: 'hi', usage: { prompt_tokens: 10, completion_tokens: 90 }, headers: { connection: 'close' } });
});

const chat = () =>
  api.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { model: 'smart', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 },
    headers: api.auth('service'),
  });

describe('GET /v1/usage/budgets', () => {
  it("shows the tenant's budgets per day and month, then the limited workflows', with what is spent; a monthly budget refuses with 402", async () => {
    expect((await chat()).statusCode).toBe(200);
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const month = day.slice(0, 7);
    const res = await api.app.inject({ url: '/v1/usage/budgets', headers: api.auth('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    const zero = { reserved_usd: 0, reserved_tokens: 0 };
    expect(res.json()).toEqual({
      tenant_id: 'default',
      budgets: [
        {
          scope: 'tenant',
          workflow: null,
          period: 'day',
          window: day,
          resets_at: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString(),
          limit_usd: 5,
          limit_tokens: null,
          spent_usd: 0.1,
          spent_tokens: 100,
          ...zero,
        },
        {
          scope: 'tenant',
          workflow: null,
          period: 'month',
          window: month,
          resets_at: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
          limit_usd: null,
          limit_tokens: 250,
          spent_usd: 0.1,
          spent_tokens: 100,
          ...zero,
        },
        expect.objectContaining({ scope: 'workflow', workflow: 'nap', period: 'day', limit_tokens: 500, limit_usd: null, spent_tokens: 0 }),
        expect.objectContaining({ scope: 'workflow', workflow: 'nap', period: 'month', limit_usd: 20, limit_tokens: null, spent_usd: 0 }),
      ],
    });

    // 100 spent + a worst case of over 100 fits 250 once more; then the month is full.
    expect((await chat()).statusCode).toBe(200);
    const refused = await chat();
    expect(refused.statusCode).toBe(402);
    expect(refused.json()).toMatchObject({ code: 'budget_exceeded', status: 402, error: { code: 'budget_exceeded' } });
    expect(refused.json().detail).toMatch(/^tenant monthly budget of 250 tokens would be exceeded: spent 200 tokens, this call may use up to \d+ tokens/);
  });

  it('needs usage:read', async () => {
    expect((await api.app.inject({ url: '/v1/usage/budgets' })).statusCode).toBe(401);
  });
});
