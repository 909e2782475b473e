/**
 * `agentry status` (CLI-04) and `agentry logs [-f]` (CLI-06) against a real `agentry serve`
 * child process on loopback: the follow prints a new JSON line as a request arrives, `-n`
 * limits the backlog, a secret planted in a request never shows, only admins read the lines;
 * status shows every service healthy, and `stopped` (exit 3) once the server is SIGKILLed —
 * remotely and from the project's store, on both stores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, removeDir, runCli, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { cliStoreTargets } from '../helpers/store.js';

const ADMIN = 'status-admin-key-0123456789abcdef';
const OPERATOR = 'status-operator-key-0123456789ab';
const VIEWER = 'status-viewer-key-0123456789abcd';
const API_KEYS = `ops:${ADMIN}:admin;op:${OPERATOR}:operator;view:${VIEWER}:viewer`;

function project(): string {
  const dir = tempDir('agentry-status-');
  mkdirSync(join(dir, 'workflows'), { recursive: true });
  writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: status\n');
  return dir;
}

/** `agentry serve` on a free port; resolves with its URL once it serves. */
async function serve(dir: string, env: Record<string, string> = {}): Promise<{ proc: CliProcess; url: string; port: number }> {
  const proc = startCli(['serve', dir, '--port', '0'], { env: { AGENTRY_API_KEYS: API_KEYS, AGENTRY_LOG_BUFFER: '200', ...env } });
  await waitForOutput(proc, (stderr) => stderr.includes('serving on'));
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stdout)![1]!;
  return { proc, url, port: Number(new URL(url).port) };
}

const asAdmin = (url: string) => ({ AGENTRY_URL: url, AGENTRY_API_KEY: ADMIN });

afterEach(() => killAll());

