/**
 * `agentry doctor`'s checks against real things on one host: a project on disk, its SQLite
 * store, a real backup, real HTTP servers on loopback (an Agentry API, a fake OpenAI API, an MCP
 * server) — each check once where it passes and once where it warns or fails. The thresholds
 * themselves are in test/unit/doctor.thresholds.test.ts; PostgreSQL in doctor.postgres.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, runDoctor, type DoctorCheck } from '../../src/app/doctor.js';
import type { DoctorOptions } from '../../src/app/doctor-context.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';
import { runCliInProcess } from '../helpers/cli.js';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';
import { tempDir } from '../helpers/store.js';

/** A strong secret, made per run. */
const SECRET = randomBytes(24).toString('hex');
const AGENTRY_YAML = 'version: v1\nname: doc\negress:\n  allow: ["127.0.0.1"]\n  deny: []\n';
const NOOP = 'version: v1\nname: noop\nsteps:\n  a:\n    transform: 1\n';

const dirs: Array<() => void> = [];
afterAll(() => dirs.forEach((remove) => remove()));

/** A project directory with `files` (paths relative to it). */
function project(files: Record<string, string> = {}): string {
  const { dir, remove } = tempDir('agentry-doctor-');
  dirs.push(remove);
  for (const [path, text] of Object.entries({ 'agentry.yaml': AGENTRY_YAML, 'workflows/noop.yaml': NOOP, ...files })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the one check `id` of the doctor. */
async function check(id: string, dir: string, env: Record<string, string> = {}, extra: Partial<DoctorOptions> = {}): Promise<DoctorCheck> {
  const report = await runDoctor(
    { flags: { projectDir: dir }, env: { AGENTRY_INTERNAL_SECRET: SECRET, ...env }, cwd: dir, ...extra },
    DOCTOR_CHECKS.filter((c) => c.id === id),
  );
  expect(report.checks).toHaveLength(1);
  return report.checks[0]!;
}

/** The project's SQLite store, created and migrated (to `to`, default the latest). */
async function withStore<T>(dir: string, fn: (store: Store) => Promise<T>, to?: number): Promise<T> {
  const store = openStore({ kind: 'sqlite', file: join(dir, '.agentry', 'agentry.db') });
  try {
    await store.migrate(to === undefined ? {} : { to });
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('configuration checks', () => {
  it('config: ok when it loads; fail naming a broken workflow', async () => {
    expect(await check('config', project())).toMatchObject({ status: 'ok', docs: 'docs/configuration.md#options' });
    const broken = await check('config', project({ 'workflows/bad.yaml': 'version: v1\nname: bad\nsteps:\n  a: { needs: [nope], transform: 1 }\n' }));
    expect(broken.status).toBe('fail');
    expect(broken.detail).toContain('spec:');
    expect(broken.hint).toContain('agentry config validate');
  });

  it('production: ok with nothing to refuse; a warning in development and a failure in production without an egress policy', async () => {
    expect((await check('production', project())).status).toBe('ok');
    const bare = project({ 'agentry.yaml': 'version: v1\nname: doc\n' });
    const dev = await check('production', bare);
    expect(dev.status).toBe('warn');
    expect(dev.detail).toContain('egress has no policy');
    const prod = await check('production', bare, { AGENTRY_ENV: 'production' });
    expect(prod.status).toBe('fail');
    expect(prod.detail).toContain('refuses to start');
  });

  it('keys: ok with strong keys; a weak bootstrap key fails in production (never printed); an expiring managed key warns', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    expect(await check('keys', dir, { AGENTRY_API_KEYS: `ops:${SECRET}:admin` })).toMatchObject({ status: 'ok' });
    const weak = await check('keys', dir, { AGENTRY_API_KEYS: 'ops:changeme-changeme:admin', AGENTRY_ENV: 'production' });
    expect(weak.status).toBe('fail');
    expect(weak.detail).toContain("AGENTRY_API_KEYS entry 1 ('ops')");
    expect(weak.detail).not.toContain('changeme');
    const issued = await runCliInProcess(['keys', 'create', '--name', 'ci', '--role', 'service', '--expires', '3d', '--dir', dir]);
    expect(issued.code, issued.stderr).toBe(0);
    const soon = await check('keys', dir);
    expect(soon.status).toBe('warn');
    expect(soon.detail).toMatch(/default\/ci \(agk_\w+\) expires in 2d 23h/);
  });

  it('retention: ok naming the shortest window; a warning when runs are kept for ever', async () => {
    const dir = project({ 'workflows/nightly.yaml': `${NOOP.replace('noop', 'nightly')}retention:\n  succeeded: 2d\n` });
    const ok = await check('retention', dir, { AGENTRY_RETENTION_SUCCEEDED: '30d' });
    expect(ok).toMatchObject({ status: 'ok' });
    expect(ok.detail).toContain('shortest window 2d (workflow nightly retention.succeeded)');
    expect((await check('retention', project())).status).toBe('warn');
  });
});

describe('store checks (SQLite)', () => {
  it('database: ok with its round trip; fail when there is no store; the checks that need it skip', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    const ok = await check('database', dir);
    expect(ok.status).toBe('ok');
    expect(ok.detail).toMatch(/^sqlite:.*answers in [\d.]+ms/);
    const none = project();
    const missing = await check('database', none);
    expect(missing.status).toBe('fail');
    expect(missing.detail).toContain('there is no store at');
    expect((await check('migrations', none)).status).toBe('skip');
  });

  it('migrations: ok when current; a warning when behind with auto-migrate, a failure without', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    expect((await check('migrations', dir)).status).toBe('ok');
    const behind = project();
    await withStore(behind, () => Promise.resolve(), 3);
    const auto = await check('migrations', behind);
    expect(auto.status).toBe('warn');
    expect(auto.detail).toContain('schema at migration 3');
    const refused = await check('migrations', behind, { AGENTRY_AUTO_MIGRATE: 'false' });
    expect(refused).toMatchObject({ status: 'fail' });
    expect(refused.hint).toContain('agentry migrate up');
  });

  it('clock: ok against the database (the same host’s clock)', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    const clock = await check('clock', dir);
    expect(clock.status).toBe('ok');
    expect(clock.detail).toContain("the database's clock is");
  });

  it('workers: ok with a live heartbeat; a failure with none', async () => {
    const dir = project();
    expect((await withStore(dir, () => check('workers', dir))).status).toBe('fail');
    await withStore(dir, (store) =>
      store.upsertWorker({ id: 'wrk_live', host: 'h1', pid: 1, roles: ['worker'], concurrency: 4, startedAt: Date.now(), heartbeatAt: Date.now() }),
    );
    const ok = await check('workers', dir);
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain('1 live worker (wrk_live on h1)');
  });
});

