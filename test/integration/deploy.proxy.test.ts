/**
 * The reverse-proxy examples (deploy/proxy/nginx.conf, deploy/proxy/Caddyfile) pass their own
 * checks (`nginx -t`, `caddy validate`) and, started in front of a real `agentry serve` with a
 * self-signed certificate, work over HTTPS: `/readyz` answers, the client's `X-Request-ID` comes
 * back and is the id in Agentry's and the proxy's log lines, a 2 MB body reaches Agentry (and a
 * body over Agentry's limit is refused by Agentry, not the proxy), an event stream's first event
 * arrives while the stream is still open, plain HTTP only redirects and `/metrics` stays private.
 *
 * Without nginx or Caddy installed the tests are skipped (with the reason printed); under
 * `CI=true` they fail instead (.ci/run installs both).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, removeDir, REPO, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/pg-processes.js';
import {
  caddyEnv,
  findBinary,
  firstStreamedEvent,
  httpsTo,
  httpTo,
  nginxArgs,
  renderCaddyfile,
  renderNginx,
  selfSignedCertificate,
  startProxy,
  waitUntilServing,
  API_HOST,
  type Certificate,
  type ProxyPorts,
  type ProxyProcess,
} from '../helpers/proxy.js';

const CI = process.env.CI === 'true';
const NGINX = findBinary('nginx');
const CADDY = findBinary('caddy');
const OPENSSL = findBinary('openssl');
const KEYS = 'ops:proxy-test-key-0123456789abcdef0123:admin';
/** The key of `KEYS`, sent through the proxies (and never to be found in their logs). */
const API_KEY = KEYS.split(':')[1]!;
const AUTH = { authorization: `Bearer ${API_KEY}` };
const MIB = 1024 * 1024;
/** Agentry's own body limit in this test: above the 2 MB body, below the proxies' 8 MiB. */
const AGENTRY_MAX_BODY = 3 * MIB;

function skipReason(binary: string | undefined, name: string, pkg: string): string | undefined {
  if (OPENSSL === undefined) return 'openssl is not installed';
  if (binary === undefined) return `${name} is not installed (apt-get install ${pkg})`;
  return undefined;
}

const nginxMissing = skipReason(NGINX, 'nginx', 'nginx');
const caddyMissing = skipReason(CADDY, 'caddy', 'caddy');
for (const reason of [nginxMissing, caddyMissing]) {
  if (reason === undefined) continue;
  if (CI) throw new Error(`deploy.proxy.test.ts: ${reason}; CI must run these tests (.ci/run installs nginx and caddy)`);
  console.warn(`deploy.proxy.test.ts: skipping: ${reason}`);
}

const PROJECT: Record<string, string> = {
  'agentry.yaml': 'version: v1\nname: proxy-test\n',
  // Takes any input: a 2 MB input is a 2 MB request body.
  'workflows/big.yaml': 'version: v1\nname: big\ninput: { schema: { type: object } }\nsteps:\n  ok: { transform: { received: true } }\n',
  // Stays running (asleep) after its first events: its event stream stays open.
  'workflows/nap.yaml': 'version: v1\nname: nap\nsteps:\n  first: { transform: { n: 1 } }\n  nap: { needs: [first], sleep: 1h }\n',
};

let dir = '';
let agentry: CliProcess | undefined;
let upstream = 0;
let certificate: Certificate;

/** The lines Agentry logged for one request (`http_request` records with that `request_id`). */
function agentryRecords(requestId: string): Record<string, unknown>[] {
  return agentry!.stderr
    .split('\n')
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.event === 'http_request');
}

async function waitForRecord(requestId: string): Promise<Record<string, unknown>> {
  await waitForOutput(agentry!, () => agentryRecords(requestId).length > 0);
  return agentryRecords(requestId)[0]!;
}

