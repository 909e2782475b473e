/**
 * Drill of docs/operations/runbooks/database-down-or-full.md, the page's commands read from the
 * page and run in order:
 *
 * - PostgreSQL unreachable: `agentry serve` reaches PostgreSQL through a TCP proxy that is
 *   stopped — `/readyz` answers 503 with the `database` check failing, `db check` fails the
 *   connection, the outage is logged once — and started again: ready, and runs go through, in
 *   the same process.
 * - SQLite disk full: the store on a small tmpfs that is filled — a write answers 503
 *   `store_unavailable` saying the disk is full, `agentry_store_transaction_errors_total` counts
 *   it — then freed: the run that was in flight finishes and new ones succeed.
 * - A damaged SQLite file: serve refuses it, `db check` fails, `db recover` and the swap, serve
 *   starts on the recovered file with the runs there.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli } from '../helpers/cli.js';
import { engineOn } from '../helpers/engine.js';
import { writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { drillService, pageCommand, pageCommands, type PageRunOptions, runPageCommand } from '../helpers/runbook.js';
import { damageTablePage } from '../helpers/sqlite-damage.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const PAGE = 'database-down-or-full';
const WORKFLOWS = [
  // Ten steps side by side: a few runs' events fill several pages of `events`.
  { name: 'hello', steps: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, { transform: { text: `step ${i} of {{ input.n }}` } }])) },
  { name: 'nap', steps: { a: { transform: { n: 1 } }, rest: { needs: ['a'], sleep: '2s' }, b: { needs: ['rest'], transform: { n: 2 } } } },
];

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** Starts a run through the API, waiting up to `wait` for it to end (none: not waiting). */
async function post(url: string, workflow: string, wait: string | undefined = '10s'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/workflows/${workflow}/runs${wait === undefined ? '' : `?wait=${wait}`}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"input":{"n":1}}',
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function readyz(url: string): Promise<{ status: number; body: { status: string; checks: Record<string, { status: string; detail: string }> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { status: string; detail: string }> } };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe.runIf(hasPostgres)('runbook drill: PostgreSQL unreachable', () => {
  it('answers 503 on /readyz with the database check failing while the proxy is down, and recovers in the same process', async () => {
    const { dir, remove } = tempDir('agentry-drill-pg-');
    cleanups.push(remove);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    cleanups.push(() => proxy.close());
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const env = { AGENTRY_DATABASE_URL: url.toString() };
    const project = writeProject(dir, WORKFLOWS);
    const service = await drillService(project, env, ['--no-auth', '--migrate']).start();
    const runner: PageRunOptions = { env, cwd: dir };
    expect((await post(service.url, 'hello')).body.status).toBe('succeeded');

    await proxy.stop();
    const down = await until('readyz 503', async () => {
      const r = await readyz(service.url);
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.checks.database?.status).toBe('fail');
    const vars = { 'api-url': service.url, 'db-dir': dir };
    const curl = await runPageCommand(pageCommand(PAGE, 'curl', 'Diagnose'), vars, runner);
    expect(JSON.parse(curl.stdout)).toMatchObject({ status: 'not_ready', checks: { database: { status: 'fail' } } });
    const check = await runPageCommand(pageCommand(PAGE, 'agentry db check', 'Diagnose'), vars, runner);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^FAIL connection: /m);
    const refused = await post(service.url, 'hello', '2s');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('store_unavailable');

    await proxy.start();
    await until('readyz 200', async () => ((await readyz(service.url)).status === 200 ? true : undefined));
    const recheck = await runPageCommand(pageCommand(PAGE, 'agentry db check', 'PostgreSQL unreachable'), vars, runner);
    expect(recheck.code, recheck.stdout).toBe(0);
    expect(recheck.stdout).toMatch(/^ok {3}connection: /m);
    expect(JSON.parse((await runPageCommand(pageCommand(PAGE, 'curl', 'PostgreSQL unreachable'), vars, runner)).stdout)).toMatchObject({ status: 'ready' });
    expect((await post(service.url, 'hello')).body.status).toBe('succeeded');
    // The same process carried on, and said so.
    expect(service.proc.child.exitCode).toBeNull();
    expect(service.proc.stderr).toMatch(/database unavailable; retrying until it is back/);
  }, 90_000);
});

