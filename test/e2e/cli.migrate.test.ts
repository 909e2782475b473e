/**
 * Migrations as an operator meets them, through the real CLI: `agentry migrate status` reads only
 * and shows each applied migration with its time and duration; `agentry migrate up` (and the old
 * `agentry migrate`) applies the pending ones, logging each; SQLite processes migrate on start
 * unless `AGENTRY_AUTO_MIGRATE=false`; PostgreSQL processes and store commands refuse pending
 * migrations (`migrations_pending`, naming `agentry migrate up`) unless `--migrate`; and every
 * role and store command refuses a schema newer than the build, naming both versions.
 *
 * The commands that only read or refuse, and print what is checked on stdout or as their error
 * line, run in this process (`runCliInProcess`); the ones whose logs (migrations applied) or
 * process (a server started and stopped by a signal, a role refusing to start) are checked run
 * as the real binary.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { killAll, removeDir, runCli, runCliInProcess, startCli, tempDir, waitForOutput, type CliResult } from '../helpers/cli.js';
import { logLines, query, writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const LATEST = LATEST_SCHEMA_VERSION;
const HELLO = { name: 'hello', steps: { greet: { transform: { message: 'hi' } } } };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = tempDir('agentry-migrate-');
  cleanups.push(() => removeDir(dir));
  return writeProject(dir, [HELLO]);
}

interface Status {
  current: number;
  latest: number;
  state: string;
  pending: Array<{ version: number; name: string }>;
  applied: Array<{ version: number; name: string; applied_at: string; duration_ms: number | null }>;
}

const json = <T>(result: CliResult): T => JSON.parse(result.stdout) as T;

/** Runs a server command to its end: it must refuse to start. */
async function refused(args: string[], env: Record<string, string>): Promise<CliResult> {
  const result = await runCli(args, { env });
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).not.toContain('engine started');
  return result;
}

function expectPending(result: CliResult, current: number): void {
  expect(result.stderr).toContain('error [migrations_pending]');
  expect(result.stderr).toContain(`is at migration ${current} and this build needs ${LATEST}`);
  expect(result.stderr).toContain('run `agentry migrate up` first');
}

function expectTooNew(result: CliResult): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain('error [schema_too_new]');
  expect(result.stderr).toContain(`database schema version 999 is newer than this build supports (${LATEST})`);
}

