/**
 * Anthropic's Messages API on the gateway (`POST /v1/messages`), driven by the official
 * `@anthropic-ai/sdk` client against a listening server in front of fake upstreams on loopback:
 * an OpenAI-compatible one (requests and answers translated both ways, streams included, tools
 * included) and an Anthropic one (the caller's body and the upstream's answer passed through);
 * errors in Anthropic's shape with the right statuses; model groups, budgets and the usage ledger
 * as for chat completions; and the OpenAI direction to an Anthropic provider still translated.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { silentLogger } from '../helpers/engine.js';
import { API_KEYS, KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const CLOSE = { connection: 'close' };
const ANTHROPIC_KEY = 'upstream-anthropic-key-0123456789abcdef';

let openai: FakeServer;
let anthropic: FakeServer;
/** An OpenAI-compatible upstream whose stream breaks off after its first chunk. */
let broken: Server;
let brokenUrl: string;
let api: TestApi;
let base: string;
let client: Anthropic;

function gatewaySpec(): GatewaySpec {
  return {
    providers: {
      up: { type: 'openai-compatible', base_url: openai.url },
      claude: { type: 'anthropic', base_url: anthropic.origin },
      demo: { type: 'mock' },
      broken: { type: 'openai-compatible', base_url: brokenUrl },
    },
    models: {
      broken: { targets: [{ provider: 'broken', model: 'broken-1' }] },
      // $1000 per million tokens either way: a token costs $0.001.
      smart: { targets: [{ provider: 'up', model: 'up-1', input_per_mtok: 1000, output_per_mtok: 1000 }], retry: { max_attempts: 3 } },
      claude: { targets: [{ provider: 'claude', model: 'claude-up-1', input_per_mtok: 1000, output_per_mtok: 1000 }] },
      demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
    },
    defaults: { retry: { max_attempts: 1, initial: '1ms', max: '2ms' } },
  };
}

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  broken = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
    const chunk = {
      id: 'chatcmpl-b',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'broken-1',
      choices: [{ index: 0, delta: { content: 'par' }, finish_reason: null }],
    };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => setTimeout(() => res.destroy(), 20));
  });
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/v1`;
  api = await startTestApi({ gateway: gatewaySpec(), gatewayEnv: { ANTHROPIC_API_KEY: ANTHROPIC_KEY } });
  base = await listen(api.app);
  client = new Anthropic({ baseURL: base, apiKey: KEYS.service, maxRetries: 0 });
});
afterAll(async () => {
  await api.close();
  await Promise.all([openai.close(), anthropic.close(), new Promise((resolve) => broken.close(resolve))]);
});
beforeEach(() => {
  for (const fake of [openai, anthropic]) {
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.respond = () => ({ content: 'hello from upstream', usage: { prompt_tokens: 10, completion_tokens: 5 }, headers: CLOSE });
  }
});
afterEach(() => {
  // The SDK keeps its connections to the server alive between calls; the leak guard counts sockets per test.
  api.app.server.closeIdleConnections();
});

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The named events of an SSE body, in order. */
function events(body: string): Array<{ event: string; data: Record<string, unknown> }> {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.service, 'content-type': 'application/json', ...CLOSE, ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('an Anthropic client to an OpenAI-format provider', () => {
  it('translates the request (system, blocks, tools, tool_choice, parameters) and answers a message', async () => {
    const message = await client.messages.create({
      model: 'smart',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in ' },
            { type: 'text', text: 'Paris?' },
          ],
        },
      ],
      tools: [weather],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      // Sampling parameters the SDK's types no longer list; the API (and the gateway) still take them.
      ...{ temperature: 0.2, top_p: 0.9, top_k: 5 },
      metadata: { user_id: 'u-42' },
    });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'up-1',
      content: [{ type: 'text', text: 'hello from upstream' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    });
    expect(message.id).toMatch(/^msg_/);
    const sent = openai.requests[0]!.body;
    expect(sent).toMatchObject({
      model: 'up-1',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      max_tokens: 300,
      stop: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      user: 'u-42',
      tool_choice: 'auto',
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: weather.input_schema } }],
    });
    // No OpenAI counterpart: top_k reaches Anthropic targets only.
    expect(sent).not.toHaveProperty('top_k');
  });

  it('runs a tool conversation: tool_calls come back as tool_use blocks, tool_result blocks go up as tool messages', async () => {
    openai.replies.push({ content: null, tool_calls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }], headers: CLOSE });
    const first = await client.messages.create({
      model: 'smart',
      max_tokens: 100,
      tools: [weather],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(openai.requests[0]!.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });

    const second = await client.messages.create({
      model: 'smart',
      max_tokens: 100,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '18°C, sunny' }] },
            { type: 'text', text: 'And this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'hello from upstream' }]);
    expect(openai.requests[1]!.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C, sunny' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'And this picture?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  it('maps finish reasons and cached prompt tokens', async () => {
    openai.replies.push({
      body: {
        id: 'chatcmpl-x',
        object: 'chat.completion',
        created: 1,
        model: 'up-1',
        choices: [{ index: 0, message: { role: 'assistant', content: 'cut sh' }, finish_reason: 'length' }],
        usage: { prompt_tokens: 100, completion_tokens: 2, total_tokens: 102, prompt_tokens_details: { cached_tokens: 60 } },
      },
      headers: CLOSE,
    });
    const message = await client.messages.create({ model: 'smart', max_tokens: 2, messages: [{ role: 'user', content: 'long story' }] });
    expect(message.stop_reason).toBe('max_tokens');
    // Anthropic counts cached input apart; OpenAI-format providers that report it keep it apart here.
    expect(message.usage.input_tokens).toBe(40);
    expect(message.usage.cache_read_input_tokens).toBe(60);
    expect(message.usage.output_tokens).toBe(2);
  });

  it("streams Anthropic's event sequence: messages.stream() assembles text and the final message", async () => {
    openai.respond = () => ({ pieces: ['hel', 'lo ', 'there'], content: 'hello there', usage: { prompt_tokens: 7, completion_tokens: 3 }, headers: CLOSE });
    const stream = client.messages.stream({ model: 'smart', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const final = await stream.finalMessage();
    expect(texts).toEqual(['hel', 'lo ', 'there']);
    expect(final).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: 'hello there' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 7, output_tokens: 3 },
    });
    expect(openai.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const raw = await post({ model: 'smart', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events(await raw.text()).map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('streams tool use: input_json_delta pieces become the tool_use input of the final message', async () => {
    openai.respond = () => ({
      content: 'Checking.',
      tool_calls: [
        { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
        { id: 'call_b', name: 'get_weather', arguments: { city: 'Rome' } },
      ],
      headers: CLOSE,
    });
    const stream = client.messages.stream({ model: 'smart', max_tokens: 50, tools: [weather], messages: [{ role: 'user', content: 'two cities' }] });
    const json: string[] = [];
    stream.on('inputJson', (delta) => json.push(delta));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Rome' } },
    ]);
    expect(json).toEqual(['{"city":"Paris"}', '{"city":"Rome"}']);
  });

  it('answers the mock provider too, streaming and not', async () => {
    const message = await client.messages.create({ model: 'demo', max_tokens: 50, messages: [{ role: 'user', content: 'abc' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'mock reply to: abc' }]);
    const streamed = await client.messages.stream({ model: 'demo', max_tokens: 50, messages: [{ role: 'user', content: 'abc' }] }).finalText();
    expect(streamed).toBe('mock reply to: abc');
  });
});

describe('an Anthropic client to an Anthropic provider', () => {
  it('passes the body through as sent (model replaced by the target) and the message back as it came', async () => {
    anthropic.respond = () => ({ content: 'native hello', usage: { prompt_tokens: 11, completion_tokens: 4 }, headers: CLOSE });
    const message = await client.messages.create({
      model: 'claude',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Cached prompt', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hi' }],
      ...{ top_k: 3 },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      metadata: { user_id: 'u-1' },
    });
    expect(message).toEqual({
      id: 'msg_fake_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-up-1',
      content: [{ type: 'text', text: 'native hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 4 },
    });
    const sent = anthropic.requests[0]!;
    expect(sent.body).toEqual({
      model: 'claude-up-1',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Cached prompt', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hi' }],
      top_k: 3,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      metadata: { user_id: 'u-1' },
      stream: false,
    });
    // The provider's own key goes upstream (the SDK sends it as a bearer token), never the caller's.
    expect(sent.auth).toBe(`Bearer ${ANTHROPIC_KEY}`);
  });

  it("streams the upstream's own events through, tool use included", async () => {
    anthropic.respond = () => ({
      content: 'Let me look.',
      tool_calls: [{ id: 'toolu_9', name: 'get_weather', arguments: { city: 'Oslo' } }],
      usage: { prompt_tokens: 20, completion_tokens: 9 },
      headers: CLOSE,
    });
    const final = await client.messages
      .stream({ model: 'claude', max_tokens: 64, tools: [weather], messages: [{ role: 'user', content: 'Oslo?' }] })
      .finalMessage();
    expect(final).toMatchObject({
      id: 'msg_fake_1',
      model: 'claude-up-1',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 20, output_tokens: 9 },
    });
    expect(anthropic.requests[0]!.body).toMatchObject({ model: 'claude-up-1', stream: true, tools: [weather] });

    const raw = events(await (await post({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'Oslo?' }], stream: true })).text());
    // The fake's events, minus its ping (the SDK the provider uses drops pings).
    expect(raw.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(raw[0]!.data).toMatchObject({ type: 'message_start', message: { id: 'msg_fake_1', usage: { input_tokens: 20 } } });
  });

  it('keeps the OpenAI direction translated: chat completions to an Anthropic provider, no native body either way', async () => {
    anthropic.respond = () => ({ content: 'translated', usage: { prompt_tokens: 3, completion_tokens: 2 }, headers: CLOSE });
    const oa = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEYS.service, maxRetries: 0 });
    const completion = await oa.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'q' },
      ],
      max_tokens: 30,
    });
    expect(completion.choices[0]!.message.content).toBe('translated');
    expect(completion).not.toHaveProperty('native');
    expect(anthropic.requests[0]!.body).toEqual({
      model: 'claude-up-1',
      system: 'sys',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }],
      max_tokens: 30,
      stream: false,
    });
  });
});

describe('errors in Anthropic’s shape', () => {
  it('answers bad input with 400 invalid_request_error naming the problem, and sends nothing upstream', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model: 'smart', messages: [{ role: 'user', content: 'x' }] }, /max_tokens/],
      [{ model: 'smart', max_tokens: 10, messages: [{ role: 'system', content: 'x' }] }, /role/],
      [{ model: 'smart', max_tokens: 10, messages: [] }, /messages/],
      [
        { model: 'smart', max_tokens: 10, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n' }] }] },
        /messages\[0\]\.content\[0\].*input/,
      ],
      [{ model: 'smart', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'n', input: {} }] }] }, /user turn holds/],
      [{ model: 'smart', max_tokens: 10, tools: [weather], tool_choice: { type: 'tool' }, messages: [{ role: 'user', content: 'x' }] }, /tool_choice.*name/],
      ['{"model": "smart", "max_tokens": ', /JSON|body/i],
    ];
    for (const [payload, message] of cases) {
      const res = await post(payload);
      const body = (await res.json()) as { type: string; error: { type: string; message: string; details: { error_code: string } }; request_id: string };
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', details: { error_code: 'invalid_request' } } });
      expect(body.error.message).toMatch(message);
      expect(res.headers.get('request-id')).toBe(body.request_id);
    }
    expect(openai.requests).toHaveLength(0);

    const sdkError = await client.messages.create({ model: 'smart', messages: [{ role: 'user', content: 'x' }] } as never).catch((e: unknown) => e);
    expect(sdkError).toBeInstanceOf(Anthropic.BadRequestError);
    expect((sdkError as APIError).type).toBe('invalid_request_error');
  });

  it('answers a huge body with 413 request_too_large', async () => {
    const res = await post({ model: 'smart', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'request_too_large', details: { error_code: 'payload_too_large' } } });
  });

  it('maps auth, scope, unknown group and unknown route to the SDK’s error classes', async () => {
    const bad = new Anthropic({ baseURL: base, apiKey: 'not-a-key-0123456789', maxRetries: 0 });
    const unauthorized = await bad.messages.create({ model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unauthorized as APIError).type).toBe('authentication_error');
    expect((unauthorized as APIError).message).toMatch(/the API key is not valid/);

    // Bearer works as well as X-Api-Key (the SDK's authToken).
    const bearer = new Anthropic({ baseURL: base, authToken: KEYS.viewer, apiKey: null, maxRetries: 0 });
    const denied = await bearer.messages.create({ model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((denied as APIError).message).toMatch(/missing required scope: gateway:use/);

    const missing = await client.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as APIError).type).toBe('not_found_error');
    expect((missing as APIError).message).toMatch(/unknown model group 'nope'/);

    const batches = await client.messages.batches.list().catch((e: unknown) => e);
    expect(batches).toBeInstanceOf(Anthropic.NotFoundError);
    expect((batches as APIError).type).toBe('not_found_error');
  });

  it('passes an upstream client error through with its status, without retrying it', async () => {
    openai.respond = () => ({
      status: 400,
      body: { error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } },
      headers: CLOSE,
    });
    const error = await client.messages.create({ model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).message).toMatch(/maximum context length is 8192 tokens/);
    expect((error as APIError).errorCode).toBe('provider_error');
    expect(openai.requests).toHaveLength(1);

    anthropic.respond = () => ({ status: 404, headers: CLOSE });
    const native = await client.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(native).toBeInstanceOf(Anthropic.NotFoundError);
    expect(anthropic.requests).toHaveLength(1);

    // A 401 from the provider means the gateway's own key is wrong, not the caller's: a 502, as for OpenAI's clients.
    anthropic.respond = () => ({ status: 401, headers: CLOSE });
    const unauthorised = await client.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((unauthorised as APIError).status).toBe(502);
    expect((unauthorised as APIError).type).toBe('api_error');
  });

  it('answers exhausted retries of 429/5xx as overloaded_error, and a stream that fails before its first event as an error response', async () => {
    openai.respond = () => ({ status: 503, headers: CLOSE });
    const error = await client.messages.create({ model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as APIError).type).toBe('overloaded_error');
    expect(openai.requests).toHaveLength(3);
    const streamed = await client.messages
      .stream({ model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(Anthropic.InternalServerError);
  });
});

describe('streams that end early', () => {
  it('ends a stream that fails after its first event with an error event, which the SDK raises', async () => {
    const stream = client.messages.stream({ model: 'broken', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] });
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(texts).toEqual(['par']);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).type).toBe('api_error');
    const raw = events(await (await post({ model: 'broken', max_tokens: 20, messages: [{ role: 'user', content: 'x' }], stream: true })).text());
    expect(raw.map((e) => e.event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'error']);
    expect(raw.at(-1)!.data).toMatchObject({ type: 'error', error: { type: 'api_error', details: { error_code: 'provider_error' } } });
  });

  it('stops the upstream call when the client goes away, and records it as cancelled', async () => {
    const run = (await api.engine.startRun('nap', {})).id;
    openai.respond = () => ({ hang: true });
    const abort = new AbortController();
    const call = client.messages
      .create({ model: 'smart', max_tokens: 20, messages: [{ role: 'user', content: 'slow' }] }, { signal: abort.signal, headers: { 'x-agentry-run-id': run } })
      .catch((e: unknown) => e);
    await openai.received(1);
    const dropped = openai.nextDrop();
    abort.abort();
    expect(await call).toBeInstanceOf(Anthropic.APIUserAbortError);
    await dropped;
    // The attempt is recorded once the server has seen the abort (a moment after the upstream did).
    await vi.waitFor(async () => {
      const calls = await api.app.inject({ url: `/v1/usage?run_id=${run}`, headers: api.auth('viewer') });
      expect(calls.json().items).toEqual([expect.objectContaining({ model_group: 'smart', calls: 1, input_tokens: 0 })]);
    });
  });
});

describe('the gateway’s call path', () => {
  it('records usage per model group and run, and refuses a call over the run budget with 402 billing_error before sending it', async () => {
    const run = (await api.engine.startRun('nap', {})).id;
    const message = await client.messages.create(
      { model: 'smart', max_tokens: 20, messages: [{ role: 'user', content: 'count me' }] },
      { headers: { 'x-agentry-run-id': run } },
    );
    expect(message.usage).toMatchObject({ input_tokens: 10, output_tokens: 5 });
    const usage = await api.app.inject({ url: `/v1/usage?run_id=${run}`, headers: api.auth('viewer') });
    expect(usage.json().items).toEqual([expect.objectContaining({ model_group: 'smart', model: 'up-1', calls: 1, input_tokens: 10, output_tokens: 5 })]);

    openai.requests.length = 0;
    const refused = await client.messages
      .create(
        { model: 'smart', max_tokens: 100, messages: [{ role: 'user', content: 'expensive' }] },
        { headers: { 'x-agentry-run-id': run, 'x-agentry-budget': '{"maxCostUsd":0.001}' } },
      )
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(402);
    expect((refused as APIError).type).toBe('billing_error');
    expect((refused as APIError).errorCode).toBe('budget_exceeded');
    expect(openai.requests).toHaveLength(0);
  });

  it('names the call in headers, as chat completions do', async () => {
    const { response } = await client.messages.create({ model: 'smart', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-agentry-model-group')).toBe('smart');
    expect(response.headers.get('x-agentry-provider')).toBe('up');
    expect(Number(response.headers.get('x-agentry-cost-usd'))).toBeCloseTo(0.015, 6);
    expect(response.headers.get('x-agentry-call-id')).toMatch(/^call_/);
  });
});

describe('an API process forwarding to a gateway process', () => {
  it('forwards messages, streams and errors as the gateway answered them', async () => {
    const forwarder = await buildApp({
      engine: api.engine,
      store: api.store,
      logger: silentLogger,
      version: '0.0.0-test',
      auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
      remoteGateway: { url: base, apiKey: KEYS.service },
      docs: false,
    });
    try {
      const url = await listen(forwarder);
      const via = new Anthropic({ baseURL: url, apiKey: KEYS.operator, maxRetries: 0 });
      const run = (await api.engine.startRun('nap', {})).id;
      const message = await via.messages.create(
        { model: 'smart', max_tokens: 20, messages: [{ role: 'user', content: 'via' }] },
        { headers: { 'x-agentry-run-id': run } },
      );
      expect(message.content).toEqual([{ type: 'text', text: 'hello from upstream' }]);
      expect(await via.messages.stream({ model: 'claude', max_tokens: 20, messages: [{ role: 'user', content: 'via' }] }).finalText()).toBe(
        'hello from upstream',
      );
      const missing = await via.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
      const usage = await api.app.inject({ url: `/v1/usage?run_id=${run}`, headers: api.auth('viewer') });
      expect(usage.json().items).toEqual([expect.objectContaining({ model_group: 'smart', calls: 1 })]);
    } finally {
      forwarder.server.closeIdleConnections();
      await forwarder.close();
    }
  });
});
