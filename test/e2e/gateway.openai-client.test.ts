/**
 * The official `openai` npm client against Agentry's `/v1` on a real listening server, opened
 * from a project directory the way `agentry serve` opens it (gateway.yaml with a `mock` provider
 * and an `openai-compatible` one against the fake OpenAI server, a real MCP tool server over
 * stdio): chat, stream, models, a bad key, a run budget sent as `x-agentry-budget`, usage on the
 * run; `agentry tools …` through the server; and `agentry start gateway` as its own process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { loadConfig } from '../../src/app/config.js';
import { RemoteGateway } from '../../src/gateway/remote.js';
import { silentLogger } from '../helpers/engine.js';
import { killAll, REPO, removeDir, runCli, startCli, tempDir, waitForOutput } from '../helpers/cli.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const CLOSE = { connection: 'close' };
let fake: FakeServer;
let project: string;
let dataDir: string;
let server: RunningServer;
let client: OpenAI;

function writeProject(dir: string, fakeUrl: string): void {
  const files: Record<string, string> = {
    'agentry.yaml': 'version: v1\nname: gateway-e2e\n',
    'gateway.yaml': `version: v1
defaults: { retry: { max_attempts: 1 } }
providers:
  demo: { type: mock }
  up: { type: openai-compatible, base_url: "${fakeUrl}" }
models:
  demo: { description: Scripted, targets: [{ provider: demo, model: demo-1 }] }
  smart: { targets: [{ provider: up, model: up-1, input_per_mtok: 1000, output_per_mtok: 1000 }] }
`,
    'tools/fx.yaml': `name: fx\ncommand: ${JSON.stringify(process.execPath)}\nargs: [--import, tsx, test/fixtures/mcp/server.ts, --stdio]\ncwd: ${JSON.stringify(REPO)}\n`,
    'workflows/nap.yaml': 'name: nap\nsteps:\n  long: { sleep: 1h }\n',
    'workflows/lookup.yaml': 'name: lookup\nsteps:\n  echo:\n    tool: { server: fx, name: echo, args: { text: hi } }\n',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown, key = KEYS.operator): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  project = tempDir('agentry-gw-');
  dataDir = tempDir('agentry-gw-data-');
  writeProject(project, fake.url);
  const env = { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${dataDir}/agentry.db`, AGENTRY_POLL_INTERVAL: '100ms' };
  const config = loadConfig({ flags: { projectDir: project, port: 0, host: '127.0.0.1' }, env, cwd: project });
  server = await startServer(config, silentLogger, env);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.service, maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await server.close();
  await fake.close();
  await killAll();
  removeDir(project);
  removeDir(dataDir);
});

beforeEach(() => {
  fake.requests.length = 0;
  fake.respond = () => ({ content: 'upstream says hi', usage: { prompt_tokens: 12, completion_tokens: 8 }, headers: CLOSE });
});
afterEach(() => {
  // Clients keep connections to the server alive between calls; the leak guard counts sockets per test.
  server.app.server.closeIdleConnections();
});

describe('the openai client pointed at Agentry', { timeout: 60_000 }, () => {
  it('completes a chat on a model group', async () => {
    const completion = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hello there' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message.content).toBe('mock reply to: hello there');
    expect(completion.usage!.total_tokens).toBeGreaterThan(0);
  });

  it('streams a chat: the text assembled from the chunks, and the usage chunk when asked for', async () => {
    fake.respond = () => ({ pieces: ['stre', 'am', 'ed'], content: 'streamed', usage: { prompt_tokens: 4, completion_tokens: 3 }, headers: CLOSE });
    const stream = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('streamed');
    expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    const demo = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'abc' }], stream: true });
    let demoText = '';
    for await (const chunk of demo) demoText += chunk.choices[0]?.delta.content ?? '';
    expect(demoText).toBe('mock reply to: abc');
  });

  it('lists the model groups', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(['demo', 'smart']);
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'agentry' });
  });

  it('gets an AuthenticationError with a bad key, and a PermissionDeniedError without gateway:use', async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-a-key-0123456789', maxRetries: 0 });
    const error = await bad.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).status).toBe(401);
    expect((error as APIError).message).toMatch(/the API key is not valid/);
    const viewer = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.viewer, maxRetries: 0 });
    const denied = await viewer.models.list().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((denied as APIError).message).toMatch(/missing required scope: gateway:use/);
  });

  it('refuses a call over the run budget with 402 budget_exceeded, and the upstream provider sees no request', async () => {
    const run = await api<{ id: string }>('POST', '/v1/workflows/nap/runs', {});
    const error = await client.chat.completions
      .create(
        { model: 'smart', messages: [{ role: 'user', content: 'expensive' }], max_tokens: 100 },
        { headers: { 'x-agentry-run-id': run.id, 'x-agentry-budget': '{"maxCostUsd":0.001}' } },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(402);
    expect((error as APIError).code).toBe('budget_exceeded');
    expect(fake.requests).toHaveLength(0);
  });

  it("records a worker's calls (RemoteGateway) against its run: usage on the run and at /v1/usage", async () => {
    const run = await api<{ id: string }>('POST', '/v1/workflows/nap/runs', {});
    const worker = new RemoteGateway({ url: server.url, apiKey: KEYS.service });
    const ctx = { tenantId: 'default', runId: run.id, stepId: 'long', workflow: 'nap', budget: { maxCostUsd: 1 } };
    const answer = await worker.chat({ model: 'smart', messages: [{ role: 'user', content: 'q' }], max_tokens: 50 }, ctx);
    expect(answer.choices[0]!.message.content).toBe('upstream says hi');
    expect(answer).not.toHaveProperty('agentry');
    await worker.chat({ model: 'smart', messages: [{ role: 'user', content: 'q2' }], max_tokens: 50 }, ctx);
    const detail = await api<{ usage: unknown }>('GET', `/v1/runs/${run.id}`);
    // The fake reports 12 + 8 tokens per call at $0.001 a token.
    expect(detail.usage).toEqual({ calls: 2, input_tokens: 24, output_tokens: 16, cost_usd: 0.04 });
    const usage = await api<{ items: Array<Record<string, unknown>> }>('GET', `/v1/usage?run_id=${run.id}`, undefined, KEYS.viewer);
    expect(usage.items).toEqual([
      expect.objectContaining({ tenant_id: 'default', workflow: 'nap', model_group: 'smart', model: 'up-1', calls: 2, input_tokens: 24, output_tokens: 16 }),
    ]);
    // A budget too small for the next call is refused through the worker's client too, as budget_exceeded.
    await expect(
      worker.chat({ model: 'smart', messages: [{ role: 'user', content: 'q3' }], max_tokens: 50 }, { ...ctx, budget: { maxCostUsd: 0.05 } }),
    ).rejects.toMatchObject({
      code: 'budget_exceeded',
      retryable: false,
    });
  });
});

describe('agentry tools through the server', { timeout: 180_000 }, () => {
  const cli = (args: string[], env: Record<string, string> = { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.operator }) =>
    runCli(args, { cwd: dataDir, env });
  const lookup = () => api<{ id: string; status: string }>('POST', '/v1/workflows/lookup/runs?wait=20s', {});

  // CLI children take seconds each on a busy machine: independent ones run side by side.
  it('lists, disables (a tool step then fails tool_disabled) and enables a real MCP server; exits 2 without AGENTRY_URL', async () => {
    const [listed, noUrl, unknown] = await Promise.all([
      cli(['tools', 'list', '--json']),
      cli(['tools', 'list'], {}),
      cli(['tools', 'disable', 'nope', '--reason', 'x']),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ items: [expect.objectContaining({ name: 'fx', transport: 'stdio' })] });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/tool state lives in the running server.*set AGENTRY_URL/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not_found.*no tool server named 'nope'/);

    const disabled = await cli(['tools', 'disable', 'fx', '--reason', 'returns wrong balances']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain('Disabled tool server fx');
    const [human, failed] = await Promise.all([cli(['tools', 'list']), lookup()]);
    expect(human.stdout).toMatch(/fx\s+stdio\s+disabled.*disabled: returns wrong balances/);
    expect(failed.status).toBe('failed');
    const detail = await api<{ steps: Array<{ error: { code: string; message: string } | null }> }>('GET', `/v1/runs/${failed.id}`);
    expect(detail.steps[0]!.error).toMatchObject({ code: 'tool_disabled', message: expect.stringContaining('returns wrong balances') });

    const enabled = await cli(['tools', 'enable', 'fx']);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect((await lookup()).status).toBe('succeeded');
    // Stop the fixture's process again (disabling closes the connection).
    await api('POST', '/v1/tools/fx/disable', { reason: 'test done' });
    await api('POST', '/v1/tools/fx/enable', {});
  });
});

describe('agentry start gateway', { timeout: 60_000 }, () => {
  it('serves the gateway routes only, with auth, and prints its URL and its probe port', async () => {
    const gatewayData = tempDir('agentry-gw-proc-');
    try {
      const proc = startCli(['start', 'gateway', '--dir', project, '--port', '0', '--probe-port', '0'], {
        env: { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${gatewayData}/agentry.db`, AGENTRY_LOG_LEVEL: 'warn' },
      });
      await waitForOutput(proc, (_stderr, stdout) => stdout.includes('Workers:'));
      const url = /gateway listening on (http:\/\/\S+)/.exec(proc.stdout)![1]!;
      expect(proc.stdout).toContain(`OpenAI-compatible base URL: ${url}/v1`);
      expect(proc.stdout).toContain(`Anthropic-compatible base URL: ${url}  (POST /v1/messages)`);
      const viaProcess = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEYS.service, maxRetries: 0 });
      expect((await viaProcess.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'p' }] })).choices[0]!.message.content).toBe(
        'mock reply to: p',
      );
      const runs = await fetch(`${url}/v1/runs`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
      expect(runs.status).toBe(404);
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string; checks: Record<string, unknown> };
      expect(ready.status).toBe('ready');
      expect(Object.keys(ready.checks).sort()).toEqual(['database', 'migrations', 'upstreams']);
      // The probe port: the same probes, and the gateway's LLM families in its /metrics.
      const probes = /Probes and \/metrics: (http:\/\/\S+)/.exec(proc.stdout)![1]!;
      expect((await fetch(`${probes}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${probes}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
      expect(metrics).toMatch(/^agentry_llm_requests_total\{model_group="demo",provider="[^"]+",status="ok"\} 1$/m);
      expect(metrics).toMatch(/^agentry_gateway_added_latency_seconds_count\{model_group="demo"\} 1$/m);
      proc.child.kill('SIGTERM');
      expect((await proc.done).code).toBe(0);
    } finally {
      removeDir(gatewayData);
    }
  });
});