describe('runbook drill: SQLite disk full', () => {
  it('refuses writes with store_unavailable naming the full disk, counts them, and continues once space is freed', async (ctx) => {
    const { dir, remove } = tempDir('agentry-drill-full-');
    cleanups.push(remove);
    const volume = join(dir, 'volume');
    mkdirSync(volume);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', volume], { stdio: 'pipe' });
    } catch (error) {
      if (process.env.CI) throw error;
      ctx.skip(`cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); CI runs this drill as root`);
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', volume]);
    });
    const env = { AGENTRY_DATABASE_URL: `sqlite:${join(volume, 'agentry.db')}` };
    const project = writeProject(dir, WORKFLOWS);
    const service = await drillService(project, env, ['--no-auth']).start();
    const runner: PageRunOptions = { env, cwd: dir };
    expect((await post(service.url, 'hello')).body.status).toBe('succeeded');
    const inFlight = await post(service.url, 'nap', undefined);
    expect(inFlight.status).toBeLessThan(300);

    // The disk fills up (something else on the volume).
    const filler = join(volume, 'filler');
    const fd = openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
    const errorsBefore = await metric(service.url, 'agentry_store_transaction_errors_total');
    const refused = await post(service.url, 'hello', '2s');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'store_unavailable' });
    expect(String(refused.body.detail)).toMatch(/cannot take writes: its disk is full \(database or disk is full\); free space on its volume/);
    expect(await metric(service.url, 'agentry_store_transaction_errors_total')).toBeGreaterThan(errorsBefore);

    const df = await runPageCommand(pageCommand(PAGE, 'df', 'Diagnose'), { 'db-dir': volume }, runner);
    expect(df.stdout).toMatch(/100%/);
    const du = await runPageCommand(pageCommand(PAGE, 'du', 'Disk full (SQLite)'), { 'db-dir': volume }, runner);
    expect(du.stdout).toMatch(/filler/);

    // Freeing the space: what filled it is deleted, and work resumes by itself.
    rmSync(filler);
    const finished = await until('the run in flight finishes', async () => {
      const res = await fetch(`${service.url}/v1/runs/${String(inFlight.body.id)}`);
      const run = (await res.json()) as { status: string };
      return run.status === 'succeeded' ? run : undefined;
    });
    expect(finished.status).toBe('succeeded');
    expect((await post(service.url, 'hello')).body.status).toBe('succeeded');
    const list = await runPageCommand(pageCommand(PAGE, 'agentry runs list', 'Verify'), { 'api-url': service.url }, runner);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(String(inFlight.body.id));
  }, 90_000);
});

describe('runbook drill: corrupt SQLite file', () => {
  it('serve refuses the damaged file; db check fails; db recover and the swap bring the service back with its runs', async () => {
    const { dir, remove } = tempDir('agentry-drill-corrupt-');
    cleanups.push(remove);
    const dbFile = join(dir, 'data', 'agentry.db');
    const env = { AGENTRY_DATABASE_URL: `sqlite:${dbFile}` };
    const project = writeProject(dir, WORKFLOWS);
    // The store as the service left it: runs written by an engine on it, the file closed.
    mkdirSync(dirname(dbFile), { recursive: true });
    const store = openSqliteStore(dbFile);
    await store.migrate();
    const engine = await engineOn(store, WORKFLOWS);
    const runs: string[] = [];
    for (let n = 0; n < 12; n++) runs.push((await engine.startRun('hello', { n })).id);
    for (const id of runs) expect((await engine.waitForRun(id, { timeoutMs: 20_000 })).status).toBe('succeeded');
    await engine.stop();
    await store.close();
    // The page's `systemctl stop|start` stop and start the drill's `serve`.
    const service = drillService(project, env, ['--no-auth']);
    const runner: PageRunOptions = { env, cwd: dir, service };
    damageTablePage(dbFile, 'events');

    const refused = await runCli(['serve', project, '--port', '0', '--no-auth'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/"event":"process\.failed","code":"store_corrupt",.*"details":\{"code":"SQLITE_CORRUPT"/);

    const recovered = join(dir, 'recovered.sqlite');
    const commands = pageCommands(PAGE, 'Corrupt SQLite file');
    for (const command of commands) {
      const result = await runPageCommand(command, { 'recovered-file': recovered, 'db-file': dbFile }, runner);
      if (command.startsWith('agentry db check')) {
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(/^FAIL integrity: SQLITE_CORRUPT/m);
      } else {
        expect(result.code, `${command}\n${result.stdout}${result.stderr}`).toBe(0);
      }
      if (command.startsWith('agentry db recover')) expect(result.stdout).toMatch(/^LOST: table events, /m);
    }
    expect(commands.length).toBe(6);
    const url = service.server?.url;
    expect(url, 'the page started the service').toBeDefined();

    const check = await runPageCommand(pageCommand(PAGE, 'agentry db check', 'Verify'), { 'api-url': url! }, runner);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse((await runPageCommand(pageCommand(PAGE, 'curl', 'Verify'), { 'api-url': url! }, runner)).stdout)).toMatchObject({ status: 'ready' });
    const run = await fetch(`${url}/v1/runs/${runs[0]}`);
    expect(run.status).toBe(200);
    expect((await post(url!, 'hello')).body.status).toBe('succeeded');
  }, 90_000);
});