describe('backups and disk', () => {
  it('backup: a real `agentry backup` is recorded and counts; none is a failure in production', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    expect((await check('backup', dir, { AGENTRY_ENV: 'production' })).status).toBe('fail');
    const taken = await runCliInProcess(['backup', '--out', join(dir, 'first.backup'), '--quiet', '--dir', dir], { env: { USER: 'ops-alice' } });
    expect(taken.code, taken.stderr).toBe(0);
    const ok = await check('backup', dir);
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain('backup:first.backup recorded in the store by ops-alice');
  });

  it('backup: with no record, the newest file of AGENTRY_BACKUP_DIR counts (pg_dump); an old one fails', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    const backups = join(dir, 'backups');
    mkdirSync(backups);
    writeFileSync(join(backups, 'agentry.dump'), 'x');
    const ok = await check('backup', dir, { AGENTRY_BACKUP_DIR: backups });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain(`newest file in ${backups}: agentry.dump`);
    const old = (Date.now() - 9 * 86_400_000) / 1000;
    utimesSync(join(backups, 'agentry.dump'), old, old);
    expect((await check('backup', dir, {}, { flags: { projectDir: dir, backupDir: backups } })).status).toBe('fail');
  });

  it('disk: ok on this disk, for the store and the backups; a failure when nearly full', async () => {
    const dir = project();
    await withStore(dir, () => Promise.resolve());
    const ok = await check('disk', dir, { AGENTRY_BACKUP_DIR: dir });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain(`store ${join(dir, '.agentry')}: `);
    expect(ok.detail).toContain(`backups ${dir}: `);
    const full = await check('disk', dir, {}, { statfs: () => Promise.resolve({ freeBytes: 100 * 1024 ** 2, totalBytes: 50 * 1024 ** 3 }) });
    expect(full.status).toBe('fail');
    expect(full.detail).toContain('100 MiB free of 50 GiB');
  });
});

