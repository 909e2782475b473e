/**
 * `agentry dev`: a project's services started in the background by the real CLI (child
 * processes), on SQLite (one `serve`) and PostgreSQL (a worker, then the API that needs it):
 * `.env` read, status with health, a killed service shown stopped, restart with new pids, stop
 * of one leaving the others, and logs followed as requests arrive.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleProject, killAll, removeDir, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

interface ServiceStatus {
  name: string;
  health: 'healthy' | 'unhealthy' | 'stopped';
  pid: number | null;
  port: number | null;
  url: string | null;
}

const KEY = 'devkey-0123456789abcdef';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** A project whose services are SIGKILLed after the test, whatever happened to `dev stop`. */
function project(env: string): string {
  const dir = exampleProject({ '.env': env });
  cleanups.push(() => {
    const stateDir = join(dir, '.agentry', 'dev');
    if (existsSync(stateDir)) {
      for (const file of readdirSync(stateDir).filter((f) => f.endsWith('.json'))) {
        const { pid } = JSON.parse(readFileSync(join(stateDir, file), 'utf8')) as { pid: number };
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    }
    removeDir(dir);
  });
  return dir;
}

async function dev(dir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['dev', ...args, '--dir', dir]);
}

async function status(dir: string): Promise<Record<string, ServiceStatus>> {
  const result = await dev(dir, 'status', '--json');
  expect(result.code, result.stderr).toBe(0);
  return Object.fromEntries((JSON.parse(result.stdout) as ServiceStatus[]).map((s) => [s.name, s]));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('agentry dev', { timeout: 90_000 }, () => {
  it('on SQLite: starts serve with .env applied, reports health, follows its log, restarts and stops it', async () => {
    const dir = project(`AGENTRY_API_KEYS=dev:${KEY}:admin\n`);
    const port = await freePort();

    const started = await dev(dir, 'start', '--port', String(port), '--json');
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain('.env read');
    const [api] = JSON.parse(started.stdout) as ServiceStatus[];
    expect(api).toMatchObject({ name: 'api', health: 'healthy', port, url: `http://127.0.0.1:${port}` });

    // The key of .env is the API's only key: without it 401, with it 200.
    expect((await fetch(`${api!.url}/v1/runs`)).status).toBe(401);
    expect((await fetch(`${api!.url}/v1/runs`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);

    // The backlog is limited to -n lines, each a JSON log line.
    const backlog = await dev(dir, 'logs', 'api', '-n', '3');
    expect(backlog.code, backlog.stderr).toBe(0);
    const lines = backlog.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();

    // Following: a request made after it started shows up as a new line.
    // It has read where the log ends once it printed the backlog's last line.
    const follow = startCli(['dev', 'logs', 'api', '-f', '-n', '1', '--dir', dir]);
    await waitForOutput(follow, (_stderr, stdout) => stdout.includes('\n'));
    const marker = `/v1/runs/run_followme${Date.now()}`;
    await fetch(`${api!.url}${marker}`, { headers: { authorization: `Bearer ${KEY}` } });
    await waitForOutput(follow, (_stderr, stdout) => stdout.includes(marker));
    const seen = follow.stdout.split('\n').find((line) => line.includes(marker))!;
    expect(JSON.parse(seen)).toMatchObject({ path: marker, status_code: 404 });
    follow.child.kill('SIGINT');
    expect((await follow.done).code).toBe(0);

    // A killed service is stopped, whatever its state file says.
    process.kill(api!.pid!, 'SIGKILL');
    await expect.poll(async () => (await status(dir)).api!.health, { timeout: 20_000 }).toBe('stopped');

    const restarted = await dev(dir, 'restart', 'api', '--json');
    expect(restarted.code, restarted.stderr).toBe(0);
    const again = (JSON.parse(restarted.stdout) as ServiceStatus[])[0]!;
    expect(again).toMatchObject({ health: 'healthy', port });
    expect(again.pid).not.toBe(api!.pid);

    const stopped = await dev(dir, 'stop');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain(`api: stopped (pid ${again.pid})`);
    expect(await portOpen(port)).toBe(false);
    expect((await status(dir)).api).toMatchObject({ health: 'stopped', pid: null });
  });

  it('refuses an unknown service, a log that does not exist yet and a port another process holds, starting nothing', async () => {
    const dir = project(`AGENTRY_API_KEYS=dev:${KEY}:admin\n`);
    const unknown = await dev(dir, 'start', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown service 'nope': this project's services are api");

    const noLog = await dev(dir, 'logs', 'api');
    expect(noLog.code).toBe(2);
    expect(noLog.stderr).toContain('api has no log yet');

    const { createServer } = await import('node:net');
    const holder = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, () => resolve((holder.address() as { port: number }).port)));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const taken = await dev(dir, 'start', '--port', String(port));
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(`api: port ${port} is in use by another process`);
    expect((await status(dir)).api!.health).toBe('stopped');
  });

  it.runIf(hasPostgres)('on PostgreSQL: starts the worker an API needs, restarts both with new pids, stops one and leaves the other', async () => {
    const db = await createTestDatabase('agentry_dev_', { empty: true });
    cleanups.push(() => db.drop());
    const dir = project(`AGENTRY_DATABASE_URL=${db.url}\nAGENTRY_API_KEYS=dev:${KEY}:admin\n`);
    const port = await freePort();

    const started = await dev(dir, 'start', 'api', '--port', String(port), '--json');
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toMatch(/worker: ready[\s\S]*api: starting/);
    const first = Object.fromEntries((JSON.parse(started.stdout) as ServiceStatus[]).map((s) => [s.name, s]));
    expect(first.worker).toMatchObject({ health: 'healthy' });
    expect(first.api).toMatchObject({ health: 'healthy', port });

    const restarted = await dev(dir, 'restart', 'api', 'worker', '--json');
    expect(restarted.code, restarted.stderr).toBe(0);
    const second = Object.fromEntries((JSON.parse(restarted.stdout) as ServiceStatus[]).map((s) => [s.name, s]));
    expect(second.api).toMatchObject({ health: 'healthy', port });
    expect(second.worker!.health).toBe('healthy');
    expect(second.api!.pid).not.toBe(first.api!.pid);
    expect(second.worker!.pid).not.toBe(first.worker!.pid);

    const stopApi = await dev(dir, 'stop', 'api');
    expect(stopApi.code, stopApi.stderr).toBe(0);
    expect(await portOpen(port)).toBe(false);
    const after = await status(dir);
    expect(after.api!.health).toBe('stopped');
    expect(after.worker).toMatchObject({ health: 'healthy', pid: second.worker!.pid });

    expect((await dev(dir, 'stop')).code).toBe(0);
    expect((await status(dir)).worker!.health).toBe('stopped');
  });
});
