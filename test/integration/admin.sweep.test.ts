/**
 * `agentry admin sweep --now` (ENG-17): with no scheduler running anywhere, one forced pass ends a
 * run past its deadline `timed_out`, expires a human task past its deadline (no worker claims
 * its step either), and prunes an old ended run under the configured retention — and says so
 * in its counts; the pass is an `admin.sweep` audit entry. `--now` is required.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAgentry } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { runCliInProcess } from '../helpers/cli.js';
import { openTask, silentLogger } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const WORKFLOWS: Record<string, string> = {
  'workflows/late.yaml': 'version: v1\nname: late\ndeadline: 1s\nsteps:\n  nap:\n    sleep: 1h\n',
  'workflows/review.yaml': 'version: v1\nname: review\nsteps:\n  ask:\n    human:\n      title: Check it\n      timeout: 1s\n',
  'workflows/old.yaml': 'version: v1\nname: old\nsteps:\n  a:\n    transform: { done: true }\n',
};

const backends = [
  { name: 'sqlite', database: (dir: string) => Promise.resolve({ url: `sqlite:${join(dir, 'agentry.db')}`, drop: () => Promise.resolve() }) },
  ...(hasPostgres ? [{ name: 'postgres', database: () => createTestDatabase() }] : []),
];

describe.each(backends)('agentry admin sweep --now ($name)', { timeout: 90_000 }, (backend) => {
  const { dir, remove } = tempDir('agentry-sweep-');
  const cleanups: (() => Promise<void> | void)[] = [remove];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it('times out, expires and prunes in one pass, with no scheduler running', async () => {
    for (const [path, text] of Object.entries({ 'agentry.yaml': 'version: v1\nname: sweep\n', ...WORKFLOWS })) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const db = await backend.database(dir);
    cleanups.push(db.drop);
    const env = { AGENTRY_PROJECT_DIR: dir, AGENTRY_DATABASE_URL: db.url, AGENTRY_RETENTION_SUCCEEDED: '1s', USER: 'ops-sam' };

    const refused = await runCliInProcess(['admin', 'sweep'], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--now');

    const old = await runCliInProcess(['run', 'old', '--wait', '--json'], { env });
    expect(old.code, old.stderr).toBe(0);
    const oldId = (JSON.parse(old.stdout) as { id: string }).id;

    // A worker (no scheduler) parks the human step on its task and the sleep; then it stops.
    const config = loadConfig({ flags: {}, env: { ...env, AGENTRY_POLL_INTERVAL: '50ms' }, cwd: dir });
    const app = await openAgentry(config, { logger: silentLogger, env });
    let lateId: string;
    let taskId: string;
    try {
      lateId = (await app.engine.startRun('late', {})).id;
      const reviewId = (await app.engine.startRun('review', {})).id;
      await app.engine.start({ roles: ['worker'] });
      taskId = (await openTask(app.store, reviewId)).id;
    } finally {
      await app.close();
    }
    // Past every deadline, and past the retention of the succeeded run.
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const swept = await runCliInProcess(['admin', 'sweep', '--now', '--json'], { env });
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout)).toMatchObject({
      runs_timed_out: 1,
      tasks_overdue: 1,
      maintenance: [
        { task: 'quota counters', counts: { minutes: 0 }, error: null },
        { task: 'run retention', counts: { runs: 1 }, error: null },
      ],
    });

    const late = await runCliInProcess(['runs', 'get', lateId, '--json'], { env });
    expect((JSON.parse(late.stdout) as { status: string }).status).toBe('timed_out');
    const task = await runCliInProcess(['tasks', 'show', taskId, '--json'], { env });
    expect((JSON.parse(task.stdout) as { status: string }).status).toBe('expired');
    const gone = await runCliInProcess(['runs', 'get', oldId], { env });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('not found');

    const audit = await runCliInProcess(['audit', 'list', '--action', 'admin.sweep', '--json'], { env });
    const [entry] = (JSON.parse(audit.stdout) as { items: { principal: string; details: Record<string, unknown> }[] }).items;
    expect(entry).toMatchObject({ principal: 'ops-sam', details: { runs_timed_out: 1, tasks_overdue: 1 } });

    // A second pass finds nothing left to do; its text names each sweeper.
    const again = await runCliInProcess(['admin', 'sweep', '--now'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 runs timed out, 0 human tasks expired or escalated');
    expect(again.stdout).toContain('Maintenance: run retention: 0 runs, 0 events, 0 idempotency keys');
  });
});