beforeAll(async () => {
  if (nginxMissing !== undefined && caddyMissing !== undefined) return;
  dir = tempDir('agentry-proxy-');
  // nginx and Caddy may run their workers as another user: they must reach the files in here.
  chmodSync(dir, 0o755);
  const project = join(dir, 'project');
  for (const [file, text] of Object.entries(PROJECT)) {
    mkdirSync(dirname(join(project, file)), { recursive: true });
    writeFileSync(join(project, file), text);
  }
  certificate = selfSignedCertificate(dir);
  agentry = startCli(['serve', project, '--port', '0'], {
    env: {
      AGENTRY_API_KEYS: KEYS,
      AGENTRY_TRUSTED_PROXIES: '127.0.0.1/32',
      AGENTRY_MAX_BODY_BYTES: String(AGENTRY_MAX_BODY),
    },
  });
  await waitForOutput(agentry, (_stderr, stdout) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(stdout));
  upstream = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(agentry.stdout)![1]);
});

afterAll(async () => {
  if (agentry) {
    agentry.child.kill('SIGTERM');
    await agentry.done;
  }
  await killAll();
  if (dir !== '') removeDir(dir);
});

interface ProxyUnderTest {
  ports: ProxyPorts;
  proxy: ProxyProcess;
  /** The proxy's access log so far (nginx: its file; Caddy: its output). */
  accessLog: () => string;
}

