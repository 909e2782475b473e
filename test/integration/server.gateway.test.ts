/**
 * The gateway, usage and tools routes on the API: OpenAI's wire format in and out (JSON and
 * SSE), the run context from `x-agentry-*` headers (budgets per run, usage on the run),
 * problem+json errors with OpenAI's `error` member, the client's disconnect aborting the
 * upstream call, forwarding to a remote gateway, the gateway-only route groups, `/readyz`, and
 * the tool servers' switch against a real MCP server over stdio.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, routesOf } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { silentLogger } from '../helpers/engine.js';
import { API_KEYS, fixtureToolSpec, KEYS, listen, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

let fake: FakeServer;
let api: TestApi;
let base: string;

function gatewaySpec(): GatewaySpec {
  return {
    providers: { up: { type: 'openai-compatible', base_url: fake.url }, demo: { type: 'mock' } },
    models: {
      // $1000 per million tokens either way: a token costs $0.001.
      smart: { targets: [{ provider: 'up', model: 'up-1', input_per_mtok: 1000, output_per_mtok: 1000 }] },
      demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
    },
    defaults: { retry: { max_attempts: 1 } },
  };
}

const WITH_TOOL_STEP = [...WORKFLOWS, { name: 'lookup', steps: { echo: { tool: { server: 'fx', name: 'echo', args: { text: 'hi' } } } } }];

beforeAll(async () => {
  fake = await startFakeOpenAI();
  api = await startTestApi({ gateway: gatewaySpec(), tools: [fixtureToolSpec()], workflows: WITH_TOOL_STEP });
  base = await listen(api.app);
});
afterAll(async () => {
  await api.close();
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.replies.length = 0;
  fake.respond = () => ({ content: 'hello from upstream', usage: { prompt_tokens: 10, completion_tokens: 5 }, headers: CLOSE });
});

/** The fake closes each connection after answering, so no pooled socket outlives a test. */
const CLOSE = { connection: 'close' };

const operator = () => api.auth('operator');
const chat = (payload: unknown, headers: Record<string, string> = {}) =>
  api.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: payload as Record<string, unknown>, headers: { ...operator(), ...headers } });
const hi = (model = 'smart') => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
const napRun = async () => (await api.engine.startRun('nap', {})).id;

/** The `data:` payloads of an SSE body. */
function frames(body: string): string[] {
  return body
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => f.slice(6));
}

