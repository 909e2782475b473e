/**
 * Workers signing in to a gateway process with internal service tokens, as deployed: `agentry
 * start gateway` (no API keys at all: the internal secret is its only way in) and `agentry serve`
 * (API + workers, `AGENTRY_GATEWAY_URL` set) as two processes on one store, with keys bound to the
 * tenants `acme` and `globex` only — no system admin key anywhere. Each tenant's agent run calls
 * the gateway and the call is recorded in that tenant and run; a forwarded call counts for its
 * caller's run; a token replayed on the API is 401; production refuses both processes without
 * the secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_TOKEN_HEADER, InternalTokenSigner } from '../../src/gateway/internal-token.js';
import { killAll, runCli, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { writeProject, type TempProject } from '../fixtures/agents/project.js';

const SECRET = 'a6f1c9e4b8d2a7f3c0e5b1d9a4f8c2e6b0d5a9f3c7e1b4d8';
const KEYS = { acme: 'acme-op-key-0123456789abcdef', globex: 'globex-op-key-0123456789abcdef' } as const;
const TENANT_KEYS = `acme-op:${KEYS.acme}:operator,tenant:acme;globex-op:${KEYS.globex}:operator,tenant:globex`;
type Tenant = keyof typeof KEYS;

let project: TempProject;
let gateway: CliProcess;
let api: CliProcess;
let gatewayUrl: string;
let apiUrl: string;

async function call<T>(tenant: Tenant, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEYS[tenant]}`, connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function urlOf(proc: CliProcess, pattern: RegExp): string {
  const match = pattern.exec(proc.stdout);
  if (!match?.[1]) throw new Error(`no URL in ${proc.stdout} ${proc.stderr}`);
  return match[1];
}

beforeAll(async () => {
  project = writeProject({
    gateway: {
      version: 'v1',
      providers: { demo: { type: 'mock' } },
      models: { demo: { targets: [{ provider: 'demo', model: 'demo-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
    },
    agents: [{ name: 'helper', model: 'demo', prompt: 'Say hello.' }],
    workflows: [
      { name: 'ask', steps: { answer: { agent: 'helper' } }, output: '{{ steps.answer.output }}' },
      { name: 'nap', steps: { long: { sleep: '1h' } } },
    ],
  });
  const store = { AGENTRY_DATABASE_URL: `sqlite:${project.dbFile}`, AGENTRY_INTERNAL_SECRET: SECRET, AGENTRY_LOG_LEVEL: 'warn' };
  gateway = startCli(['start', 'gateway', '--dir', project.dir, '--port', '0'], { env: store });
  await waitForOutput(gateway, (_stderr, stdout) => stdout.includes('Workers:'));
  gatewayUrl = urlOf(gateway, /gateway listening on (http:\/\/\S+)/);
  api = startCli(['serve', project.dir, '--port', '0'], {
    env: { ...store, AGENTRY_API_KEYS: TENANT_KEYS, AGENTRY_GATEWAY_URL: gatewayUrl, AGENTRY_POLL_INTERVAL: '100ms' },
  });
  await waitForOutput(api, (_stderr, stdout) => stdout.includes('listening on'));
  apiUrl = urlOf(api, /API listening on (http:\/\/\S+)/);
}, 120_000);

afterAll(async () => {
  await killAll();
  project?.remove();
});

describe('workers → gateway process with internal tokens', { timeout: 120_000 }, () => {
  it("records each tenant's agent call in that tenant and run, with tenant-bound keys only", async () => {
    expect(gateway.stdout).toContain("this process's AGENTRY_INTERNAL_SECRET");
    const runs = {} as Record<Tenant, string>;
    for (const tenant of ['acme', 'globex'] as const) {
      const started = await call<{ id: string; status: string; tenant_id: string }>(tenant, 'POST', '/v1/workflows/ask/runs?wait=60s', {});
      // 200: the run ended within the wait.
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body).toMatchObject({ status: 'succeeded', tenant_id: tenant });
      runs[tenant] = started.body.id;
    }
    for (const tenant of ['acme', 'globex'] as const) {
      const detail = await call<{ usage: { calls: number } | null }>(tenant, 'GET', `/v1/runs/${runs[tenant]}`);
      expect(detail.body.usage).toMatchObject({ calls: 1 });
      const usage = await call<{ items: Array<{ tenant_id: string; workflow: string; calls: number }> }>(tenant, 'GET', `/v1/usage?run_id=${runs[tenant]}`);
      expect(usage.body.items).toEqual([expect.objectContaining({ tenant_id: tenant, workflow: 'ask', calls: 1 })]);
      // The other tenant's run stays out of reach.
      const other = tenant === 'acme' ? 'globex' : 'acme';
      expect((await call(other, 'GET', `/v1/runs/${runs[tenant]}`)).status).toBe(404);
    }
  });

  it("forwards a tenant key's gateway call from the API process with a token, counted for the caller's run", async () => {
    const nap = await call<{ id: string }>('acme', 'POST', '/v1/workflows/nap/runs', {});
    expect(nap.status).toBe(201);
    const res = await fetch(`${apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json', 'x-agentry-run-id': nap.body.id, connection: 'close' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'forwarded' }] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toContain('forwarded');
    expect((await call<{ usage: { calls: number } }>('acme', 'GET', `/v1/runs/${nap.body.id}`)).body.usage).toMatchObject({ calls: 1 });
    // globex naming acme's run through the API is 404 before anything is forwarded.
    const foreign = await fetch(`${apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.globex}`, 'content-type': 'application/json', 'x-agentry-run-id': nap.body.id, connection: 'close' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(foreign.status).toBe(404);
    await call('acme', 'POST', `/v1/runs/${nap.body.id}/cancel`, {});
  });

  it('refuses a worker token replayed on the API (401) and on the gateway’s other routes, and accepts it on the gateway', async () => {
    const nap = await call<{ id: string }>('acme', 'POST', '/v1/workflows/nap/runs', {});
    const token = await new InternalTokenSigner(SECRET, 'worker', 'wrk_e2e').mint({ tenantId: 'acme', runId: nap.body.id, stepId: 'long' });
    const headers = { [INTERNAL_TOKEN_HEADER]: token, 'content-type': 'application/json', connection: 'close' };
    const replay = await fetch(`${apiUrl}/v1/runs`, { headers });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('unauthorized');
    const start = await fetch(`${apiUrl}/v1/workflows/nap/runs`, { method: 'POST', headers, body: '{}' });
    expect(start.status).toBe(401);
    await start.arrayBuffer();
    const usage = await fetch(`${gatewayUrl}/v1/usage`, { headers });
    expect(usage.status).toBe(401);
    await usage.arrayBuffer();
    const chat = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'direct' }] }),
    });
    expect(chat.status).toBe(200);
    await chat.arrayBuffer();
    await call('acme', 'POST', `/v1/runs/${nap.body.id}/cancel`, {});
  });

  it('refuses to start in production without the internal secret: the gateway, and a worker with AGENTRY_GATEWAY_URL', async () => {
    const env = { AGENTRY_ENV: 'production', AGENTRY_DATABASE_URL: `sqlite:${project.dbFile}`, AGENTRY_LOG_LEVEL: 'warn' };
    const [gw, worker] = await Promise.all([
      runCli(['start', 'gateway', '--dir', project.dir, '--port', '0'], { env }),
      runCli(['start', 'worker', '--dir', project.dir], { env: { ...env, AGENTRY_GATEWAY_URL: gatewayUrl } }),
    ]);
    expect(gw.code).toBe(2);
    expect(gw.stderr).toMatch(/unsafe_configuration.*\n(.*\n)*.*serves the LLM gateway but AGENTRY_INTERNAL_SECRET is not set/);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('AGENTRY_GATEWAY_URL is set but AGENTRY_INTERNAL_SECRET is not');
  });
});
