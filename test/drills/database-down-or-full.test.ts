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
import { killAll, runCli, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { engineOn } from '../helpers/engine.js';
import { writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { commandStarting, runbookCommands, runPageCommand, type PageCommand, type PageRunner } from '../helpers/runbook-rb-data.js';
import { damageTablePage } from '../helpers/sqlite-damage.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const PAGE = 'database-down-or-full.md';
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

interface Service {
  url: string;
  proc: CliProcess;
}

async function startService(project: string, env: Record<string, string>, extra: string[] = []): Promise<Service> {
  const proc = startCli(['serve', project, '--port', '0', '--no-auth', ...extra], {
    env: { AGENTRY_LOG_LEVEL: 'warn', AGENTRY_POLL_INTERVAL: '200ms', ...env },
  });
  await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
  return { url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]!, proc };
}

/** A runner whose `systemctl stop|start` stops and starts the drill's `serve`. */
function runnerFor(project: string, env: Record<string, string>, cwd: string, holder: { service: Service | undefined }): PageRunner {
  return {
    env,
    cwd,
    service: {
      stop: async () => {
        if (!holder.service) return;
        holder.service.proc.child.kill('SIGTERM');
        await holder.service.proc.done;
        holder.service = undefined;
      },
      start: async () => {
        holder.service = await startService(project, env);
      },
    },
  };
}

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

const byWords = (commands: PageCommand[], ...prefix: string[]): PageCommand => commandStarting(commands, ...prefix);

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
    const holder: { service: Service | undefined } = { service: await startService(project, { ...env, AGENTRY_LOG_LEVEL: 'info' }, ['--migrate']) };
    const service = holder.service!;
    const runner = runnerFor(project, env, dir, holder);
    expect((await post(service.url, 'hello')).body.status).toBe('succeeded');

    await proxy.stop();
    const down = await until('readyz 503', async () => {
      const r = await readyz(service.url);
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.checks.database?.status).toBe('fail');
    const diagnose = runbookCommands(PAGE, 'Diagnose', { '<api-url>': service.url, '<db-dir>': dir });
    const curl = await runPageCommand(byWords(diagnose, 'curl'), runner);
    expect(JSON.parse(curl.stdout)).toMatchObject({ status: 'not_ready', checks: { database: { status: 'fail' } } });
    const check = await runPageCommand(byWords(diagnose, 'agentry', 'db', 'check'), runner);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^FAIL connection: /m);
    const refused = await post(service.url, 'hello', '2s');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('store_unavailable');

    await proxy.start();
    const fix = runbookCommands(PAGE, 'PostgreSQL unreachable', { '<api-url>': service.url });
    await until('readyz 200', async () => ((await readyz(service.url)).status === 200 ? true : undefined));
    const recheck = await runPageCommand(byWords(fix, 'agentry', 'db', 'check'), runner);
    expect(recheck.code, recheck.stdout).toBe(0);
    expect(recheck.stdout).toMatch(/^ok {3}connection: /m);
    expect(JSON.parse((await runPageCommand(byWords(fix, 'curl'), runner)).stdout)).toMatchObject({ status: 'ready' });
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
    const holder: { service: Service | undefined } = { service: await startService(project, env) };
    const service = holder.service!;
    const runner = runnerFor(project, env, dir, holder);
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

    const diagnose = runbookCommands(PAGE, 'Diagnose', { '<api-url>': service.url, '<db-dir>': volume });
    const df = await runPageCommand(byWords(diagnose, 'df'), runner);
    expect(df.stdout).toMatch(/100%/);
    const fix = runbookCommands(PAGE, 'Disk full (SQLite)', { '<db-dir>': volume });
    const du = await runPageCommand(byWords(fix, 'du'), runner);
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
    const verify = runbookCommands(PAGE, 'Verify', { '<api-url>': service.url });
    const list = await runPageCommand(byWords(verify, 'agentry', 'runs', 'list'), runner);
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
    const holder: { service: Service | undefined } = { service: undefined };
    const runner = runnerFor(project, env, dir, holder);
    damageTablePage(dbFile, 'events');

    const refused = await runCli(['serve', project, '--port', '0', '--no-auth'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/"event":"store\.corrupt","code":"SQLITE_CORRUPT"/);

    const recovered = join(dir, 'recovered.sqlite');
    const commands = runbookCommands(PAGE, 'Corrupt SQLite file', { '<recovered-file>': recovered, '<db-file>': dbFile });
    const results: string[] = [];
    for (const command of commands) {
      const result = await runPageCommand(command, runner);
      results.push(`${command.line} → ${result.code}`);
      if (command.words[1] === 'db' && command.words[2] === 'check') {
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(/^FAIL integrity: SQLITE_CORRUPT/m);
      } else {
        expect(result.code, `${command.line}\n${result.stdout}${result.stderr}`).toBe(0);
      }
      if (command.words[2] === 'recover') expect(result.stdout).toMatch(/^LOST: table events, /m);
    }
    expect(results.length).toBe(6);
    expect(holder.service).toBeDefined();

    const verify = runbookCommands(PAGE, 'Verify', { '<api-url>': holder.service!.url });
    const check = await runPageCommand(byWords(verify, 'agentry', 'db', 'check'), runner);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse((await runPageCommand(byWords(verify, 'curl'), runner)).stdout)).toMatchObject({ status: 'ready' });
    const run = await fetch(`${holder.service!.url}/v1/runs/${runs[0]}`);
    expect(run.status).toBe(200);
    expect((await post(holder.service!.url, 'hello')).body.status).toBe('succeeded');
  }, 90_000);
});