describe('POST /v1/chat/completions', () => {
  it("answers a chat.completion in OpenAI's format, without the gateway's meta in the body (it is in headers)", async () => {
    const res = await chat({
      ...hi(),
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      n: 1,
      presence_penalty: 0,
      made_up_parameter: 1,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'up-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello from upstream' }, finish_reason: 'stop' }],
    });
    expect(body.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(body).not.toHaveProperty('agentry');
    expect(res.headers['x-agentry-model-group']).toBe('smart');
    expect(res.headers['x-agentry-provider']).toBe('up');
    expect(Number(res.headers['x-agentry-cost-usd'])).toBeCloseTo(0.015, 10);
    // `developer` went upstream as `system`; parameters the gateway does not know were not passed on.
    expect(fake.requests[0]!.messages[0]).toMatchObject({ role: 'system', content: 'be brief' });
    expect(fake.requests[0]!.body).toMatchObject({ n: 1, presence_penalty: 0 });
    expect(fake.requests[0]!.body).not.toHaveProperty('made_up_parameter');
  });

  it('streams chat.completion.chunks ending with [DONE], with the usage chunk only when include_usage is set', async () => {
    fake.respond = () => ({ pieces: ['Hel', 'lo'], content: 'Hello', usage: { prompt_tokens: 3, completion_tokens: 2 }, headers: CLOSE });
    const plain = await chat({ ...hi(), stream: true });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = frames(plain.body);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: Array<{ delta: { content?: string } }> });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length > 0 && !('usage' in c) && !('agentry' in c))).toBe(true);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Hello');

    const withUsage = await chat({ ...hi(), stream: true, stream_options: { include_usage: true } });
    const all = frames(withUsage.body);
    const last = JSON.parse(all.at(-2)!);
    expect(last).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    expect(last).not.toHaveProperty('agentry');
    expect(JSON.parse(all[0]!).usage).toBeNull();
  });

  it("answers problem+json with OpenAI's error member: unknown group 404, a provider's 400 passed through, and a failure before the first chunk of a stream", async () => {
    const unknown = await chat(hi('nope'));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.json()).toMatchObject({
      code: 'not_found',
      status: 404,
      error: { type: 'not_found', code: 'not_found', message: expect.stringContaining("unknown model group 'nope'") },
    });

    fake.respond = () => ({ status: 400, body: { error: { message: 'bad thing' } }, headers: CLOSE });
    // A provider's client error keeps its status, and its error object is what OpenAI clients read.
    const bad = await chat(hi());
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'provider_error', status: 400, error: { message: 'bad thing', type: 'invalid_request_error' } });
    const badStream = await chat({ ...hi(), stream: true });
    expect(badStream.statusCode).toBe(400);
    expect(badStream.headers['content-type']).toMatch(/^application\/problem\+json/);

    const invalid = await chat({ model: 'smart', messages: [] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'invalid_request', error: { code: 'invalid_request' } });
  });

  it('refuses a call over the run budget of x-agentry-budget with 402 budget_exceeded, and the provider sees nothing', async () => {
    const run = await napRun();
    const res = await chat(hi(), { 'x-agentry-run-id': run, 'x-agentry-budget': JSON.stringify({ maxCostUsd: 0.0001 }) });
    expect(res.statusCode).toBe(402);
    expect(res.json()).toMatchObject({ code: 'budget_exceeded', error: { code: 'budget_exceeded' } });
    expect(res.json().detail).toMatch(/run budget of 0.0001 USD/);
    expect(fake.requests).toHaveLength(0);
    // The refused call is on the run's ledger with no tokens.
    const usage = (await api.app.inject({ url: `/v1/usage?run_id=${run}`, headers: api.auth('viewer') })).json();
    expect(usage.totals).toEqual({ calls: 1, input_tokens: 0, output_tokens: 0, cost_usd: 0, cached_input_tokens: 0, reasoning_tokens: 0 });
  });

  it('records usage against the run named by the headers: on GET /v1/runs/{id} and GET /v1/usage', async () => {
    const run = await napRun();
    const headers = { 'x-agentry-run-id': run, 'x-agentry-step-id': 'long', 'x-agentry-budget': '{"max_cost_usd":1}' };
    expect((await chat(hi(), headers)).statusCode).toBe(200);
    expect((await chat({ ...hi(), stream: true }, headers)).statusCode).toBe(200);
    const detail = (await api.app.inject({ url: `/v1/runs/${run}`, headers: api.auth('viewer') })).json();
    expect(detail.usage).toEqual({ calls: 2, input_tokens: 20, output_tokens: 10, cost_usd: 0.03 });

    const today = new Date().toISOString().slice(0, 10);
    const usage = (await api.app.inject({ url: `/v1/usage?workflow=nap&from=${today}&to=${today}`, headers: api.auth('viewer') })).json();
    const item = usage.items.find((i: { model_group: string }) => i.model_group === 'smart');
    expect(item).toMatchObject({ tenant_id: 'default', workflow: 'nap', model_group: 'smart', model: 'up-1', day: today });
    expect(item.calls).toBeGreaterThanOrEqual(2);
    expect((await api.app.inject({ url: '/v1/usage?to=2000-01-01', headers: api.auth('viewer') })).json()).toEqual({
      items: [],
      totals: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cached_input_tokens: 0, reasoning_tokens: 0 },
    });
    expect((await api.app.inject({ url: '/v1/usage?from=2026-02-30', headers: api.auth('viewer') })).statusCode).toBe(400);
    // A run without gateway calls has zero usage.
    expect((await api.app.inject({ url: `/v1/runs/${await napRun()}`, headers: api.auth('viewer') })).json().usage).toEqual({
      calls: 0,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: 0,
    });
  });

  it("checks the context headers: a budget or step needs a run, the run must exist, and the workflow must be the run's", async () => {
    const run = await napRun();
    expect((await chat(hi(), { 'x-agentry-budget': '{"maxCostUsd":1}' })).json().detail).toMatch(/x-agentry-budget needs x-agentry-run-id/);
    expect((await chat(hi(), { 'x-agentry-step-id': 's' })).statusCode).toBe(400);
    expect((await chat(hi(), { 'x-agentry-run-id': 'run_nope' })).statusCode).toBe(404);
    expect((await chat(hi(), { 'x-agentry-run-id': run, 'x-agentry-workflow': 'hello' })).statusCode).toBe(400);
    for (const bad of ['{', '[]', '{"maxCostUsd":-1}', '{"maxCostUsd":"1"}', '{"other":1}']) {
      const res = await chat(hi(), { 'x-agentry-run-id': run, 'x-agentry-budget': bad });
      expect(res.statusCode, bad).toBe(400);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('aborts the upstream call when the client disconnects (streaming and not)', async () => {
    for (const stream of [false, true]) {
      fake.respond = () => ({ hang: true });
      const dropped = fake.nextDrop();
      const client = new AbortController();
      const call = fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...operator(), 'content-type': 'application/json' },
        body: JSON.stringify({ ...hi(), stream }),
        signal: client.signal,
      }).catch((error: unknown) => error);
      await fake.received(fake.requests.length + 1);
      client.abort();
      await dropped;
      expect(await call).toBeInstanceOf(Error);
    }
    const cancelled = (await api.store.usage({})).length;
    expect(cancelled).toBeGreaterThan(0);
  });

  it('keeps the body size limit (413 payload_too_large)', async () => {
    const small = await startTestApi({ start: false, gateway: gatewaySpec(), app: { maxBodyBytes: 1024 } });
    try {
      const res = await small.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: small.auth('service'),
        payload: { model: 'demo', messages: [{ role: 'user', content: 'x'.repeat(2000) }] },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('GET /v1/models', () => {
  it("lists the model groups in OpenAI's list format", async () => {
    const res = await api.app.inject({ url: '/v1/models', headers: api.auth('service') });
    expect(res.json()).toEqual({
      object: 'list',
      data: [
        { id: 'smart', object: 'model', created: expect.any(Number), owned_by: 'agentry' },
        { id: 'demo', object: 'model', created: expect.any(Number), owned_by: 'agentry' },
      ],
    });
  });
});

describe('without a gateway', () => {
  it('answers 503 not_ready on the gateway routes, and /readyz stays ready while no workflow has agent steps', async () => {
    const bare = await startTestApi();
    try {
      for (const res of [
        await bare.app.inject({ url: '/v1/models', headers: bare.auth('admin') }),
        await bare.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: bare.auth('admin'), payload: hi('demo') }),
      ]) {
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ code: 'not_ready', detail: expect.stringMatching(/no LLM gateway: add a gateway.yaml.*AGENTRY_GATEWAY_URL/) });
      }
      const ready = (await bare.app.inject({ url: '/readyz' })).json();
      expect(ready.checks.gateway).toEqual({ status: 'ok', detail: 'not configured (no workflow has agent steps)' });
      expect(ready.checks.tools).toEqual({ status: 'ok', detail: 'no tool servers' });
      expect((await bare.app.inject({ url: '/v1/tools', headers: bare.auth('viewer') })).json()).toEqual({ items: [] });
      expect(
        (await bare.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: bare.auth('operator'), payload: { reason: 'x' } })).statusCode,
      ).toBe(404);
    } finally {
      await bare.close();
    }
  });
});