describe('agentry logs against a real agentry serve (the lines are the process’s, whatever its store: SQLite here)', { timeout: 120_000 }, () => {
  let dir: string;
  let server: { proc: CliProcess; url: string };
  beforeAll(async () => {
    dir = project();
    server = await serve(dir);
  });
  afterAll(async () => {
    server.proc.child.kill('SIGKILL');
    await server.proc.done;
    removeDir(dir);
  });
  // afterEach's killAll would end the server too: each test starts what it needs and the server is restarted when gone.
  const ensureServer = async () => {
    if (server.proc.child.exitCode === null && server.proc.child.signalCode === null) return;
    server = await serve(dir);
  };

  it('-n 5 prints the newest 5 lines of the backlog, each a JSON object as the server wrote it', async () => {
    await ensureServer();
    for (let i = 0; i < 8; i++) await fetch(`${server.url}/livez`, { headers: { 'x-request-id': `backlog-${i}` } });
    const result = await runCli(['logs', '-n', '5', '--json'], { env: asAdmin(server.url) });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });

    const human = await runCli(['logs', '-n', '2'], { env: asAdmin(server.url) });
    expect(human.code).toBe(0);
    expect(human.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(human.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ INFO {2}\[serve\] /m);
  });

  it('-f prints a new JSON line as a request arrives; a secret planted in the request never shows; Ctrl-C stops it', async () => {
    await ensureServer();
    const follow = startCli(['logs', '-f', '-n', '0', '--json'], { env: asAdmin(server.url) });
    // Requests until one shows: the follow may still be connecting when the first arrives.
    let shown: string | undefined;
    for (let i = 0; i < 100 && shown === undefined; i++) {
      const id = `follow-${i}`;
      await fetch(`${server.url}/livez`, { headers: { 'x-request-id': id } });
      await new Promise((r) => setTimeout(r, 100));
      if (follow.stdout.includes(`"${id}"`)) shown = id;
    }
    expect(shown, follow.stderr).toBeDefined();
    const line = follow.stdout.split('\n').find((l) => l.includes(`"${shown}"`))!;
    expect(JSON.parse(line)).toMatchObject({ event: 'http_request', request_id: shown, path: '/livez', status_code: 200 });

    // The viewer's key is one of the server's secrets: in a logged header and a request body, it is masked before the ring keeps the line.
    await fetch(`${server.url}/v1/runs?limit=1`, {
      method: 'GET',
      headers: { 'x-request-id': 'planted', 'user-agent': `agent ${VIEWER}`, authorization: `Bearer ${VIEWER}` },
    });
    await fetch(`${server.url}/v1/workflows/nope/runs`, {
      method: 'POST',
      headers: { 'x-request-id': 'planted-body', 'content-type': 'application/json', 'user-agent': VIEWER, authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ input: { key: VIEWER } }),
    });
    await waitForOutput(follow, (_stderr, stdout) => stdout.includes('"planted"') && stdout.includes('"planted-body"'));
    const planted = follow.stdout.split('\n').find((l) => l.includes('"planted"'))!;
    expect(JSON.parse(planted)).toMatchObject({ user_agent: 'agent [redacted]', principal: 'view' });
    expect(follow.stdout).not.toContain(VIEWER);
    const backlog = await fetch(`${server.url}/v1/admin/logs?limit=5000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await backlog.text();
    expect(text).toContain('planted-body');
    expect(text).not.toContain(VIEWER);

    follow.child.kill('SIGINT');
    const done = await follow.done;
    expect(done.code).toBe(130);
    expect(done.stderr).not.toContain('error');
  });

  it('lets only admins read the lines: an operator and a viewer get 403, and --level filters', async () => {
    await ensureServer();
    for (const key of [OPERATOR, VIEWER]) {
      const res = await fetch(`${server.url}/v1/admin/logs`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'forbidden', detail: 'missing required scope: logs:read' });
    }
    const viewer = await runCli(['logs', '-n', '1'], { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: VIEWER } });
    expect(viewer.code).toBe(2);
    expect(viewer.stderr).toContain('error [forbidden]');

    const errors = await fetch(`${server.url}/v1/admin/logs?level=error&limit=5000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const page = (await errors.json()) as { items: { level: string }[]; capacity: number };
    expect(page.capacity).toBe(200);
    expect(page.items.every((l) => l.level === 'error' || l.level === 'fatal')).toBe(true);
    const bad = await fetch(`${server.url}/v1/admin/logs?level=loud`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(bad.status).toBe(400);
    const badCli = await runCli(['logs', '--level', 'loud'], { env: asAdmin(server.url) });
    expect(badCli.code).toBe(2);
  });

  it('says it needs a server without AGENTRY_URL (exit 2)', async () => {
    const result = await runCli(['logs', '-n', '5'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('agentry logs needs a server: set AGENTRY_URL');
  });
});

interface StatusJson {
  source: string;
  healthy: boolean;
  services: { name: string; url: string | null; port: number | null; health: string; roles: string[] }[];
  status: {
    process: { store: { kind: string }; roles: string[] };
    ready: boolean;
    checks: { name: string; status: string }[];
    workers: { id: string }[];
    queue: { due_steps: number; runs: Record<string, number>; steps: Record<string, number> };
  } | null;
  error: string | null;
}

describe.each(cliStoreTargets)('agentry status ($name)', { timeout: 120_000 }, (target) => {
  it('shows every service healthy (exit 0), remotely and from the store; after SIGKILL the server is stopped (exit 3)', async () => {
    const dir = project();
    const db = await target.env();
    try {
      const server = await serve(dir, db.env);
      const remote = await runCli(['status', '--json'], { env: asAdmin(server.url) });
      expect(remote.code, remote.stderr).toBe(0);
      const up = JSON.parse(remote.stdout) as StatusJson;
      expect(up).toMatchObject({ source: 'remote', healthy: true, error: null });
      expect(up.services[0]).toEqual({
        name: 'api',
        id: null,
        url: server.url,
        port: server.port,
        health: 'healthy',
        roles: ['api', 'scheduler', 'worker'],
        detail: 'ready',
      });
      expect(up.services.filter((s) => s.name === 'worker').map((s) => s.health)).toEqual(['healthy']);
      expect(up.status?.process.store.kind).toBe(target.name);
      expect(up.status?.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['database', 'migrations', 'workers', 'scheduler']));
      expect(up.status?.queue).toMatchObject({ due_steps: 0, runs: {}, steps: {} });

      // A viewer may not see the deployment's processes.
      const viewer = await runCli(['status', '--json'], { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: VIEWER } });
      expect(viewer.code).toBe(2);
      expect(viewer.stderr).toContain('error [forbidden]');

      // From the project's store, asking the address serve listens on.
      const localEnv = { ...db.env, AGENTRY_PORT: String(server.port) };
      const local = await runCli(['status', '--json', '--dir', dir], { env: localEnv });
      expect(local.code, local.stderr).toBe(0);
      const fromStore = JSON.parse(local.stdout) as StatusJson;
      expect(fromStore).toMatchObject({ source: 'local', healthy: true });
      expect(fromStore.services[0]).toMatchObject({ name: 'api', health: 'healthy', port: server.port });
      expect(fromStore.status?.checks.map((c) => `${c.name} ${c.status}`)).toEqual(['database ok', 'migrations ok']);
      expect(fromStore.status?.workers.map((w) => w.id)).toEqual(up.status?.workers.map((w) => w.id));

      server.proc.child.kill('SIGKILL');
      await server.proc.done;

      const down = await runCli(['status', '--json'], { env: asAdmin(server.url) });
      expect(down.code).toBe(3);
      const stopped = JSON.parse(down.stdout) as StatusJson;
      expect(stopped).toMatchObject({ source: 'remote', healthy: false, status: null });
      expect(stopped.services).toEqual([expect.objectContaining({ name: 'api', url: server.url, health: 'stopped' })]);
      expect(stopped.error).toContain('cannot reach the Agentry server');

      const human = await runCli(['status'], { env: asAdmin(server.url) });
      expect(human.code).toBe(3);
      expect(human.stdout).toMatch(/api\s+stopped/);

      const localDown = await runCli(['status', '--json', '--dir', dir], { env: localEnv });
      expect(localDown.code).toBe(3);
      const storeDown = JSON.parse(localDown.stdout) as StatusJson;
      expect(storeDown.services[0]).toMatchObject({ name: 'api', health: 'stopped' });
      expect(storeDown.status?.checks.every((c) => c.status === 'ok')).toBe(true);
    } finally {
      await db.done();
      removeDir(dir);
    }
  });
});
