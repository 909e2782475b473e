/**
 * `agentry doctor`'s store checks on PostgreSQL (fresh databases on the test server): reachable
 * or not, migrations current or not applied, the server's clock, workers, managed key expiry,
 * backups recorded by a real `agentry backup` (with its retention warning, STO-14), and the disk
 * check, which cannot see a PostgreSQL server's disk.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, runDoctor, type DoctorCheck } from '../../src/app/doctor.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { runCliInProcess } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const { dir, remove } = tempDir('agentry-doctor-pg-');
mkdirSync(join(dir, 'workflows'));
writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: doc\negress:\n  allow: ["127.0.0.1"]\n  deny: []\n');
writeFileSync(join(dir, 'workflows', 'noop.yaml'), 'version: v1\nname: noop\nsteps:\n  a:\n    transform: 1\n');

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!hasPostgres)('agentry doctor on PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let empty: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    [db, empty] = await Promise.all([createTestDatabase(), createTestDatabase('agentry_t_', { empty: true })]);
  });
  afterAll(async () => {
    await Promise.all([db.drop(), empty.drop()]);
    remove();
  });

  async function check(id: string, env: Record<string, string> = {}, url = db.url): Promise<DoctorCheck> {
    const report = await runDoctor(
      { flags: { projectDir: dir }, env: { AGENTRY_DATABASE_URL: url, ...env }, cwd: dir },
      DOCTOR_CHECKS.filter((c) => c.id === id),
    );
    return report.checks[0]!;
  }

  async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const store = openStore(db.url);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  it('database: ok with its latency; a failure when the server does not answer', async () => {
    const ok = await check('database');
    expect(ok.status).toBe('ok');
    expect(ok.detail).toMatch(/^postgres:\/\/.*answers in [\d.]+ms/);
    const down = await check('database', {}, `postgres://postgres@127.0.0.1:${await closedPort()}/agentry`);
    expect(down.status).toBe('fail');
    expect(down.detail).toContain('does not answer');
    expect((await check('clock', {}, `postgres://postgres@127.0.0.1:${await closedPort()}/agentry`)).status).toBe('skip');
  });

  it('migrations: ok when current; a failure on a database never migrated (PostgreSQL does not auto-migrate)', async () => {
    expect((await check('migrations')).status).toBe('ok');
    const none = await check('migrations', {}, empty.url);
    expect(none.status).toBe('fail');
    expect(none.detail).toContain('schema at migration 0');
    expect(none.detail).toContain('processes refuse to start');
  });

  it("clock: ok against the server's clock_timestamp()", async () => {
    const clock = await check('clock');
    expect(clock.status).toBe('ok');
    expect(clock.detail).toMatch(/the database's clock is .* (ahead of|behind) this host's/);
  });

  it('workers: a failure with none; ok once one beats', async () => {
    expect((await check('workers')).status).toBe('fail');
    await withStore((store) =>
      store.upsertWorker({ id: 'wrk_pg', host: 'h2', pid: 2, roles: ['worker', 'scheduler'], concurrency: 8, startedAt: Date.now(), heartbeatAt: Date.now() }),
    );
    expect(await check('workers')).toMatchObject({ status: 'ok', detail: '1 live worker (wrk_pg on h2)' });
  });

  it('keys: ok; a managed key expiring within 14 days warns', async () => {
    expect((await check('keys')).status).toBe('ok');
    const issued = await runCliInProcess(['keys', 'create', '--name', 'nightly', '--role', 'service', '--expires', '7d', '--dir', dir], {
      env: { AGENTRY_DATABASE_URL: db.url },
    });
    expect(issued.code, issued.stderr).toBe(0);
    const soon = await check('keys');
    expect(soon.status).toBe('warn');
    expect(soon.detail).toContain('default/nightly');
  });

  it('backup: a warning with none (development); ok after `agentry backup`, whose next run warns when retention is shorter than its age', async () => {
    const none = await check('backup');
    expect(none.status).toBe('warn');
    expect(none.detail).toContain('no backup found');
    const env = { AGENTRY_DATABASE_URL: db.url, USER: 'ops-bob' };
    const first = await runCliInProcess(['backup', '--out', join(dir, 'pg-1.backup'), '--quiet', '--json', '--dir', dir], { env });
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { warnings: string[] }).warnings).toEqual([]);
    const ok = await check('backup');
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain('backup:pg-1.backup recorded in the store by ops-bob');

    // STO-14: the previous backup (pg-1) is older than a 1 ms window: the second one says so and still succeeds.
    const second = await runCliInProcess(['backup', '--out', join(dir, 'pg-2.backup'), '--quiet', '--json', '--dir', dir], {
      env: { ...env, AGENTRY_RETENTION_SUCCEEDED: '1ms' },
    });
    expect(second.code, second.stderr).toBe(0);
    const { warnings } = JSON.parse(second.stdout) as { warnings: string[] };
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the previous backup (backup:pg-1.backup');
    expect(warnings[0]).toContain('AGENTRY_RETENTION_SUCCEEDED = 1ms');
    expect(second.stderr).toContain('WARNING: the previous backup');
    const entries = await runCliInProcess(['audit', 'list', '--action', 'store.backup', '--json', '--dir', dir], { env });
    const items = (JSON.parse(entries.stdout) as { items: { target: string; principal: string; details: Record<string, unknown> }[] }).items;
    expect(items.map((e) => e.target)).toEqual(['backup:pg-2.backup', 'backup:pg-1.backup']);
    expect(items[0]).toMatchObject({ principal: 'ops-bob', details: { encrypted: false } });
    expect(items[0]!.details).toHaveProperty('rows');
    expect(items[0]!.details).toHaveProperty('bytes');
    expect(items[0]!.details).toHaveProperty('created_at');
  });

  it("disk: skipped without a backup directory (the server's disk is not visible from here); ok with one", async () => {
    const skipped = await check('disk');
    expect(skipped.status).toBe('skip');
    expect(skipped.detail).toContain('PostgreSQL server');
    const ok = await check('disk', { AGENTRY_BACKUP_DIR: dir });
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain(`backups ${dir}: `);
  });
});
