/**
 * Drill of docs/operations/runbooks/runs-stuck.md: runs stuck for each of the page's causes,
 * staged for real, diagnosed and fixed with the page's own commands (read from its ```sh
 * blocks) through the real CLI, until the runs finish.
 *
 * - No live worker: runs queued on a store no worker runs on → `runs list --status queued`
 *   lists them, `workers list` has none, `maintenance status` is off → `agentry start worker`
 *   → they succeed and the queue is empty.
 * - Maintenance mode left on: a serving process, maintenance on → runs stay queued,
 *   `maintenance status` says who and why → `maintenance off` → they succeed; `agentry smoke`
 *   passes.
 * - Lease storm (PostgreSQL: two processes on one store): a worker frozen with SIGSTOP while it
 *   holds leases → the scheduler expires them; `workers list` shows the worker stale with its
 *   pid, `runs attempts` shows `lease_expired` → `kill -9 <pid>`, `agentry start worker` → the
 *   runs succeed.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { dbFile, killAll, removeDir, startCli, waitForOutput } from '../helpers/cli.js';
import { json, startServer } from '../helpers/http-server.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';
import { KEYS } from '../helpers/server.js';
import { commandWords, drillProject, pageCommand, runPageCommand, startDrillServer, startRun, stopGracefully, waitForSucceeded } from '../helpers/runbook.js';

const PAGE = 'runs-stuck';
const HELLO = { name: 'hello', steps: { greet: { transform: { message: 'hi' } } } };
const CALL = {
  name: 'call',
  env: { LEDGER_URL: {} },
  steps: { call: { http: { url: '{{ env.LEDGER_URL }}/call', method: 'POST', body: { run: '{{ run.id }}' } }, retry: { max_attempts: 5 } } },
};

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = drillProject(Object.fromEntries([HELLO, CALL].map((wf) => [`workflows/${wf.name}.yaml`, JSON.stringify(wf)])));
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** Polls `done` until it holds; fails the test with `why()` after 30 s. */
async function until(done: () => boolean | Promise<boolean>, why: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the page's command of `section` starting with `prefix`; expects exit 0 and returns stdout. */
async function step(section: string, prefix: string, env: Record<string, string>, values: Record<string, string> = {}): Promise<string> {
  const line = pageCommand(PAGE, prefix, section);
  const result = await runPageCommand(line, values, { env });
  expect(result.code, `${line}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('runs stuck', { timeout: 90_000 }, () => {
  it('no live worker: the diagnosis shows queued runs and no worker; agentry start worker finishes them', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const ids = [await startRun('hello', env), await startRun('hello', env)];

    const queued = await step('Diagnose', 'agentry runs list --status queued', env);
    for (const id of ids) expect(queued).toMatch(new RegExp(`^${id}\\s+hello\\s+○ queued`, 'm'));
    expect(await step('Diagnose', 'agentry workers list', env)).toContain('No worker is registered');
    expect(await step('Diagnose', 'agentry maintenance status', env)).toContain('Maintenance mode is off');

    const [, ...args] = commandWords(pageCommand(PAGE, 'agentry start worker', 'Fix'));
    const worker = startCli(args, { env: { ...env, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'info' } });
    await waitForSucceeded({ sqlite: dbFile(dir) }, ids);

    const after = await step('Verify', 'agentry runs list --status queued', env);
    for (const id of ids) expect(after).not.toContain(id);
    expect(await step('Verify', 'agentry runs get', env, { 'run-id': ids[0]! })).toContain('succeeded');
    expect((await stopGracefully(worker)).code).toBe(0);
  });

  it('maintenance mode left on: runs queue behind it; maintenance off finishes them and the smoke passes', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const { proc: server, url } = await startDrillServer(dir);
    // Left on after an upgrade.
    expect(await runPageCommand('agentry maintenance on --reason "upgrade to 0.3"', {}, { env })).toMatchObject({ code: 0 });
    const ids = [await startRun('hello', env), await startRun('hello', env)];

    const queued = await step('Diagnose', 'agentry runs list --status queued', env);
    for (const id of ids) expect(queued).toContain(id);
    expect(await step('Diagnose', 'agentry workers list', env)).toMatch(/worker,scheduler\s+\d+\s+0\s+\S+ ago\s+active/);
    expect(await step('Diagnose', 'agentry maintenance status', env)).toMatch(/Maintenance mode is on since .*: upgrade to 0\.3/);
    // Still queued after the diagnosis: no worker claims while it is on.
    const stillQueued = await step('Diagnose', 'agentry runs list --status queued', env);
    for (const id of ids) expect(stillQueued).toContain(id);

    expect(await step('Fix', 'agentry maintenance off', env)).toContain('Maintenance mode is off');
    await waitForSucceeded({ sqlite: dbFile(dir) }, ids);

    const smoke = await step('Verify', 'agentry smoke', { AGENTRY_API_KEY: KEYS.admin }, { 'api-url': url });
    expect(smoke).toMatch(/^PASS {2}run /m);
    expect((await stopGracefully(server)).code).toBe(0);
  });

  it.runIf(hasPostgres)(
    'lease storm: a frozen worker loses its leases; workers list names it, attempts show lease_expired; kill -9 and a worker finish the runs',
    async () => {
      const db = await createTestDatabase('agentry_drill_');
      cleanups.push(() => db.drop());
      // The first calls (those of the worker about to freeze) are held unanswered; the later ones answered.
      const held: ServerResponse[] = [];
      const ledger = await startServer((_req, res) => {
        if (held.length < 2) held.push(res);
        else json(res, 200, { ok: true });
      });
      cleanups.push(() => ledger.close());
      const dir = project();
      const env = { AGENTRY_PROJECT_DIR: dir, AGENTRY_DATABASE_URL: db.url, AGENTRY_LEASE_TTL: '2s' };
      const roleEnv = { ...env, LEDGER_URL: ledger.url, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'info' };

      const scheduler = startCli(['start', 'scheduler'], { env: roleEnv });
      const frozen = startCli(['start', 'worker', '--no-scheduler'], { env: roleEnv });
      await Promise.all([waitForOutput(scheduler, (e) => e.includes('engine started')), waitForOutput(frozen, (e) => e.includes('engine started'))]);
      const ids = [await startRun('call', env), await startRun('call', env)];
      await until(
        () => held.length === 2,
        () => `the worker did not call the ledger:\n${frozen.stderr}`,
      );
      frozen.child.kill('SIGSTOP');
      cleanups.push(() => void frozen.child.kill('SIGCONT'));

      // The worker stops beating: its heartbeat ages past the lease TTL while it is still listed,
      // with the pid to act on (after 3 TTLs the scheduler forgets it, logging `worker.gone`).
      const pid = String(frozen.child.pid);
      let workers = '';
      let age = 0;
      await until(
        async () => {
          workers = await step('Diagnose', 'agentry workers list', env);
          const row = new RegExp(`\\s${pid}\\s+worker\\s+\\d+\\s+\\d+\\s+([\\d.]+)s ago\\s+(active|stale)`).exec(workers);
          age = Math.max(age, Number(row?.[1] ?? 0));
          return age >= 2 || scheduler.stderr.includes(`"worker_pid":${pid}`);
        },
        () => `the frozen worker ${pid} was not seen going stale:\n${workers}`,
      );
      // The scheduler expired its leases: the attempts say so.
      let attempts = '';
      await until(
        async () => (attempts = await step('Diagnose', 'agentry runs attempts', env, { 'run-id': ids[0]!, step: 'call' })).includes('lease_expired'),
        () => `no expired attempt:\n${attempts}\n${scheduler.stderr}`,
      );
      // …and logged it (the line may reach this process's pipe a moment after the commit the attempts show).
      await waitForOutput(scheduler, (e) => e.includes('"event":"step.lease_expired"'));

      const kill = commandWords(pageCommand(PAGE, 'kill -9', 'Fix'), { pid });
      expect(kill).toEqual(['kill', '-9', pid]);
      process.kill(Number(kill[2]), 'SIGKILL');
      expect((await frozen.done).signal).toBe('SIGKILL');

      const [, ...args] = commandWords(pageCommand(PAGE, 'agentry start worker', 'Fix'));
      const worker = startCli([...args, '--no-scheduler'], { env: roleEnv });
      await waitForSucceeded({ postgres: db.url }, ids);
      const after = await step('Verify', 'agentry runs list --status queued', env);
      for (const id of ids) expect(after).not.toContain(id);
      expect((await stopGracefully(worker)).code).toBe(0);
      expect((await stopGracefully(scheduler)).code).toBe(0);
    },
  );
});