/** The checks every proxy passes, through `target()` once started. */
function behavesAsAProxy(target: () => ProxyUnderTest, expected: { redirect: number; metrics: number }): void {
  it('answers /readyz over HTTPS, and the X-Request-ID sent comes back and is the id in both logs', async () => {
    const { ports, accessLog } = target();
    const requestId = `proxy-readyz-${ports.https}`;
    const answer = await httpsTo(ports.https, certificate.ca, { path: '/readyz', headers: { 'x-request-id': requestId } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ready' });
    expect(answer.headers['x-request-id']).toBe(requestId);
    const record = await waitForRecord(requestId);
    // Agentry logged the request under the client's id, from the client's address (the proxy is trusted).
    expect(record).toMatchObject({ request_id: requestId, path: '/readyz', status_code: 200, client_ip: '127.0.0.1' });
    await expect.poll(accessLog).toContain(requestId);
  });

  it('passes Authorization through and never writes it to its access log', async () => {
    const { ports, accessLog } = target();
    const requestId = `proxy-whoami-${ports.https}`;
    const answer = await httpsTo(ports.https, certificate.ca, { path: '/v1/auth/whoami', headers: { ...AUTH, 'x-request-id': requestId } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ principal: 'ops' });
    await expect.poll(accessLog).toContain(requestId);
    expect(accessLog()).not.toContain(API_KEY);
  });

  it('lets a 2 MB body reach Agentry, and a body over Agentry’s limit is refused by Agentry itself', async () => {
    const { ports } = target();
    const blob = 'x'.repeat(2 * MIB);
    const started = await httpsTo(ports.https, certificate.ca, {
      method: 'POST',
      path: '/v1/workflows/big/runs',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { blob } }),
    });
    expect(started.status).toBe(201);
    expect(JSON.parse(started.body)).toMatchObject({ workflow: 'big' });

    const requestId = `proxy-too-large-${ports.https}`;
    const refused = await httpsTo(ports.https, certificate.ca, {
      method: 'POST',
      path: '/v1/workflows/big/runs',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ input: { blob: 'x'.repeat(AGENTRY_MAX_BODY + 1) } }),
    });
    // Agentry's problem+json (with the request id), not the proxy's own 413 page.
    expect(refused.status).toBe(413);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'payload_too_large', request_id: requestId });
  });

  it("passes a run's event stream unbuffered: the first event arrives while the stream is open", async () => {
    const { ports } = target();
    const started = await httpsTo(ports.https, certificate.ca, {
      method: 'POST',
      path: '/v1/workflows/nap/runs',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(201);
    const run = JSON.parse(started.body) as { id: string };
    const { contentType, frame } = await firstStreamedEvent(ports.https, certificate.ca, run.id, AUTH);
    expect(contentType).toContain('text/event-stream');
    expect(frame).toMatch(/^id: 1$/m);
    // The run sleeps for an hour: the event came through a stream that had not ended.
    const now = await httpsTo(ports.https, certificate.ca, { path: `/v1/runs/${run.id}`, headers: AUTH });
    expect(JSON.parse(now.body)).toMatchObject({ status: expect.stringMatching(/^(queued|running|waiting)$/) });
  });

  it('only redirects plain HTTP to HTTPS, and keeps /metrics private', async () => {
    const { ports } = target();
    const plain = await httpTo(ports.http, { path: '/readyz' });
    expect(plain.status).toBe(expected.redirect);
    expect(plain.headers.location).toMatch(new RegExp(`^https://${API_HOST.replace(/\./g, '\\.')}(:\\d+)?/readyz$`));
    const metrics = await httpsTo(ports.https, certificate.ca, { path: '/metrics', headers: AUTH });
    expect(metrics.status).toBe(expected.metrics);
  });
}

async function proxyPorts(): Promise<ProxyPorts> {
  return { http: await freePort(), https: await freePort(), upstream };
}

describe.skipIf(nginxMissing !== undefined)('deploy/proxy/nginx.conf', () => {
  let under: ProxyUnderTest | undefined;
  let config = '';
  const nginxDir = (): string => join(dir, 'nginx');

  beforeAll(async () => {
    const ports = await proxyPorts();
    mkdirSync(nginxDir(), { recursive: true, mode: 0o755 });
    const rendered = renderNginx(nginxDir(), ports, certificate);
    config = rendered.file;
    const proxy = startProxy(NGINX!, nginxArgs(nginxDir(), config));
    under = { ports, proxy, accessLog: () => (existsSync(rendered.accessLog) ? readFileSync(rendered.accessLog, 'utf8') : '') };
    await waitUntilServing(proxy, ports.https, certificate.ca);
  });
  afterAll(async () => {
    await under?.proxy.stop();
  });

  it('passes nginx -t without warnings', () => {
    const check = spawnSync(NGINX!, [...nginxArgs(nginxDir(), config), '-t'], { encoding: 'utf8' });
    expect(check.stderr).toContain('test is successful');
    expect(check.stderr).not.toMatch(/\[(warn|emerg|alert|crit)\]/);
    expect(check.status).toBe(0);
  });

  behavesAsAProxy(() => under!, { redirect: 301, metrics: 403 });
});

describe.skipIf(caddyMissing !== undefined)('deploy/proxy/Caddyfile', () => {
  let under: ProxyUnderTest | undefined;
  let config = '';
  const caddyDir = (): string => join(dir, 'caddy');

  beforeAll(async () => {
    const ports = await proxyPorts();
    mkdirSync(caddyDir(), { recursive: true, mode: 0o755 });
    config = renderCaddyfile(caddyDir(), ports, certificate);
    const proxy = startProxy(CADDY!, ['run', '--config', config, '--adapter', 'caddyfile'], caddyEnv(caddyDir()));
    under = { ports, proxy, accessLog: () => proxy.output };
    await waitUntilServing(proxy, ports.https, certificate.ca);
  });
  afterAll(async () => {
    await under?.proxy.stop();
  });

  it('passes caddy validate, shipped as it is and as run here, without warnings', () => {
    for (const file of [join(REPO, 'deploy/proxy/Caddyfile'), config]) {
      const check = spawnSync(CADDY!, ['validate', '--config', file, '--adapter', 'caddyfile'], { encoding: 'utf8', env: caddyEnv(caddyDir()) });
      expect(check.stdout + check.stderr).toContain('Valid configuration');
      // Caddy warns of an unformatted file (`caddy fmt`), a deprecated directive, a doubtful setting
      // (not of the test certificate's missing OCSP responder).
      const warnings = check.stderr.split('\n').filter((line) => line.includes('"level":"warn"') && !line.includes('OCSP'));
      expect(warnings).toEqual([]);
      expect(check.status).toBe(0);
    }
  });

  behavesAsAProxy(() => under!, { redirect: 308, metrics: 404 });
});
