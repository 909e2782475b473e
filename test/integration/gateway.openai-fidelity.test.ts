/**
 * The official `openai` client against the gateway's OpenAI-compatible routes on a listening
 * server, in front of a fake OpenAI server on loopback: what clients depend on — a provider's
 * client error passed through with its status and error object (not retried), OpenAI's error shape
 * everywhere under OpenAI's paths, `n`, the parameters passed on or refused, usage details,
 * `refusal` and `system_fingerprint`, no default `max_tokens`, `GET /v1/models/{id}` and
 * `POST /v1/embeddings`.
 */
import type { APIError } from 'openai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const CLOSE = { connection: 'close' };
let fake: FakeServer;
let claude: FakeServer;
let api: TestApi;
let client: OpenAI;
let base: string;

function gatewaySpec(): GatewaySpec {
  return {
    env: {
      UP_KEY: { secret: true, default: 'fidelity-upstream-test-key' },
      CLAUDE_KEY: { secret: true, default: 'fidelity-claude-test-key' },
    },
    providers: {
      up: { type: 'openai', base_url: fake.url, api_key: '{{ env.UP_KEY }}' },
      compat: { type: 'openai-compatible', base_url: fake.url },
      demo: { type: 'mock' },
      claude: { type: 'anthropic', base_url: claude.origin, api_key: '{{ env.CLAUDE_KEY }}' },
    },
    models: {
      smart: {
        description: 'The fake OpenAI, then the compatible one',
        targets: [
          { provider: 'up', model: 'up-1', input_per_mtok: 1000, output_per_mtok: 2000 },
          { provider: 'compat', model: 'compat-1' },
        ],
      },
      demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
      priced: { targets: [{ provider: 'up', model: 'up-1', input_per_mtok: 1000, cached_input_per_mtok: 250, output_per_mtok: 2000 }] },
      vectors: {
        targets: [
          { provider: 'up', model: 'embed-1', input_per_mtok: 1000 },
          { provider: 'demo', model: 'demo-embed' },
        ],
      },
      capped: { targets: [{ provider: 'compat', model: 'capped-1', max_tokens: 300 }], max_tokens: 100 },
      strict: {
        targets: [
          { provider: 'up', model: 'up-1' },
          { provider: 'claude', model: 'claude-1' },
        ],
      },
      lenient: { targets: [{ provider: 'claude', model: 'claude-1' }], drop_params: true },
    },
    defaults: { retry: { max_attempts: 3, initial: '1ms', max: '2ms' } },
  };
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  claude = await startFakeAnthropic();
  api = await startTestApi({ gateway: gatewaySpec() });
  base = await listen(api.app);
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEYS.service });
});
afterAll(async () => {
  await api.close();
  await fake.close();
  await claude.close();
});
beforeEach(() => {
  for (const server of [fake, claude]) {
    server.requests.length = 0;
    server.replies.length = 0;
    server.respond = () => ({ content: 'hello', headers: CLOSE });
  }
});
afterEach(() => {
  api.app.server.closeIdleConnections();
});

const hi = { model: 'smart', messages: [{ role: 'user' as const, content: 'hi' }] };

async function failure(call: Promise<unknown>): Promise<APIError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as APIError;
}

