/**
 * `agentry smoke` against a split-role deployment on PostgreSQL: `agentry start api`,
 * `agentry start worker --no-scheduler` and `agentry start scheduler`, three processes on one
 * fresh database. The API runs no worker pool, so the built-in workflow's run succeeds only if
 * the worker process executes it and the scheduler's side of its durable sleep works (and the
 * human task of `agentry-smoke-review` resumes its run on the worker).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../src/cli/smoke.js';
import { killAll, removeDir, runCli, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { logLines } from '../helpers/pg-processes.js';
import { hasPostgres } from '../helpers/store.js';

const KEY = 'operator-key-0123456789abcdef';

let dir: string | undefined;
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let procs: CliProcess[] = [];
let base: string;

describe.runIf(hasPostgres)('agentry smoke against api, worker and scheduler processes on PostgreSQL', { timeout: 30_000 }, () => {
  beforeAll(async () => {
    dir = tempDir('agentry-smoke-pg-');
    const project = join(dir, 'project');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: smoke-split\n');
    writeFileSync(join(project, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a: { transform: { n: 1 } }\n');
    db = await createTestDatabase();
    const env = {
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_API_KEYS: `ops:${KEY}:operator`,
      AGENTRY_POLL_INTERVAL: '200ms',
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_LOG_LEVEL: 'info',
    };
    const worker = startCli(['start', 'worker', '--no-scheduler', '--dir', project], { env });
    const scheduler = startCli(['start', 'scheduler', '--dir', project], { env });
    const api = startCli(['start', 'api', '--dir', project, '--port', '0'], { env });
    procs = [worker, scheduler, api];
    await Promise.all([
      waitForOutput(worker, (stderr) => / ready: /.test(stderr)),
      waitForOutput(scheduler, (stderr) => / ready: /.test(stderr)),
      waitForOutput(api, (_stderr, stdout) => stdout.includes('curl ')),
    ]);
    base = /listening on (http:\/\/\S+)/.exec(api.stdout)![1]!;
  }, 30_000);

  afterAll(async () => {
    for (const proc of procs) proc.child.kill('SIGTERM');
    const ended = await Promise.all(procs.map((proc) => proc.done));
    await killAll();
    await db?.drop();
    if (dir) removeDir(dir);
    expect(ended.map((result) => result.code)).toEqual([0, 0, 0]);
  });

  it('passes every check through the API process, the worker executing the built-in workflow', async () => {
    const [worker] = procs;
    expect(logLines(worker!.stderr, / ready: /)[0]?.workflows).toEqual(['hello', 'agentry-smoke', 'agentry-smoke-review']);

    const result = await runCli(['smoke', '--url', base, '--timeout', '25s'], { cwd: dir, env: { AGENTRY_API_KEY: KEY } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    // An operator key: no audit:read, and no viewer key given.
    const skipped = ['viewer-write', 'audit'];
    for (const name of CHECK_NAMES) {
      expect(lines.find((line) => line.includes(`  ${name} `))).toMatch(new RegExp(`^${skipped.includes(name) ? 'SKIP' : 'PASS'}  ${name} `));
    }
    expect(lines.at(-2)).toMatch(/^OK: 12 passed, 2 skipped in /);

    // The worker process made the run's attempts.
    const page = await fetch(`${base}/v1/runs?workflow=agentry-smoke&status=succeeded`, { headers: { authorization: `Bearer ${KEY}` } });
    const [run] = ((await page.json()) as { items: Array<{ id: string }> }).items;
    const detail = (await (await fetch(`${base}/v1/runs/${run!.id}/steps/compute/attempts`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      items: Array<{ worker_id: string | null }>;
    };
    const workerId = logLines(worker!.stderr, / ready: /)[0]?.worker;
    expect(detail.items.map((attempt) => attempt.worker_id)).toEqual([workerId]);
  });
});