describe('a gateway process and an API that forwards to it', () => {
  let gateway: Awaited<ReturnType<typeof buildApp>>;
  let forwarder: Awaited<ReturnType<typeof buildApp>>;
  const service = () => api.auth('service');

  beforeAll(async () => {
    // The gateway role: probes and gateway routes only, on the same store as `api`.
    gateway = await buildApp({
      engine: api.engine,
      store: api.store,
      logger: silentLogger,
      version: '0.0.0-test',
      auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
      gateway: api.gateway,
      groups: ['probes', 'gateway'],
      docs: false,
    });
    const url = await listen(gateway);
    // An API process with AGENTRY_GATEWAY_URL and no gateway of its own (same store, as in a deployment).
    forwarder = await buildApp({
      engine: api.engine,
      store: api.store,
      logger: silentLogger,
      version: '0.0.0-test',
      auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
      remoteGateway: { url, apiKey: KEYS.service },
      docs: false,
    });
  });
  afterEach(() => {
    // The forwarder keeps connections to the gateway process alive between calls.
    gateway.server.closeIdleConnections();
  });
  afterAll(async () => {
    await forwarder.close();
    await gateway.close();
  });

  it('serves only the probes and the gateway routes, and checks no workers', async () => {
    const urls = routesOf(gateway).map((r) => `${r.method} ${r.url}`);
    expect(urls).toEqual(expect.arrayContaining(['GET /readyz', 'POST /v1/chat/completions', 'GET /v1/models', 'GET /v1/usage']));
    expect(urls.some((u) => u.includes('/v1/runs') || u.includes('/v1/tools'))).toBe(false);
    expect((await gateway.inject({ url: '/v1/runs', headers: api.auth('admin') })).statusCode).toBe(404);
    const ready = (await gateway.inject({ url: '/readyz' })).json();
    expect(Object.keys(ready.checks).sort()).toEqual(['database', 'migrations', 'upstreams']);
    expect(ready.checks.upstreams).toEqual({ status: 'ok', detail: '2 providers ok, 2 model groups served' });
  });

  it('forwards chats (JSON and streams), models and errors, with the run context', async () => {
    const ready = (await forwarder.inject({ url: '/readyz' })).json();
    expect(ready.checks.gateway.detail).toMatch(/^remote: http:\/\/127\.0\.0\.1:\d+$/);
    const run = await napRun();
    const json = await forwarder.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...service(), 'x-agentry-run-id': run }, payload: hi() });
    expect(json.statusCode).toBe(200);
    expect(json.json().choices[0].message.content).toBe('hello from upstream');
    expect(json.headers['x-agentry-model-group']).toBe('smart');
    const stream = await forwarder.inject({ method: 'POST', url: '/v1/chat/completions', headers: service(), payload: { ...hi(), stream: true } });
    expect(frames(stream.body).at(-1)).toBe('[DONE]');
    const budget = await forwarder.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { ...service(), 'x-agentry-run-id': run, 'x-agentry-budget': '{"maxCostUsd":0.0001}' },
      payload: hi(),
    });
    expect(budget.statusCode).toBe(402);
    expect(budget.json().code).toBe('budget_exceeded');
    expect((await forwarder.inject({ url: '/v1/models', headers: service() })).json().data).toHaveLength(2);
    // The forwarded call was recorded against the run by the gateway process.
    expect((await api.store.usage({ runId: run }))[0]).toMatchObject({ workflow: 'nap', calls: 2 });
  });
});