describe("a provider's client errors reach OpenAI clients as the provider sent them", () => {
  it('passes a 400 context_length_exceeded through with its status and error object, after one upstream call and no fallback', async () => {
    const upstream = {
      message: "This model's maximum context length is 8192 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    };
    fake.respond = () => ({ status: 400, body: { error: upstream }, headers: CLOSE });
    const error = await failure(client.chat.completions.create(hi));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.param).toBe('messages');
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain('maximum context length is 8192');
    expect(fake.requests.map((r) => r.model)).toEqual(['up-1']);
    // Streaming fails the same way before its first chunk.
    const stream = await failure(client.chat.completions.create({ ...hi, stream: true }));
    expect(stream.status).toBe(400);
    expect(stream.code).toBe('context_length_exceeded');
    expect(fake.requests).toHaveLength(2);
  });

  it('passes 422 and 404 through (UnprocessableEntityError, NotFoundError); a 500 is still retried and falls back', async () => {
    fake.respond = () => ({
      status: 422,
      body: { error: { message: 'bad schema', type: 'invalid_request_error', param: 'tools', code: null } },
      headers: CLOSE,
    });
    const unprocessable = await failure(client.chat.completions.create(hi));
    expect(unprocessable).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(unprocessable.message).toContain('bad schema');

    fake.respond = () => ({
      status: 404,
      body: { error: { message: 'The model `up-1` does not exist', type: 'invalid_request_error', param: null, code: 'model_not_found' } },
      headers: CLOSE,
    });
    const missing = await failure(client.chat.completions.create(hi));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe('model_not_found');
    expect(fake.requests).toHaveLength(2);

    fake.requests.length = 0;
    fake.respond = (req) => (req.model === 'up-1' ? { status: 500, headers: CLOSE } : { content: 'from compat', headers: CLOSE });
    const res = await client.chat.completions.create(hi);
    expect(res.choices[0]!.message.content).toBe('from compat');
    expect(fake.requests.map((r) => r.model)).toEqual(['up-1', 'up-1', 'up-1', 'compat-1']);
  });

  it("keeps a provider's 401 (the gateway's own key) a 502 provider_error", async () => {
    fake.respond = () => ({
      status: 401,
      body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } },
      headers: CLOSE,
    });
    const noRetry = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEYS.service, maxRetries: 0 });
    const error = await failure(noRetry.chat.completions.create(hi));
    expect(error.status).toBe(502);
    expect(error.code).toBe('provider_error');
  });

  it("answers OpenAI's error shape on unknown routes under OpenAI's paths, and on bad requests", async () => {
    for (const path of ['/v1/chat/nope', '/v1/models/x/y', '/v1/completions', '/v1/embeddings/z']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEYS.service}` } });
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { error?: { message: string; code: string } };
      expect(body.error, path).toMatchObject({ code: 'not_found', message: expect.stringContaining('no route') });
    }
    // Agentry's own API keeps plain problem+json.
    const own = await fetch(`${base}/v1/nothing-here`, { headers: { authorization: `Bearer ${KEYS.service}` } });
    expect(await own.json()).not.toHaveProperty('error');
    const invalid = await failure(client.chat.completions.create({ model: 'smart', messages: [] }));
    expect(invalid.status).toBe(400);
    expect(invalid.message).toMatch(/messages/);
    const bad = await failure(new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong-key' }).chat.completions.create(hi));
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(bad.message).not.toContain('no body');
  });
});

describe('parameters', () => {
  it('n: 2 gives two choices, from the mock provider (JSON and stream) and passed on to OpenAI', async () => {
    const res = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'two please' }], n: 2 });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'mock reply to: two please'],
      [1, 'mock reply to: two please'],
    ]);
    const stream = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'abc' }], n: 2, stream: true });
    const texts = ['', ''];
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.delta.content ?? '';
    expect(texts).toEqual(['mock reply to: abc', 'mock reply to: abc']);

    await client.chat.completions.create({ ...hi, n: 2 });
    expect(fake.requests[0]!.body.n).toBe(2);
  });

  it('takes content as a list of parts, a one-part list included, and passes it on as sent', async () => {
    const parts = [{ type: 'text' as const, text: 'one part' }];
    const res = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: parts }] });
    expect(res.choices[0]!.message.content).toMatch(/one part/);
    await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: [...parts, { type: 'text', text: 'two' }] }] });
    expect(fake.requests[0]!.body.messages).toEqual([{ role: 'user', content: [...parts, { type: 'text', text: 'two' }] }]);
  });

  it('passes the sampling, logprobs, reasoning and tagging parameters to OpenAI as they are', async () => {
    const params = {
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '50256': -100 },
      seed: 42,
      reasoning_effort: 'low' as const,
      metadata: { team: 'support' },
      service_tier: 'flex' as const,
      parallel_tool_calls: false,
      user: 'user-7',
    };
    await client.chat.completions.create({ ...hi, ...params });
    expect(fake.requests[0]!.body).toMatchObject(params);
  });

  it('refuses a parameter an anthropic target cannot honour with 400 unsupported_parameter naming it, and sends nothing', async () => {
    const error = await failure(client.chat.completions.create({ model: 'strict', messages: hi.messages, seed: 7 }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe('unsupported_parameter');
    expect(error.param).toBe('seed');
    expect(error.message).toMatch(/'seed' is not supported by model group 'strict'.*claude\/claude-1/);
    expect(fake.requests).toHaveLength(0);
    expect(claude.requests).toHaveLength(0);
    // Defaults ask nothing of a provider; user and parallel_tool_calls are mapped.
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    await client.chat.completions.create({ model: 'lenient', messages: hi.messages, n: 1, logprobs: false, user: 'u-1', parallel_tool_calls: false, tools });
    expect(claude.requests[0]!.body).toMatchObject({ metadata: { user_id: 'u-1' }, tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
  });

  it('with drop_params: true drops what the target cannot honour and names it in x-agentry-dropped-params', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'lenient', messages: hi.messages, seed: 7, n: 2, logprobs: true, temperature: 0.2 })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('hello');
    expect(response.headers.get('x-agentry-dropped-params')).toBe('n, logprobs, seed');
    const sent = claude.requests[0]!.body;
    expect(sent.temperature).toBe(0.2);
    for (const dropped of ['seed', 'n', 'logprobs']) expect(sent).not.toHaveProperty(dropped);
    const stream = await client.chat.completions.create({ model: 'lenient', messages: hi.messages, seed: 7, stream: true }).withResponse();
    expect(stream.response.headers.get('x-agentry-dropped-params')).toBe('seed');
    for await (const _chunk of stream.data) void _chunk;
  });

  it("sends no max_tokens the caller did not set, unless the model configures one (the target's wins over the group's)", async () => {
    await client.chat.completions.create(hi);
    expect(fake.requests[0]!.body).not.toHaveProperty('max_tokens');
    expect(fake.requests[0]!.body).not.toHaveProperty('max_completion_tokens');
    await client.chat.completions.create({ model: 'capped', messages: hi.messages });
    expect(fake.requests[1]!.body.max_tokens).toBe(300);
    await client.chat.completions.create({ model: 'capped', messages: hi.messages, max_tokens: 12 });
    expect(fake.requests[2]!.body.max_tokens).toBe(12);
  });
});

describe('usage details, refusal and system_fingerprint', () => {
  const usage = {
    prompt_tokens: 1000,
    completion_tokens: 500,
    prompt_tokens_details: { cached_tokens: 800, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 300, audio_tokens: 0 },
  };

  it('keeps them in answers and chunks, prices cached input apart, and records the details in the ledger and /v1/usage', async () => {
    fake.respond = () => ({ content: null, refusal: "I can't help with that.", usage, system_fingerprint: 'fp_44709d6fcb', headers: CLOSE });
    const { data, response } = await client.chat.completions.create({ model: 'priced', messages: hi.messages }).withResponse();
    expect(data.system_fingerprint).toBe('fp_44709d6fcb');
    expect(data.choices[0]!.message.refusal).toBe("I can't help with that.");
    expect(data.usage).toMatchObject(usage);
    // 200 uncached × $1000/M + 800 cached × $250/M + 500 × $2000/M
    expect(Number(response.headers.get('x-agentry-cost-usd'))).toBeCloseTo(1.4, 10);

    const stream = await client.chat.completions.create({
      model: 'priced',
      messages: hi.messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let refusal = '';
    const fingerprints = new Set<string | undefined>();
    let streamed: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      fingerprints.add(chunk.system_fingerprint);
      refusal += chunk.choices[0]?.delta.refusal ?? '';
      if (chunk.usage) streamed = chunk.usage;
    }
    expect(refusal).toBe("I can't help with that.");
    expect(fingerprints.has('fp_44709d6fcb')).toBe(true);
    expect(streamed).toMatchObject(usage);

    const today = new Date().toISOString().slice(0, 10);
    const report = (await (await fetch(`${base}/v1/usage?from=${today}`, { headers: api.auth('viewer') })).json()) as {
      items: Array<Record<string, unknown>>;
      totals: Record<string, number>;
    };
    const item = report.items.find((i) => i['model_group'] === 'priced');
    expect(item).toMatchObject({ calls: 2, input_tokens: 2000, cached_input_tokens: 1600, output_tokens: 1000, reasoning_tokens: 600 });
    expect(item!['cost_usd']).toBeCloseTo(2.8, 8);
    expect(report.totals['cached_input_tokens']).toBeGreaterThanOrEqual(1600);
  });
});

describe('GET /v1/models/{id} and POST /v1/embeddings', () => {
  it("retrieves a model group in OpenAI's shape, and a missing one is a NotFoundError with a message", async () => {
    const model = await client.models.retrieve('smart');
    expect(model).toMatchObject({ id: 'smart', object: 'model', owned_by: 'agentry' });
    expect(typeof model.created).toBe('number');
    const missing = await failure(client.models.retrieve('nope'));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.message).toMatch(/'nope' does not exist/);
  });

  it('embeds through the openai provider (floats and base64), records the call and its cost, and falls back to the mock', async () => {
    const res = await client.embeddings.create({ model: 'vectors', input: ['a', 'b'] }).withResponse();
    expect(res.data.data.map((d) => Array.from(d.embedding))).toEqual([
      [1, 0.5, -0.5],
      [2, 0.5, -0.5],
    ]);
    expect(res.data.model).toBe('embed-1');
    expect(res.data.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
    expect(Number(res.response.headers.get('x-agentry-cost-usd'))).toBeCloseTo(0.006, 10);
    expect(fake.requests[0]).toMatchObject({ path: '/v1/embeddings', body: { model: 'embed-1', input: ['a', 'b'] } });
    const raw = await client.embeddings.create({ model: 'vectors', input: 'c', encoding_format: 'base64' });
    expect(typeof raw.data[0]!.embedding).toBe('string');

    const today = new Date().toISOString().slice(0, 10);
    const report = (await (await fetch(`${base}/v1/usage?from=${today}`, { headers: api.auth('viewer') })).json()) as { items: Array<Record<string, unknown>> };
    expect(report.items.find((i) => i['model_group'] === 'vectors')).toMatchObject({ calls: 2, input_tokens: 9, output_tokens: 0 });

    // The upstream is down: the mock target answers with deterministic unit vectors.
    fake.respond = () => ({ status: 503, headers: CLOSE });
    const first = await client.embeddings.create({ model: 'vectors', input: 'same text', dimensions: 8 });
    const again = await client.embeddings.create({ model: 'vectors', input: 'same text', dimensions: 8 });
    const other = await client.embeddings.create({ model: 'vectors', input: 'other text', dimensions: 8 });
    expect(first.model).toBe('demo-embed');
    expect(first.data[0]!.embedding).toHaveLength(8);
    expect(Math.hypot(...first.data[0]!.embedding)).toBeCloseTo(1, 5);
    expect(again.data[0]!.embedding).toEqual(first.data[0]!.embedding);
    expect(other.data[0]!.embedding).not.toEqual(first.data[0]!.embedding);
  });

  it('refuses a group with an anthropic target, an unknown group, and a call over a run budget', async () => {
    const anthropic = await failure(client.embeddings.create({ model: 'lenient', input: 'x' }));
    expect(anthropic.status).toBe(400);
    expect(anthropic.message).toMatch(/cannot make embeddings: its target claude\/claude-1 is a anthropic provider/);
    expect((await failure(client.embeddings.create({ model: 'nope', input: 'x' }))).status).toBe(404);

    // The most the route allows (2,048 inputs × 65,536 dimensions) is refused by the mock at once, not computed.
    const huge = await failure(client.embeddings.create({ model: 'demo', input: Array.from({ length: 2048 }, (_, i) => `text ${i}`), dimensions: 65_536 }));
    expect(huge.status).toBe(400);
    expect(huge.message).toMatch(/at most 1048576 numbers per call; asked for 2048 × 65536/);

    const run = await api.engine.startRun('nap', {});
    const over = await failure(
      client.embeddings.create(
        { model: 'vectors', input: 'a long text to embed, long enough to cost' },
        { headers: { 'x-agentry-run-id': run.id, 'x-agentry-budget': JSON.stringify({ maxCostUsd: 0.000001 }) } },
      ),
    );
    expect(over.status).toBe(402);
    expect(over.code).toBe('budget_exceeded');
    expect(fake.requests).toHaveLength(0);
  });
});
