import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { Gateway, InMemoryUsageLedger } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const KEY = 'sk-test-openai-key-0123456789';

let fake: FakeServer;
let ledger: InMemoryUsageLedger;
let delays: number[];

beforeEach(async () => {
  fake = await startFakeOpenAI();
  ledger = new InMemoryUsageLedger();
  delays = [];
});

afterEach(async () => {
  await fake.close();
});

function gateway(overrides: Partial<GatewaySpec> = {}, groupExtra: Record<string, unknown> = {}): Gateway {
  const spec: GatewaySpec = {
    providers: {
      primary: { type: 'openai', base_url: fake.url, api_key: '{{ env.TEST_OPENAI_KEY }}' },
      local: { type: 'openai-compatible', base_url: fake.url },
    },
    models: {
      smart: {
        targets: [
          { provider: 'primary', model: 'model-a', input_per_mtok: 2.5, output_per_mtok: 10 },
          { provider: 'local', model: 'model-b', input_per_mtok: 0.5, output_per_mtok: 1 },
        ],
        retry: { max_attempts: 3, initial: '100ms', max: '5s' },
        ...groupExtra,
      },
    },
    ...overrides,
  };
  return new Gateway({
    spec,
    env: { TEST_OPENAI_KEY: KEY },
    logger: createLogger({ level: 'silent' }),
    ledger,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
}

const hello = { model: 'smart', messages: [{ role: 'user' as const, content: 'Hello' }] };
const ctx = { tenantId: 't1', runId: 'run_1', stepId: 'ask', workflow: 'triage' };

describe('gateway over the openai SDK against a fake OpenAI server', () => {
  it('retries a 429 once after the Retry-After delay and then succeeds', async () => {
    fake.replies.push({ status: 429, headers: { 'retry-after': '1' } }, { content: 'hi there' });
    const res = await gateway().chat(hello, ctx);
    expect(res.choices[0]?.message.content).toBe('hi there');
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a', 'model-a']);
    expect(delays).toEqual([1000]);
    expect(ledger.records.map((r) => [r.outcome, r.errorCode])).toEqual([
      ['error', 'provider_error'],
      ['ok', undefined],
    ]);
  });

  it('falls back to the next model of the group after repeated 500s', async () => {
    fake.respond = (req) => (req.model === 'model-a' ? { status: 500 } : { content: 'from b' });
    const res = await gateway().chat(hello, ctx);
    expect(res.choices[0]?.message.content).toBe('from b');
    expect(res.model).toBe('model-b');
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a', 'model-a', 'model-a', 'model-b']);
    expect(delays).toHaveLength(2);
    expect(ledger.records.map((r) => `${r.provider}/${r.model}:${r.outcome}`)).toEqual([
      'primary/model-a:error',
      'primary/model-a:error',
      'primary/model-a:error',
      'local/model-b:ok',
    ]);
  });

  it('records tokens from the provider usage fields and cost from the configured prices', async () => {
    fake.replies.push({ content: 'priced', usage: { prompt_tokens: 1200, completion_tokens: 300 } });
    const res = await gateway().chat(hello, ctx);
    const [record] = ledger.records;
    expect(record).toMatchObject({
      tenantId: 't1',
      runId: 'run_1',
      stepId: 'ask',
      workflow: 'triage',
      group: 'smart',
      provider: 'primary',
      model: 'model-a',
      inputTokens: 1200,
      outputTokens: 300,
      outcome: 'ok',
    });
    // 1200 × $2.5/M + 300 × $10/M
    expect(record?.costUsd).toBeCloseTo(0.006, 10);
    expect(res.usage).toEqual({ prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500 });
    expect(res.agentry).toMatchObject({ call_id: record?.id, group: 'smart', provider: 'primary' });
    expect(res.agentry?.cost_usd).toBeCloseTo(0.006, 10);
  });

  it('sends the key from the env reference as a bearer token, and no key to an openai-compatible server', async () => {
    fake.respond = (req) => (req.model === 'model-a' ? { status: 503 } : {});
    await gateway().chat(hello, ctx);
    expect(fake.requests[0]?.auth).toBe(`Bearer ${KEY}`);
    expect(fake.requests.at(-1)?.auth).not.toContain(KEY);
    // No output cap the caller did not ask for (no model max_tokens, no budget).
    expect(fake.requests[0]?.body).not.toHaveProperty('max_completion_tokens');
    expect(fake.requests.at(-1)?.body).not.toHaveProperty('max_tokens');
  });

  it('fails at once on a 400 without retrying or falling back', async () => {
    fake.replies.push({ status: 400 });
    const error = await gateway()
      .chat(hello, ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'provider_error', retryable: false, details: { provider: 'primary', model: 'model-a', status: 400 } });
    expect(fake.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('retries a provider that refuses connections, then falls back; provider_unavailable when no target answers', async () => {
    const down = await startFakeOpenAI();
    await down.close();
    const spec = (url: string): Partial<GatewaySpec> => ({
      providers: { gone: { type: 'openai-compatible', base_url: down.url }, local: { type: 'openai-compatible', base_url: url } },
      models: {
        smart: {
          targets: [
            { provider: 'gone', model: 'model-a' },
            { provider: 'local', model: 'model-b' },
          ],
          retry: { max_attempts: 2, initial: '100ms', max: '1s' },
        },
      },
    });
    const res = await gateway(spec(fake.url)).chat(hello, ctx);
    expect(res.model).toBe('model-b');
    expect(ledger.records.map((r) => `${r.provider}:${r.outcome}:${r.errorCode ?? ''}`)).toEqual([
      'gone:error:provider_unavailable',
      'gone:error:provider_unavailable',
      'local:ok:',
    ]);
    const error = await gateway(spec(down.url))
      .chat(hello, ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
      details: {
        attempts: [
          { provider: 'gone', attempts: 2 },
          { provider: 'local', attempts: 2 },
        ],
      },
    });
  });

  it('reports provider_unavailable with every target when all of them keep failing', async () => {
    fake.respond = () => ({ status: 502 });
    const error = await gateway()
      .chat(hello, ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
      details: {
        group: 'smart',
        attempts: [
          { provider: 'primary', model: 'model-a', code: 'provider_error', status: 502, attempts: 3 },
          { provider: 'local', model: 'model-b', code: 'provider_error', status: 502, attempts: 3 },
        ],
      },
    });
    expect(fake.requests).toHaveLength(6);
  });

  it('moves to the next target at once when Retry-After is longer than the longest backoff', async () => {
    fake.respond = (req) => (req.model === 'model-a' ? { status: 429, headers: { 'retry-after': '3600' } } : { content: 'b' });
    await gateway().chat(hello, ctx);
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a', 'model-b']);
    expect(delays).toEqual([]);
  });

  it('streams text and records the usage of the final chunk', async () => {
    fake.replies.push({ pieces: ['Hel', 'lo', ' world'], content: 'Hello world', usage: { prompt_tokens: 42, completion_tokens: 7 } });
    const chunks = [];
    for await (const chunk of gateway().stream(hello, ctx)) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello world');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 } });
    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(ledger.records).toMatchObject([{ outcome: 'ok', inputTokens: 42, outputTokens: 7 }]);
    expect(chunks.at(-1)?.agentry?.call_id).toBe(ledger.records[0]?.id);
  });

  it('retries a stream that fails before its first chunk', async () => {
    fake.replies.push({ status: 503 }, { content: 'second time' });
    let text = '';
    for await (const chunk of gateway().stream(hello, ctx)) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('second time');
    expect(fake.requests).toHaveLength(2);
  });

  it('aborts an in-flight call when the signal fires, without retry or fallback', async () => {
    fake.replies.push({ hang: true });
    const controller = new AbortController();
    const dropped = fake.nextDrop();
    const call = gateway().chat(hello, { ...ctx, signal: controller.signal });
    await fake.received(1);
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    await dropped;
    expect(fake.requests).toHaveLength(1);
    expect(fake.dropped).toBe(1);
    expect(delays).toEqual([]);
    expect(ledger.records).toMatchObject([{ outcome: 'cancelled', errorCode: 'cancelled' }]);
  });

  it('aborts an in-flight stream when the signal fires', async () => {
    fake.replies.push({ hang: true });
    const controller = new AbortController();
    const dropped = fake.nextDrop();
    const consume = (async () => {
      for await (const _chunk of gateway().stream(hello, { ...ctx, signal: controller.signal })) {
        // nothing arrives
      }
    })();
    await fake.received(1);
    controller.abort();
    await expect(consume).rejects.toMatchObject({ code: 'cancelled' });
    await dropped;
    expect(fake.requests).toHaveLength(1);
  });

  it('gives up on a call that passes its timeout and tries the next target', async () => {
    fake.respond = (req) => (req.model === 'model-a' ? { hang: true } : { content: 'fast' });
    const res = await gateway({}, { timeout: '150ms', retry: { max_attempts: 1 } }).chat(hello, ctx);
    expect(res.choices[0]?.message.content).toBe('fast');
    expect(ledger.records.map((r) => r.errorCode ?? r.outcome)).toEqual(['provider_timeout', 'ok']);
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a', 'model-b']);
  });

  it('turns tool calls in the response into canonical tool_calls', async () => {
    fake.replies.push({ tool_calls: [{ id: 'call_1', name: 'lookup', arguments: { q: 'acme' } }] });
    const res = await gateway().chat({ ...hello, tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }] }, ctx);
    expect(res.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"acme"}' } }] },
    });
  });

  it('rejects an unknown model group with not_found', async () => {
    await expect(gateway().chat({ ...hello, model: 'nope' }, ctx)).rejects.toMatchObject({ code: 'not_found' });
    expect(fake.requests).toHaveLength(0);
  });
});
