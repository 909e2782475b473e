/**
 * Upstream throttling (gateway.yaml `limits:`): with a limit of 2 requests a second, 10 calls
 * made at once all reach the upstream, spread over time (never more than 2 in a second, by the
 * upstream's own receipt times) and none lost; a call whose slot comes after its deadline is
 * refused `upstream_throttled` (429 with Retry-After over HTTP) and never sent; the time queued
 * and the queue length reach the observer. The gateway's clock and sleep are a manual clock
 * here, so the spacing is exact and no assertion depends on how fast the machine is.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gateway, InMemoryUsageLedger, type ChatRequest } from '../../src/gateway/index.js';
import type { GatewayObserver } from '../../src/gateway/call-recorder.js';
import type { ResolvedTarget } from '../../src/gateway/config.js';
import { storeLanes, UpstreamThrottle, type ThrottleLanes } from '../../src/gateway/throttle.js';
import { AgentryError } from '../../src/lib/errors.js';
import { createLogger } from '../../src/obs/logger.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startTestApi } from '../helpers/server.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

/** A clock the test moves: `sleep` waits until the test advances past its end. */
class ManualClock {
  t = Date.parse('2026-05-01T00:00:00Z');
  readonly timers: Array<{ at: number; resolve: () => void }> = [];
  readonly now = (): number => this.t;
  readonly sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers.splice(this.timers.indexOf(timer), 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
    });
  /** Moves to the earliest timer and wakes it; false when none waits. */
  fireNext(): boolean {
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers.shift();
    if (next === undefined) return false;
    this.t = Math.max(this.t, next.at);
    next.resolve();
    return true;
  }
}

let fake: FakeServer;
let clock: ManualClock;
/** The manual clock's time at each request the upstream received. */
let receivedAt: number[];

beforeEach(async () => {
  fake = await startFakeOpenAI();
  clock = new ManualClock();
  receivedAt = [];
  fake.respond = () => {
    receivedAt.push(clock.now());
    return { content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 5 } };
  };
});
afterEach(async () => {
  await fake.close();
});

function spec(limits: NonNullable<GatewaySpec['providers'][string]['limits']>): GatewaySpec {
  return {
    providers: { up: { type: 'openai-compatible', base_url: fake.url, limits } },
    models: { smart: { targets: [{ provider: 'up', model: 'm' }], retry: { max_attempts: 1 } } },
  };
}

function gateway(s: GatewaySpec, observer?: GatewayObserver, lanes?: ThrottleLanes): Gateway {
  return new Gateway({
    spec: s,
    env: {},
    logger: createLogger({ level: 'silent' }),
    ledger: new InMemoryUsageLedger(),
    now: clock.now,
    sleep: clock.sleep,
    ...(observer === undefined ? {} : { observer }),
    ...(lanes === undefined ? {} : { lanes }),
  });
}

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'hi' }] };

