/**
 * Planted secrets: a distinct secret goes in at every place one can enter — an env secret in an
 * `http` step's URL path, in a header, in a body, a `transform` that outputs one, an upstream's
 * error text quoting one, the gateway URL's password and token, the gateway API key, a provider
 * key, API keys (one pasted into a run's input) — and none comes back out, in any of its plain,
 * URL-encoded or base64 forms: not in any API answer, SSE frame, log line or `/metrics`, nor in
 * the raw SQLite file (+ WAL) or any PostgreSQL table. Two servers run as in production: the API
 * with its worker pool (`AGENTRY_GATEWAY_URL` set), and a gateway process holding the provider key.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { redactorFor } from '../../src/app/secrets.js';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { createLogger } from '../../src/obs/logger.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const SECRETS = {
  path: 'PLANTpath 5c1e{9a}77',
  header: 'PLANTheader-3f9b21d8e0',
  body: 'PLANTbody-a41c7e93b2',
  transform: 'PLANTtransform-0d5f8e2c61',
  upstreamError: 'PLANTupstream-7e2a9c4b13',
  gatewayPassword: 'PLANTgwpass-4b8e1f07ca',
  gatewayToken: 'PLANTgwtoken-92c6d3a1e5',
  gatewayKey: 'PLANTgwkey-1f4a7c9e2b5d8f03',
  providerKey: 'PLANTprovider-6d2b9f4e1a7c',
  adminKey: 'PLANTadminkey-8c3e5a1f9b2d',
  pastedKey: 'PLANTviewerkey-2e7b4d9a6c1f',
} as const;

/** Every form a secret could be shown in. */
function formsOf(secret: string): string[] {
  const base64 = Buffer.from(secret).toString('base64');
  return [secret, encodeURIComponent(secret), encodeURI(secret), base64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url')];
}

/** Where each planted secret (in any form) occurs in `text`. */
function hits(where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of formsOf(secret)) if (text.includes(form)) found.push(`${where}: ${name} (${form})`);
  }
  return found;
}

/** An upstream that echoes what it got (path, headers, body); `/fail/…` answers 500 quoting a token. */
async function startEchoServer(): Promise<{ url: string; requests: { url: string; headers: IncomingMessage['headers']; body: string }[]; server: Server }> {
  const requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers, body });
      const echo = { path: decodeURIComponent(req.url ?? ''), authorization: req.headers.authorization, body };
      const failing = req.url?.startsWith('/fail/') === true;
      res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(failing ? { error: `upstream refused token ${SECRETS.upstreamError}`, echo } : { echo }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function writeFiles(dir: string, files: Record<string, unknown>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}

const SECRET_ENV = {
  PATH_SECRET: { secret: true, required: true },
  HEADER_SECRET: { secret: true, required: true },
  BODY_SECRET: { secret: true, required: true },
  UPSTREAM_TOKEN: { secret: true, required: true },
};

/** The API project: the docs' webhook example (failing and succeeding), a leaking transform, an agent step. */
function apiProject(dir: string, echoUrl: string): void {
  const call = (prefix: string) => ({
    http: {
      url: `${echoUrl}/${prefix}/{{ env.PATH_SECRET }}`,
      method: 'POST',
      headers: { Authorization: 'Bearer {{ env.HEADER_SECRET }}' },
      body: { token: '{{ env.BODY_SECRET }}', note: 'upstream knows {{ env.UPSTREAM_TOKEN }}' },
    },
    retry: { max_attempts: 1 },
  });
  writeFiles(dir, {
    'agentry.yaml': 'version: v1\nname: planted\n',
    'workflows/webhook.yaml': { name: 'webhook', env: SECRET_ENV, steps: { call: call('fail') } },
    'workflows/echo.yaml': {
      name: 'echo',
      env: SECRET_ENV,
      steps: { call: call('ok'), keep: { needs: ['call'], transform: { got: '{{ steps.call.output.body.echo }}' } } },
      output: '{{ steps.keep.output }}',
    },
    'workflows/leak.yaml': {
      name: 'leak',
      env: { TRANSFORM_SECRET: { secret: true, required: true } },
      steps: { t: { transform: { token: '{{ env.TRANSFORM_SECRET }}', input: '{{ input }}' } } },
      output: '{{ steps.t.output }}',
    },
    'agents/helper.yaml': { name: 'helper', model: 'fake', system: 'Be brief.', prompt: 'Hello.' },
    'workflows/ask.yaml': { name: 'ask', steps: { say: { agent: 'helper', retry: { max_attempts: 1 } } } },
  });
}

/** The gateway project: one provider whose key is an env secret. */
function gatewayProject(dir: string, providerUrl: string): void {
  writeFiles(dir, {
    'agentry.yaml': 'version: v1\nname: planted-gateway\n',
    'gateway.yaml': {
      version: 'v1',
      env: { PROVIDER_KEY: { secret: true, required: true } },
      providers: { up: { type: 'openai-compatible', base_url: providerUrl, api_key: '{{ env.PROVIDER_KEY }}' } },
      models: { fake: { targets: [{ provider: 'up', model: 'fake-1' }], retry: { max_attempts: 1 } } },
    },
  });
}

interface Started {
  server: RunningServer;
  lines: string[];
}

async function start(dir: string, env: NodeJS.ProcessEnv, options: { gatewayOnly?: boolean } = {}): Promise<Started> {
  const config = loadConfig({ flags: { projectDir: dir, port: 0 }, env, cwd: dir });
  const redactor = redactorFor(config);
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) }, redactor });
  const project = await loadProjectOrThrow(config, env);
  const server = await startServer(config, logger, env, project, {
    redactor,
    ...(options.gatewayOnly ? { roles: [], groups: ['probes', 'gateway'] as const } : {}),
  });
  return { server, lines };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Text of every SSE frame of a run's event stream (it ends after the run's terminal event). */
