/**
 * LLM budgets across processes: three `agentry start gateway` processes on one PostgreSQL
 * database, a fake OpenAI-compatible upstream on loopback, and the official `openai` client.
 * Fifty concurrent calls spread over the processes never spend more than the tenant's budget,
 * and a process killed mid-call holds its reservation only until it expires.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { estimatePromptTokens } from '../../src/gateway/index.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { BudgetState } from '../../src/types.js';
import { killAll, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { query } from '../helpers/pg-processes.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

/** $1000 per million tokens either way: a token costs $0.001, and every call reports 100 tokens ($0.10). */
const PRICE = 0.001;
const BUDGET_USD = 1;
const messages = (i: number) => [{ role: 'user' as const, content: `call ${String(i).padStart(2, '0')}` }];
/** One call's worst case: its estimated prompt + its max_tokens (100), priced. */
const WORST_TOKENS = estimatePromptTokens({ messages: messages(0) }) + 100;
const WORST_USD = WORST_TOKENS * PRICE;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

interface Setup {
  url: string;
  fake: FakeServer;
  procs: CliProcess[];
  clients: OpenAI[];
}

async function setUp(processes: number): Promise<Setup> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const fake = await startFakeOpenAI();
  cleanups.push(() => fake.close());
  const { dir, remove } = tempDir('agentry-pg-budgets-');
  cleanups.push(remove);
  mkdirSync(join(dir, 'workflows'));
  writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: budgets-e2e\n');
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `version: v1
defaults: { retry: { max_attempts: 1 }, timeout: 10s }
providers:
  up: { type: openai-compatible, base_url: "${fake.url}" }
models:
  smart: { targets: [{ provider: up, model: up-1, input_per_mtok: 1000, output_per_mtok: 1000 }] }
budgets: { tenant_daily_usd: ${BUDGET_USD}, tenant_monthly_usd: 100 }
`,
  );
  const env = { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: db.url, AGENTRY_LOG_LEVEL: 'warn' };
  const procs = Array.from({ length: processes }, () => startCli(['start', 'gateway', '--dir', dir, '--port', '0'], { env }));
  await Promise.all(procs.map((proc) => waitForOutput(proc, (_stderr, stdout) => stdout.includes('Workers:'))));
  const clients = procs.map((proc) => {
    const url = /gateway listening on (http:\/\/\S+)/.exec(proc.stdout)![1]!;
    return new OpenAI({ baseURL: `${url}/v1`, apiKey: KEYS.service, maxRetries: 0 });
  });
  return { url: db.url, fake, procs, clients };
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

describe.skipIf(!hasPostgres)('budgets across gateway processes on PostgreSQL', { timeout: 120_000 }, () => {
  it("50 concurrent calls over 3 processes never spend more than the tenant's daily budget", async () => {
    const { url, fake, clients } = await setUp(3);
    // Calls overlap: each answer takes a while, so many are in flight in every process at once.
    fake.respond = () => ({ content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 90 }, delayMs: 20 + Math.floor(Math.random() * 80) });

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => clients[i % 3]!.chat.completions.create({ model: 'smart', messages: messages(i), max_tokens: 100 })),
    );

    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // Sequentially, calls fit while spent + worst case <= budget: (K - 1) × $0.10 + WORST_USD <= $1.
    const fitting = Math.floor((BUDGET_USD - WORST_USD) / 0.1 + 1e-9) + 1;
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(fitting);
    expect(refused).toHaveLength(50 - ok.length);
    for (const error of refused) {
      expect(error).toBeInstanceOf(APIError);
      expect(error).toMatchObject({ status: 402, code: 'budget_exceeded' });
    }
    // Only the admitted calls reached the provider.
    expect(fake.requests).toHaveLength(ok.length);

    const [ledger] = await query<{ ok: number; refused: number; spent: number }>(
      url,
      `SELECT count(*) FILTER (WHERE outcome = 'ok')::int AS ok, count(*) FILTER (WHERE outcome = 'budget_exceeded')::int AS refused,
              COALESCE(SUM(cost_usd), 0)::float8 AS spent FROM llm_calls WHERE tenant_id = 'default'`,
    );
    expect(ledger).toMatchObject({ ok: ok.length, refused: 50 - ok.length });
    expect(ledger!.spent).toBeCloseTo(ok.length * 0.1, 8);
    // The bound (the budget plus one call's worst case) and the one reservations give: the budget.
    expect(ledger!.spent).toBeLessThanOrEqual(BUDGET_USD + WORST_USD);
    expect(ledger!.spent).toBeLessThanOrEqual(BUDGET_USD + 1e-9);
    // Every reservation was replaced by its record; the counters agree with the ledger.
    expect(await query(url, 'SELECT id FROM budget_reservations')).toEqual([]);
    const counters = await query<{ scope_key: string; spent_usd: number }>(url, 'SELECT scope_key, spent_usd FROM budget_counters ORDER BY scope_key');
    expect(counters.map((c) => c.scope_key)).toEqual([`tenant:default:day:${today()}`, `tenant:default:month:${today().slice(0, 7)}`]);
    for (const c of counters) expect(c.spent_usd).toBeCloseTo(ledger!.spent, 8);
  });

  it('a process killed mid-call holds its worst case until the reservation expires; then the budget is free again', async () => {
    const { url, fake, procs, clients } = await setUp(2);
    fake.respond = () => ({ hang: true });
    const call = clients[0]!.chat.completions.create({ model: 'smart', messages: messages(1), max_tokens: 100 }).catch((e: unknown) => e);
    await fake.received(1);
    procs[0]!.child.kill('SIGKILL');
    await procs[0]!.done;
    expect(await call).toBeInstanceOf(Error);

    const held = await query<{ id: string; scope_key: string; tokens: number; expires_at: number }>(
      url,
      'SELECT id, scope_key, tokens::int AS tokens, expires_at::float8 AS expires_at FROM budget_reservations ORDER BY scope_key',
    );
    expect(held.map((r) => [r.scope_key, r.tokens])).toEqual([
      [`tenant:default:day:${today()}`, WORST_TOKENS],
      [`tenant:default:month:${today().slice(0, 7)}`, WORST_TOKENS],
    ]);
    const expiresAt = held[0]!.expires_at;
    // The reservation outlives the call's timeout (10 s) by the margin, no more.
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(40_000);

    // The other process sees it while it lives…
    fake.respond = () => ({ content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 90 } });
    const store = openPostgresStore(url, { poolSize: 1 });
    cleanups.push(() => store.close());
    const scopes = [{ scope: 'tenant' as const, tenantId: 'default', day: today() }];
    const seen = async (at: number): Promise<BudgetState> => {
      let state: BudgetState | undefined;
      await store.reserveBudget({ id: `probe_${at}`, scopes, amount: { tokens: 0, costUsd: 0 }, at, expiresAt: at + 1 }, (states) => {
        state = states[0];
        return false;
      });
      return state!;
    };
    expect((await seen(Date.now())).reserved.costUsd).toBeCloseTo(WORST_USD, 8);
    await clients[1]!.chat.completions.create({ model: 'smart', messages: messages(2), max_tokens: 100 });
    // …and once it has expired it no longer counts and is deleted by the next check.
    expect((await seen(expiresAt)).reserved).toEqual({ tokens: 0, costUsd: 0 });
    expect((await query(url, 'SELECT scope_key FROM budget_reservations')).map((r) => r.scope_key)).toEqual([`tenant:default:month:${today().slice(0, 7)}`]);
  });
});