/** Waits until every call is either at the upstream or asleep waiting for its slot. */
async function settled(calls: number): Promise<void> {
  while (fake.requests.length + clock.timers.length < calls) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('upstream throttling', () => {
  it('spreads 10 rapid calls under a 2 requests/second limit over time: at most 2 reach the upstream in any second, none is lost', async () => {
    const depths: number[] = [];
    const waits: number[] = [];
    let depth = 0;
    const observer: GatewayObserver = {
      llmCall: () => undefined,
      budgetRefused: () => undefined,
      upstreamQueueChanged: (_provider, delta) => {
        depth += delta;
        depths.push(depth);
      },
      upstreamQueued: (_provider, _group, seconds) => waits.push(seconds),
    };
    const gw = gateway(spec({ requests_per_minute: 120 }), observer);
    const calls = Array.from({ length: 10 }, () => gw.chat(request, { tenantId: 'default' }));
    await settled(10);
    for (let received = fake.requests.length; clock.fireNext();) {
      await fake.received(++received);
      await settled(10);
    }
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.choices[0]?.message.content)).toEqual(Array(10).fill('ok'));
    expect(fake.requests).toHaveLength(10);

    // Count per window of the limit: every second from the first receipt holds at most 2.
    const start = receivedAt[0]!;
    const perSecond = new Map<number, number>();
    for (const at of receivedAt) perSecond.set(Math.floor((at - start) / 1000), (perSecond.get(Math.floor((at - start) / 1000)) ?? 0) + 1);
    expect([...perSecond.values()].every((n) => n <= 2)).toBe(true);
    expect([...perSecond.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    // Any sliding second too: the third receipt after one is at least a second later.
    for (let i = 0; i + 2 < receivedAt.length; i++) expect(receivedAt[i + 2]! - receivedAt[i]!).toBeGreaterThanOrEqual(1000);

    // Nine waited (the first had room): the queue grew to 9 and drained, and the waits were observed.
    expect(Math.max(...depths)).toBe(9);
    expect(depth).toBe(0);
    expect(waits).toHaveLength(10);
    expect(waits.filter((s) => s > 0)).toHaveLength(9);
    expect(Math.max(...waits)).toBe(4.5);
  });

  it('lets burst calls go at once, then spreads the rest', async () => {
    const gw = gateway(spec({ requests_per_minute: 60, burst: 3 }));
    const calls = Array.from({ length: 5 }, () => gw.chat(request, { tenantId: 'default' }));
    await settled(5);
    expect(fake.requests).toHaveLength(3);
    for (let received = 3; clock.fireNext();) {
      await fake.received(++received);
      await settled(5);
    }
    await Promise.all(calls);
    const start = receivedAt[0]!;
    expect(receivedAt.map((at) => at - start)).toEqual([0, 0, 0, 1000, 2000]);
  });

  it("refuses upstream_throttled, never sending it, a call whose slot comes after the caller's deadline", async () => {
    const throttled: string[] = [];
    const gw = gateway(spec({ requests_per_minute: 120 }), {
      llmCall: () => undefined,
      budgetRefused: () => undefined,
      upstreamThrottled: (provider, group) => throttled.push(`${group}/${provider}`),
    });
    const deadline = clock.now() + 600;
    const first = gw.chat(request, { tenantId: 'default', deadline });
    const second = gw.chat(request, { tenantId: 'default', deadline });
    const third = gw.chat(request, { tenantId: 'default', deadline }).catch((e: unknown) => e);
    const error = await third;
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'upstream_throttled', retryable: true, retryAfterMs: 1000, details: { group: 'smart' } });
    expect(throttled).toEqual(['smart/up']);
    await settled(2);
    while (clock.fireNext()) await settled(2);
    await Promise.all([first, second]);
    expect(fake.requests).toHaveLength(2);
  });

  it('counts tokens per minute: a call over what is left waits for the minute to refill', async () => {
    const gw = gateway(spec({ tokens_per_minute: 600 }));
    // Each call counts its prompt estimate + max_tokens (300), then settles at what the upstream reported (10).
    const big: ChatRequest = { ...request, max_tokens: 299 };
    await gw.chat(big, { tenantId: 'default' });
    // Without the settling, this one would exceed the minute's 600 and wait.
    await gw.chat(big, { tenantId: 'default' });
    expect(clock.timers).toHaveLength(0);
    expect(fake.requests).toHaveLength(2);
    // Nearly the whole minute's worth at once, with 20 tokens already used: it waits for them to drain (100 ms a token).
    const huge = gw.chat({ ...request, max_tokens: 590 }, { tenantId: 'default' });
    await settled(3);
    expect(fake.requests).toHaveLength(2);
    expect(clock.timers).toHaveLength(1);
    const wait = clock.timers[0]!.at - clock.now();
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(2000);
    clock.fireNext();
    await huge;
    expect(fake.requests).toHaveLength(3);
  });
});

describe('upstream throttling and calls that ask for too much', () => {
  it("holds at most a minute's worth of tokens for a call with a huge max_tokens, and a failed call keeps only its prompt", async () => {
    const gw = gateway(spec({ tokens_per_minute: 600 }));
    // The upstream refuses the huge call (as a provider refuses a max_tokens past its limit).
    fake.replies.push({ status: 400, body: { error: { message: 'max_tokens is too large', type: 'invalid_request_error', code: null } } });
    const huge = await gw.chat({ ...request, max_tokens: 10_000_000 }, { tenantId: 'default' }).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(AgentryError);
    expect(fake.requests).toHaveLength(1);
    // Without the cap and the settling it would hold the lane for 10,000,000 tokens (11 days at 600 a minute): this call goes at once.
    await gw.chat({ ...request, max_tokens: 100 }, { tenantId: 'default', deadline: clock.now() + 1_000 });
    expect(clock.timers).toHaveLength(0);
    expect(fake.requests).toHaveLength(2);
  });

  it("lets a call larger than a minute's worth hold the lane for a minute at most while it runs", async () => {
    const throttle = new UpstreamThrottle({ now: clock.now, sleep: clock.sleep });
    const target = { provider: 'up', model: 'm', limits: { tokensPerMinute: 600, burst: 1 } } as unknown as ResolvedTarget;
    // In flight (not settled yet) with an estimate of 5,000,000 tokens: it holds 600.
    await throttle.acquire('smart', target, undefined, 5_000_000, clock.now() + 1_000, undefined);
    // Another call waits until the lane has room for its 100 (10 s), and no longer (uncapped: refused, room in 8,333 minutes).
    const next = throttle.acquire('smart', target, undefined, 100, clock.now() + 61_000, undefined);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(clock.timers.map((t) => t.at - clock.now())).toEqual([10_000]);
    clock.fireNext();
    await next;
  });
});