// Each test starts several processes one after the other: minutes on a busy machine.
describe('on SQLite', { timeout: 180_000 }, () => {
  it('shows status without creating the store, applies with up (and the old `migrate`), logging and timing each migration', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const file = join(dir, '.agentry', 'agentry.db');

    const before = await runCliInProcess(['migrate', 'status'], { env });
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`is at migration 0; this build needs ${LATEST}: ${MIGRATIONS.length} pending (apply with agentry migrate up)`);
    expect(before.stdout).toMatch(/^Pending\nVERSION {2}NAME\n1 +runs, steps, attempts, events, workers$/m);
    expect(existsSync(file)).toBe(false);
    const pending = json<Status>(await runCliInProcess(['migrate', 'status', '--json'], { env }));
    expect(pending).toMatchObject({ current: 0, latest: LATEST, state: 'pending', applied: [] });
    expect(pending.pending.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(existsSync(file)).toBe(false);

    const up = await runCli(['migrate', 'up', '--json'], { env: { ...env, USER: 'ops-alice' } });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ from: 0, current: LATEST, applied: MIGRATIONS.map((m) => m.version) });
    const logged = logLines(up.stderr, /^migration \d+ applied/);
    expect(logged.map((l) => [l.event, l.from, l.to])).toEqual(MIGRATIONS.map((m, i) => ['migration', i === 0 ? 0 : MIGRATIONS[i - 1]!.version, m.version]));
    for (const line of logged) expect(line.duration_ms).toEqual(expect.any(Number));

    // The old spelling is `up`.
    const again = await runCliInProcess(['migrate'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`is at migration ${LATEST} (latest): nothing to apply.`);

    const status = await runCliInProcess(['migrate', 'status', '--json'], { env });
    expect(status.code).toBe(0);
    const current = json<Status>(status);
    expect(current).toMatchObject({ current: LATEST, state: 'current', pending: [] });
    expect(current.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    for (const m of current.applied) {
      expect(Date.parse(m.applied_at), `migration ${m.version}`).toBeGreaterThan(Date.now() - 60_000);
      expect(m.duration_ms, `migration ${m.version}`).toEqual(expect.any(Number));
    }
    const text = await runCliInProcess(['migrate', 'status'], { env });
    expect(text.stdout).toContain(`is at migration ${LATEST}, the latest of this build: up to date.`);
    expect(text.stdout).toMatch(/^VERSION {2}NAME +APPLIED +DURATION$/m);
  });

  it('migrates when serve starts, unless AGENTRY_AUTO_MIGRATE=false: then it refuses, naming agentry migrate up, and creates nothing', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const file = join(dir, '.agentry', 'agentry.db');

    const result = await refused(['serve', '--no-auth', '--port', '0'], { ...env, AGENTRY_AUTO_MIGRATE: 'false' });
    expectPending(result, 0);
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get()).toEqual({ n: 0 });
    db.close();

    const serve = startCli(['serve', '--no-auth', '--port', '0'], { env: { ...env, AGENTRY_LOG_LEVEL: 'info' } });
    await waitForOutput(serve, (stderr) => stderr.includes('engine started'));
    expect(logLines(serve.stderr, /^migration \d+ applied/)).toHaveLength(MIGRATIONS.length);
    expect(logLines(serve.stderr, /^store .* at schema/)).toEqual([expect.objectContaining({ event: 'store.opened', schema_version: LATEST })]);
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
  });

  it('refuses a schema newer than the build in serve and every store command, naming both versions', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
    const db = new Database(join(dir, '.agentry', 'agentry.db'));
    db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 1)`).run();
    db.close();

    expectTooNew(await refused(['serve', '--no-auth', '--port', '0'], env));
    for (const args of [
      ['runs', 'list'],
      ['migrate', 'up'],
      ['workers', 'list'],
      ['maintenance', 'status'],
    ])
      expectTooNew(await runCliInProcess(args, { env }));
    const status = await runCliInProcess(['migrate', 'status', '--json'], { env });
    expect(status.code).toBe(1);
    expect(json<Status>(status)).toMatchObject({ current: 999, latest: LATEST, state: 'newer' });
    expect(status.stderr).toContain('error [schema_too_new]');
  });
});

describe.runIf(hasPostgres)('on PostgreSQL', { timeout: 180_000 }, () => {
  async function database(): Promise<string> {
    const db = await createTestDatabase('agentry_t_', { empty: true });
    cleanups.push(() => db.drop());
    return db.url;
  }

  it('refuses pending migrations in every role and store command; --migrate applies them at start', async () => {
    const url = await database();
    const dir = project();
    const env = { AGENTRY_DATABASE_URL: url, AGENTRY_PROJECT_DIR: dir };

    for (const args of [
      ['start', 'worker'],
      ['start', 'scheduler'],
      ['start', 'api', '--port', '0'],
      ['serve', '--port', '0', '--no-auth'],
    ])
      expectPending(await refused(args, env), 0);
    for (const args of [
      ['runs', 'list'],
      ['workers', 'list'],
    ]) {
      const result = await runCliInProcess(args, { env });
      expect(result.code).toBe(1);
      expectPending(result, 0);
    }
    // Nothing was created: the database is as empty as it was.
    expect(await query(url, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).toEqual([]);
    expect(json<Status>(await runCliInProcess(['migrate', 'status', '--json'], { env }))).toMatchObject({ current: 0, state: 'pending' });

    const worker = startCli(['start', 'worker', '--migrate'], { env: { ...env, AGENTRY_LOG_LEVEL: 'info' } });
    await waitForOutput(worker, (stderr) => stderr.includes('engine started'));
    const logged = logLines(worker.stderr, /^migration \d+ applied/);
    expect(logged.map((l) => l.to)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(logged[0]).toMatchObject({ event: 'migration', from: 0, to: 1 });
    worker.child.kill('SIGTERM');
    expect((await worker.done).code).toBe(0);

    const status = await runCliInProcess(['migrate', 'status', '--json'], { env });
    expect(status.code).toBe(0);
    expect(json<Status>(status).applied.every((m) => typeof m.duration_ms === 'number')).toBe(true);
    // Applied by the process as `system`; a second start finds nothing to do and starts without --migrate.
    const principals = await query<{ principal: string }>(url, `SELECT DISTINCT principal FROM audit_log WHERE action = 'store.migrate'`);
    expect(principals).toEqual([{ principal: 'system' }]);
    const again = startCli(['start', 'worker'], { env });
    await waitForOutput(again, (stderr) => stderr.includes('engine started'));
    again.child.kill('SIGTERM');
    expect((await again.done).code).toBe(0);
  });

  it('applies them with agentry migrate up; a newer schema is refused by each, naming both versions', async () => {
    const url = await database();
    const dir = project();
    const env = { AGENTRY_DATABASE_URL: url, AGENTRY_PROJECT_DIR: dir };
    const up = await runCli(['migrate', 'up'], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`applied migrations ${MIGRATIONS.map((m) => m.version).join(', ')} (from 0 to ${LATEST})`);

    await query(url, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 1)`);
    for (const args of [
      ['start', 'worker'],
      ['start', 'worker', '--migrate'],
      ['start', 'scheduler'],
      ['start', 'api', '--port', '0'],
    ])
      expectTooNew(await refused(args, env));
    for (const args of [
      ['runs', 'list'],
      ['migrate', 'up'],
      ['workers', 'list'],
    ])
      expectTooNew(await runCliInProcess(args, { env }));
    expect(json<Status>(await runCliInProcess(['migrate', 'status', '--json'], { env }))).toMatchObject({ current: 999, state: 'newer' });
  });
});