describe('/v1/tools with a real MCP server over stdio', () => {
  afterEach(async () => {
    await api.app.inject({ method: 'POST', url: '/v1/tools/fx/enable', headers: operator() });
  });

  it('lists the server, disables it (tool calls and tool steps fail fast with tool_disabled), and enables it again', async () => {
    const hub = api.tools!;
    expect((await hub.callTool('fx', 'echo', { text: 'up' })).content).toEqual([{ type: 'text', text: 'up' }]);
    const listed = (await api.app.inject({ url: '/v1/tools', headers: api.auth('viewer') })).json();
    expect(listed.items).toEqual([expect.objectContaining({ name: 'fx', transport: 'stdio', state: 'connected', pid: expect.any(Number) })]);
    expect((await api.app.inject({ url: '/readyz' })).json().checks.tools).toEqual({ status: 'ok', detail: '1 server: 1 connected' });

    const disabled = await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: operator(), payload: { reason: 'returns wrong balances' } });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ name: 'fx', state: 'disabled', disabled_reason: 'returns wrong balances' });
    const started = Date.now();
    await expect(hub.callTool('fx', 'echo', { text: 'x' })).rejects.toMatchObject({
      code: 'tool_disabled',
      message: expect.stringContaining('returns wrong balances'),
    });
    expect(Date.now() - started).toBeLessThan(500);
    const run = await api.engine.startRun('lookup', {});
    await expect.poll(async () => (await api.engine.getRun(run.id)).status, { timeout: 10_000 }).toBe('failed');
    expect((await api.store.getSteps(run.id))[0]!.error).toMatchObject({ code: 'tool_disabled' });
    expect((await api.app.inject({ url: '/readyz' })).json().checks.tools.detail).toBe('1 server: 1 disabled');

    const enabled = await api.app.inject({ method: 'POST', url: '/v1/tools/fx/enable', headers: operator() });
    expect(enabled.json()).toMatchObject({ name: 'fx', state: 'idle' });
    expect(enabled.json()).not.toHaveProperty('disabled_reason');
    const again = await api.engine.startRun('lookup', {});
    await expect.poll(async () => (await api.engine.getRun(again.id)).status, { timeout: 10_000 }).toBe('succeeded');
    // Disabling closes the connection: the child process is stopped (and nothing is left running).
    await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: operator(), payload: { reason: 'done' } });
    await expect.poll(() => api.tools!.status()[0]!.pid).toBeUndefined();
  });

  it('answers 404 for an unknown server and 400 without a reason', async () => {
    const unknown = await api.app.inject({ method: 'POST', url: '/v1/tools/nope/disable', headers: operator(), payload: { reason: 'x' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toMatch(/no tool server named 'nope' \(servers: fx\)/);
    expect((await api.app.inject({ method: 'POST', url: '/v1/tools/nope/enable', headers: operator() })).statusCode).toBe(404);
    expect((await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: operator(), payload: {} })).statusCode).toBe(400);
  });
});