/** Two stores on one database: two processes of a fleet (SQLite has one server process: one store, two gateways). */
const sharedStores: Record<string, () => Promise<{ a: Store; b: Store; cleanup: () => Promise<void> }>> = {
  async sqlite() {
    const { dir, remove } = tempDir();
    const a = openSqliteStore(join(dir, 'agentry.db'));
    await a.migrate();
    return { a, b: a, cleanup: async () => (await a.close(), remove()) };
  },
  ...(hasPostgres
    ? {
        async postgres() {
          const db = await createTestDatabase();
          const a = openPostgresStore(db.url, { poolSize: 2 });
          const b = openPostgresStore(db.url, { poolSize: 2 });
          return { a, b, cleanup: async () => (await Promise.all([a.close(), b.close()]), await db.drop()) };
        },
      }
    : {}),
};

describe.each(Object.keys(sharedStores))('upstream throttling shared by the fleet on %s', (name) => {
  it("holds the limits across the gateways of every process on the store: one's slot delays the other's calls, a cancelled wait gives it back", async () => {
    const { a, b, cleanup } = await sharedStores[name]!();
    try {
      const s = spec({ requests_per_minute: 120 });
      const one = gateway(s, undefined, storeLanes(a));
      const other = gateway(s, undefined, storeLanes(b));
      const deadline = clock.now() + 600;
      await one.chat(request, { tenantId: 'default', deadline });
      // The other process's call waits for the next slot, 500 ms on (in its own memory it would go at once)...
      const second = other.chat(request, { tenantId: 'default', deadline });
      await settled(2);
      expect(fake.requests).toHaveLength(1);
      expect(clock.timers.map((t) => t.at - clock.now())).toEqual([500]);
      // ...and a third, from the first process, would come after its deadline: refused, never sent.
      const third = await one.chat(request, { tenantId: 'default', deadline }).catch((e: unknown) => e);
      expect(third).toMatchObject({ code: 'upstream_throttled', retryAfterMs: 1000 });
      clock.fireNext();
      await second;
      expect(fake.requests).toHaveLength(2);
      expect(receivedAt[1]! - receivedAt[0]!).toBe(500);

      // A call cancelled while it waits gives its slot back to the fleet.
      const cancel = new AbortController();
      const waiting = other.chat(request, { tenantId: 'default', signal: cancel.signal }).catch((e: unknown) => e);
      await settled(3);
      expect(clock.timers.map((t) => t.at - clock.now())).toEqual([500]);
      cancel.abort();
      expect(await waiting).toMatchObject({ code: 'cancelled' });
      // The next call takes the slot it gave back: 500 ms on, not 1,000.
      const next = one.chat(request, { tenantId: 'default' });
      await settled(3);
      expect(clock.timers.map((t) => t.at - clock.now())).toEqual([500]);
      clock.fireNext();
      await next;
      expect(fake.requests).toHaveLength(3);
    } finally {
      await cleanup();
    }
  });
});

describe('upstream throttling over HTTP', () => {
  it('answers 429 upstream_throttled with Retry-After when the call cannot go within its timeout', async () => {
    const api = await startTestApi({
      start: false,
      gateway: {
        providers: { up: { type: 'openai-compatible', base_url: fake.url, limits: { requests_per_minute: 1 } } },
        models: { smart: { targets: [{ provider: 'up', model: 'm' }], timeout: '2s', retry: { max_attempts: 1 } } },
      },
    });
    try {
      const send = () =>
        api.app.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: api.auth('service'),
          payload: { model: 'smart', messages: [{ role: 'user', content: 'hi' }] },
        });
      expect((await send()).statusCode).toBe(200);
      const refused = await send();
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'upstream_throttled' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(2);
      expect(fake.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });
});