async function sseFrames(base: string, runId: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(`${base}/v1/runs/${runId}/events`, { headers: { ...headers, accept: 'text/event-stream' } });
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  return response.text();
}

const backends = [
  { name: 'sqlite', open: (root: string) => Promise.resolve({ url: `sqlite:${join(root, 'agentry.db')}`, drop: () => Promise.resolve() }) },
  ...(hasPostgres ? [{ name: 'postgres', open: () => createTestDatabase() }] : []),
];

describe.each(backends)('planted secrets ($name)', { timeout: 90_000 }, (backend) => {
  it('never show up in answers, event streams, logs, /metrics or the database', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agentry-planted-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const apiDb = await backend.open(join(root, 'api'));
    mkdirSync(join(root, 'api'), { recursive: true });
    cleanups.push(apiDb.drop);
    mkdirSync(join(root, 'gw'), { recursive: true });
    const gwDb = await backend.open(join(root, 'gw'));
    cleanups.push(gwDb.drop);

    const echo = await startEchoServer();
    cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
    const provider: FakeServer = await startFakeOpenAI();
    cleanups.push(() => provider.close());
    // The provider refuses the key and quotes it back, as real ones do.
    provider.respond = () => ({
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${SECRETS.providerKey}`, type: 'invalid_request_error' } },
    });

    const common = { AGENTRY_POLL_INTERVAL: '50ms', AGENTRY_LEASE_TTL: '2s', AGENTRY_REDACT_PII: 'none' };
    gatewayProject(join(root, 'gw', 'project'), provider.url);
    const gw = await start(
      join(root, 'gw', 'project'),
      {
        ...common,
        AGENTRY_DATABASE_URL: gwDb.url,
        AGENTRY_API_KEYS: `gwadmin:${SECRETS.adminKey}:admin;workers:${SECRETS.gatewayKey}:service`,
        PROVIDER_KEY: SECRETS.providerKey,
      },
      { gatewayOnly: true },
    );
    cleanups.push(() => gw.server.close());

    apiProject(join(root, 'api', 'project'), echo.url);
    const gatewayUrl = new URL(gw.server.url);
    gatewayUrl.username = 'workers';
    gatewayUrl.password = SECRETS.gatewayPassword;
    gatewayUrl.searchParams.set('token', SECRETS.gatewayToken);
    const api = await start(join(root, 'api', 'project'), {
      ...common,
      AGENTRY_DATABASE_URL: apiDb.url,
      AGENTRY_API_KEYS: `admin:${SECRETS.adminKey}:admin;pasted:${SECRETS.pastedKey}:viewer`,
      AGENTRY_GATEWAY_URL: gatewayUrl.href,
      AGENTRY_GATEWAY_API_KEY: SECRETS.gatewayKey,
      PATH_SECRET: SECRETS.path,
      HEADER_SECRET: SECRETS.header,
      BODY_SECRET: SECRETS.body,
      UPSTREAM_TOKEN: SECRETS.upstreamError,
      TRANSFORM_SECRET: SECRETS.transform,
    });
    cleanups.push(() => api.server.close());

    const answers: string[] = [];
    const admin = { authorization: `Bearer ${SECRETS.adminKey}` };
    const call = async (base: string, path: string, init: RequestInit = {}): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...admin, ...init.headers } });
      const text = await response.text();
      // What came back only (the request itself may carry a secret on purpose).
      answers.push(`${response.status} ${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`);
      return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) : text };
    };

    // Runs through every place a secret enters.
    const base = api.server.url;
    const runs: Record<string, { id: string; status: string; error?: { message: string } }> = {};
    for (const [workflow, input] of [
      ['webhook', {}],
      ['echo', {}],
      ['leak', { note: `my key is ${SECRETS.pastedKey}` }],
      ['ask', {}],
    ] as const) {
      const { status, json } = await call(base, `/v1/workflows/${workflow}/runs?wait=30s`, { method: 'POST', body: JSON.stringify({ input }) });
      expect(status, JSON.stringify(json)).toBeLessThan(300);
      runs[workflow] = json as (typeof runs)[string];
    }
    // The secrets were really used (so the scan below is not vacuous).
    const hook = echo.requests.find((r) => r.url.startsWith('/fail/'));
    expect(decodeURIComponent(hook?.url ?? '')).toBe(`/fail/${SECRETS.path}`);
    expect(hook?.headers.authorization).toBe(`Bearer ${SECRETS.header}`);
    expect(hook?.body).toContain(SECRETS.body);
    expect(runs.webhook).toMatchObject({ status: 'failed', error: { code: 'http_status' } });
    expect(runs.webhook!.error!.message).toContain('/fail/[redacted]');
    expect(runs.echo).toMatchObject({ status: 'succeeded' });
    expect(runs.leak).toMatchObject({ status: 'succeeded', output: { token: '[redacted]' } });
    expect(runs.ask).toMatchObject({ status: 'failed' });

    // The gateway process: a caller gets the provider's refusal (which quoted the key).
    const chat = await call(gw.server.url, '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.gatewayKey}` },
      body: JSON.stringify({ model: 'fake', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBeGreaterThanOrEqual(400);
    expect(provider.requests.some((r) => r.auth === `Bearer ${SECRETS.providerKey}`)).toBe(true);

    // Every answer the API gives about them.
    const frames: string[] = [];
    const listed = await call(base, '/v1/runs?limit=100');
    for (const run of Object.values(runs)) {
      await call(base, `/v1/runs/${run.id}`);
      await call(base, `/v1/runs/${run.id}/events`);
      frames.push(await sseFrames(base, run.id, admin));
      const detail = (await call(base, `/v1/runs/${run.id}`)).json as { steps?: { step_id?: string; id?: string }[] };
      for (const step of detail.steps ?? []) await call(base, `/v1/runs/${run.id}/steps/${step.step_id ?? step.id}/attempts`);
    }
    expect((listed.json as { items: unknown[] }).items.length).toBe(4);
    await call(base, '/v1/tasks');
    await call(base, '/v1/usage');
    await call(base, '/v1/workflows');
    await call(base, `/v1/runs/${runs.webhook!.id}/retry`, { method: 'POST' });
    await call(base, `/v1/no/such/${encodeURIComponent(SECRETS.path)}?token=${SECRETS.gatewayToken}`);
    for (const target of [base, gw.server.url]) {
      await call(target, '/readyz');
      await call(target, '/healthz');
      await call(target, '/metrics');
    }
    await call(gw.server.url, '/v1/usage');
    // A request that fails authentication with a key in the wrong place.
    await call(base, '/v1/runs', { headers: { authorization: `Bearer x${SECRETS.adminKey}` } });

    // Stop both (flushes logs and the SQLite WAL stays on disk to be read).
    await api.server.close();
    await gw.server.close();

    const found = [
      ...answers.flatMap((a, i) => hits(`answer ${i}`, a)),
      ...frames.flatMap((f, i) => hits(`SSE stream ${i}`, f)),
      ...api.lines.flatMap((l, i) => hits(`api log line ${i}`, l)),
      ...gw.lines.flatMap((l, i) => hits(`gateway log line ${i}`, l)),
      ...(await databaseText(apiDb.url)).flatMap(([where, text]) => hits(`api ${where}`, text)),
      ...(await databaseText(gwDb.url)).flatMap(([where, text]) => hits(`gateway ${where}`, text)),
    ];
    expect(found).toEqual([]);
    expect(api.lines.length).toBeGreaterThan(5);
  });
});

/** The raw bytes of a SQLite database (file, WAL, journal) or every PostgreSQL table as text. */
async function databaseText(url: string): Promise<[string, string][]> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return ['', '-wal', '-shm', '-journal']
      .filter((suffix) => existsSync(file + suffix))
      .map((suffix) => [`sqlite file ${suffix || 'main'}`, readFileSync(file + suffix).toString('latin1')]);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`);
    const out: [string, string][] = [];
    for (const { name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
      out.push([`postgres table ${name}`, rows.rows.map((r) => r.row).join('\n')]);
    }
    return out;
  } finally {
    await client.end();
  }
}
