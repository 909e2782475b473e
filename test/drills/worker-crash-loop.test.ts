/**
 * Drill of docs/operations/runbooks/worker-crash-loop.md, with the page's own commands (read from
 * its ```sh blocks) through the real CLI:
 *
 * - A crash loop on a bad configuration: `agentry serve` started again and again by a
 *   "supervisor" dies each time with one `process.failed` ERROR line naming the file and the
 *   setting; `agentry config validate` names it too → the file is fixed, `config validate`
 *   passes, `agentry serve` starts, the runs queued meanwhile succeed, `/readyz` answers 200 and
 *   `agentry workers list` shows the worker.
 * - Killed mid-run (INC-15): `scripts/drills/crash-mid-run.sh` SIGKILLs `agentry serve` in the
 *   middle of a run, restarts it, and checks the run resumed with each step done once.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_ENTRY, dbFile, killAll, REPO, removeDir, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { API_KEYS } from '../helpers/server.js';
import { commandWords, drillProject, pageCommand, runPageCommand, startRun, stopGracefully, waitForSucceeded } from '../helpers/runbook.js';

const PAGE = 'worker-crash-loop';
const HELLO = { name: 'hello', steps: { greet: { transform: { message: 'hi' } } } };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = drillProject({ 'workflows/hello.yaml': JSON.stringify(HELLO) });
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** The JSON lines of level `error` of a process's stderr. */
function errorLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.level === 'error');
}

describe('worker crash loop', { timeout: 120_000 }, () => {
  it('a bad configuration: each start dies with one process.failed line; config validate names it; fixed, serve finishes the queued runs', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const ids = [await startRun('hello', env), await startRun('hello', env)];
    const good = readFileSync(join(dir, 'agentry.yaml'), 'utf8');
    appendFileSync(join(dir, 'agentry.yaml'), 'engine:\n  concurrency: lots\n');

    // The supervisor restarts it; it dies the same way each time, exit 2, one ERROR JSON line.
    const [, ...serveArgs] = commandWords(pageCommand(PAGE, 'agentry serve', 'Fix'));
    for (let restart = 0; restart < 2; restart++) {
      const died = await runCli(serveArgs, { env: { ...env, AGENTRY_PORT: '0' } });
      expect(died.code, died.stderr).toBe(2);
      const [line, ...more] = errorLines(died.stderr);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ event: 'process.failed', command: 'serve', code: 'invalid_request' });
      expect(line!.message).toContain("agentry.yaml engine.concurrency: must be a whole number, got 'lots'");
    }

    const validate = await runPageCommand(pageCommand(PAGE, 'agentry config validate', 'Diagnose'), {}, { env });
    expect(validate.code).toBe(2);
    expect(validate.stdout + validate.stderr).toContain('engine.concurrency');

    writeFileSync(join(dir, 'agentry.yaml'), good);
    const fixed = await runPageCommand(pageCommand(PAGE, 'agentry config validate', 'Fix'), {}, { env });
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const server = startCli(serveArgs, { env: { ...env, AGENTRY_PORT: '0', AGENTRY_API_KEYS: API_KEYS, AGENTRY_POLL_INTERVAL: '100ms' } });
    await waitForOutput(server, (_stderr, stdout) => stdout.includes('listening on'));
    const url = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
    await waitForSucceeded({ sqlite: dbFile(dir) }, ids);

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const workers = await runPageCommand(pageCommand(PAGE, 'agentry workers list', 'Verify'), {}, { env });
    expect(workers.stdout).toMatch(new RegExp(`\\s${server.child.pid}\\s+worker,scheduler\\s.*\\sactive`));
    const queued = await runPageCommand(pageCommand(PAGE, 'agentry runs list --status queued', 'Verify'), {}, { env });
    for (const id of ids) expect(queued.stdout).not.toContain(id);
    expect((await stopGracefully(server)).code).toBe(0);
  });

  it('killed mid-run: scripts/drills/crash-mid-run.sh kills serve with SIGKILL, restarts it, and the run resumes', async () => {
    const script = pageCommand(PAGE, 'scripts/drills/crash-mid-run.sh', 'Fix');
    const { stdout } = await promisify(execFile)(join(REPO, script), [], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AGENTRY: `${process.execPath} ${CLI_ENTRY}`, NO_COLOR: '1' },
      timeout: 110_000,
    });
    expect(stdout).toMatch(/^PASS {2}server killed with SIGKILL; the run is intact in the store \(waiting before=succeeded:1 nap=waiting:1/m);
    expect(stdout).toMatch(/^PASS {2}server restarted; run run_\S+ resumed and succeeded/m);
    expect(stdout).toContain('PASS  each step succeeded exactly once');
    expect(stdout.trim().endsWith('drill passed')).toBe(true);
  });
});