describe('providers and tools', () => {
  let fake: FakeServer;
  let mcp: HttpMcpServer;
  // Per test: closing them ends the keep-alive connections the provider SDK and the MCP client hold.
  beforeEach(async () => {
    fake = await startFakeOpenAI();
    mcp = await startHttpMcpServer();
  });
  afterEach(async () => {
    await fake.close();
    await mcp.close();
  });

  const gatewayYaml = (baseUrl: string) =>
    `version: v1\nproviders:\n  local: { type: openai-compatible, base_url: "${baseUrl}" }\nmodels:\n  smart: { targets: [{ provider: local, model: m-1 }] }\n`;

  it('providers: skipped with no gateway; ok dialling a configured base URL; a failure when it is down', async () => {
    expect((await check('providers', project())).status).toBe('skip');
    expect((await check('providers', project({ 'gateway.yaml': gatewayYaml(fake.url) }))).status).toBe('ok');
    const down = await check('providers', project({ 'gateway.yaml': gatewayYaml('http://127.0.0.1:1/v1') }));
    expect(down.status).toBe('fail');
    expect(down.detail).toContain("provider 'local'");
    expect(fake.requests).toHaveLength(0); // no call without --providers
  });

  it('providers --providers: one 1-token call to each provider; a failure when it answers an error', async () => {
    const dir = project({ 'gateway.yaml': gatewayYaml(fake.url) });
    const ok = await check('providers', dir, {}, { providers: true });
    expect(ok).toMatchObject({ status: 'ok', detail: 'each provider answered a 1-token call: local (m-1)' });
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: 'm-1', max_tokens: 1 });
    fake.respond = () => ({ status: 401, body: { error: { message: 'bad key' } } });
    const refused = await check('providers', dir, {}, { providers: true });
    fake.respond = undefined;
    expect(refused.status).toBe('fail');
    expect(refused.detail).toContain('1 of 1 providers failed a 1-token call: local (m-1)');
  });

  it('tools: skipped without --tools; with it each server starts and lists its tools, or the check fails naming it', async () => {
    const dir = project({ 'tools/fx.yaml': `version: v1\nname: fx\nurl: ${mcp.url}\n` });
    expect((await check('tools', dir)).detail).toContain('pass --tools');
    const ok = await check('tools', dir, {}, { tools: true });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toMatch(/fx \(\d+ tools\)/);
    const dead = project({ 'tools/gone.yaml': 'version: v1\nname: gone\nurl: http://127.0.0.1:1/mcp\n' });
    const failed = await check('tools', dead, {}, { tools: true });
    expect(failed.status).toBe('fail');
    expect(failed.detail).toContain('gone:');
  });
});

describe('probes, TLS and proxy headers', () => {
  let api: TestApi;
  let apiUrl: string;
  let bad: Server;
  let badUrl: string;
  beforeAll(async () => {
    api = await startTestApi();
    apiUrl = await listen(api.app);
    // What a broken deployment looks like from outside: not ready, and a proxy that drops X-Request-ID.
    bad = createServer((req, res) => {
      const ready = req.url === '/livez';
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(ready ? { status: 'ok' } : { status: 'not_ready', checks: { database: { status: 'fail', detail: 'refused' } } }));
    });
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
    badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await api.close();
    await new Promise((resolve) => bad.close(resolve));
  });

  it('are skipped without --url (a skip is not a failure)', async () => {
    const probes = await check('probes', project());
    expect(probes).toMatchObject({ status: 'skip' });
    expect(probes.detail).toContain('pass --url');
  });

  it('probes: ok against a live Agentry API; a failure naming /readyz’s failing check, or a dead host', async () => {
    expect((await check('probes', project(), {}, { url: apiUrl })).status).toBe('ok');
    const notReady = await check('probes', project(), {}, { url: badUrl });
    expect(notReady.status).toBe('fail');
    expect(notReady.detail).toContain('/readyz answered 503: database: refused');
    const dead = await check('probes', project(), {}, { url: `http://127.0.0.1:${await closedPort()}` });
    expect(dead.status).toBe('fail');
    expect(dead.detail).toContain('ECONNREFUSED');
  });

  it('tls: ok on loopback HTTP where X-Request-ID round-trips; a warning where it does not', async () => {
    const ok = await check('tls', project(), {}, { url: apiUrl });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toBe(`plain HTTP on loopback (${new URL(apiUrl).host}); X-Request-ID round-trips`);
    const dropped = await check('tls', project(), {}, { url: badUrl });
    expect(dropped.status).toBe('warn');
    expect(dropped.detail).toContain('X-Request-ID does not come back');
  });

  it('tls: a failure for plain HTTP beyond loopback', async () => {
    // Nothing listens there (fetch refuses port 1 at once): the URL alone is the problem.
    const clear = await check('tls', project(), {}, { url: 'http://192.0.2.10:1' });
    expect(clear.status).toBe('fail');
    expect(clear.detail).toContain('plain HTTP to 192.0.2.10:1: keys and run data cross the network in clear');
  });
});
