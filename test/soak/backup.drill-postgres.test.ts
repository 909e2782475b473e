/**
 * The backup drill on PostgreSQL with split roles (two `agentry start worker --no-scheduler`
 * and one `agentry start scheduler`): 200 runs in flight, three `call` steps held running under
 * lease, `agentry backup` as a child process while runs keep starting. The backup is one
 * snapshot holding every run committed before it started; a restore into the live database is
 * refused while its workers beat; the backup restores into a fresh PostgreSQL database and into
 * an SQLite file, and every run of it finishes there, each unfinished step done exactly once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { queryAt } from '../helpers/backup.js';
import { DRILL_WORKFLOW, expectConsistentSnapshot, expectFinishedExactlyOnce, runningCalls, startLedger, unfinishedCalls } from '../helpers/backup-drill.js';
import { killAll, runCliInProcess, startCli } from '../helpers/cli.js';
import { clientEngine } from '../helpers/engine.js';
import { startRole, stopProcess, type Role, type RoleProcess } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const RUNS = 200;
const BEFORE = 150;
const HELD = 3;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

describe.runIf(hasPostgres)('backup drill on PostgreSQL with split roles', () => {
  it('backs up 200 runs in flight mid-load; restored into PostgreSQL and SQLite, every run finishes, none done twice', async () => {
    const { dir, remove } = tempDir('agentry-drill-pg-');
    cleanups.push(remove);
    const ledger = await startLedger('live', HELD);
    cleanups.push(() => ledger.close());
    const project = join(dir, 'project');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: drill\n');
    writeFileSync(join(project, 'workflows', 'drill.yaml'), JSON.stringify(DRILL_WORKFLOW, null, 2));
    const live = await createTestDatabase();
    cleanups.push(() => live.drop());

    const procs: RoleProcess[] = [];
    cleanups.push(() => Promise.all(procs.map((p) => stopProcess(p))).then(() => undefined));
    const start = (role: Role, url: string, prefix: string) => {
      // A lease TTL long enough that a busy machine never lets one lapse by itself: the only lapses are the restore's.
      const proc = startRole(role, { url, projectDir: project, env: { LEDGER_URL: `${ledger.server.url}/${prefix}`, AGENTRY_LEASE_TTL: '10s' } });
      procs.push(proc);
      return proc;
    };
    const liveRoles = [start('worker-only', live.url, 'live'), start('worker-only', live.url, 'live'), start('scheduler', live.url, 'live')];
    await Promise.all(liveRoles.map((p) => p.started));

    const store = openPostgresStore(live.url, { poolSize: 2 });
    cleanups.push(() => store.close());
    const client = clientEngine(store, [DRILL_WORKFLOW]);
    const committedBefore: string[] = [];
    for (let n = 0; n < BEFORE; n++) committedBefore.push((await client.startRun('drill', { n })).id);
    for (let i = 0; ledger.held.length < HELD; i++) {
      if (i > 400) throw new Error(`only ${ledger.held.length} calls arrived`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const file = join(dir, 'drill.backup');
    const backup = startCli(['backup', '--out', file, '--json', '--quiet'], { env: { AGENTRY_DATABASE_URL: live.url } });
    for (let n = BEFORE; n < RUNS; n++) await client.startRun('drill', { n });
    const backedUp = await backup.done;
    expect(backedUp.code, backedUp.stderr).toBe(0);
    const summary = JSON.parse(backedUp.stdout) as { tables: Record<string, number>; source: { dialect: string } };
    expect(summary.source.dialect).toBe('postgres');
    expect(summary.tables.runs).toBeGreaterThanOrEqual(BEFORE);
    expect(summary.tables.runs).toBeLessThanOrEqual(RUNS);
    expect(summary.tables.workers).toBe(3);

    // Restoring into the database its workers are using is refused, --force or not.
    const over = await runCliInProcess(['restore', file, '--to', live.url, '--force']);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/error \[store_in_use\]: .* is in use: 3 Agentry process\(es\) beat in the last minute/);

    // Every live process dies with the held calls unanswered.
    await Promise.all(liveRoles.map((p) => stopProcess(p)));
    ledger.release();
    await store.close();

    const verified = await runCliInProcess(['backup', 'verify', file, '--quiet']);
    expect(verified.code, verified.stderr).toBe(0);

    // A database already migrated (as `agentry migrate` leaves it) holds no data: it is empty enough.
    const fresh = await createTestDatabase();
    cleanups.push(() => fresh.drop());
    const targets = [
      { prefix: 'postgres', url: fresh.url },
      { prefix: 'sqlite', url: `sqlite:${join(dir, 'restored.db')}` },
    ];
    const pending = new Map<string, string[]>();
    for (const target of targets) {
      const restored = await runCliInProcess(['restore', file, '--to', target.url, '--json', '--quiet']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({
        tables: { runs: summary.tables.runs, events: summary.tables.events },
        skipped: { workers: 3 },
        // The migrated database's tables were dropped and made again at the backup's schema version.
        dropped_tables: target.prefix === 'postgres' ? expect.arrayContaining(['runs', 'schema_migrations']) : [],
      });
      // The held calls' steps (at least) were running: their leases lapse at the restore.
      expect((JSON.parse(restored.stdout) as { running_steps: number }).running_steps).toBeGreaterThanOrEqual(HELD);
      await expectConsistentSnapshot(target.url, live.url, committedBefore, summary.tables);
      expect(await runningCalls(target.url)).toEqual(expect.arrayContaining(ledger.held));
      expect(await queryAt(target.url, 'SELECT count(*) AS n FROM workers')).toEqual([{ n: 0 }]);
      pending.set(target.prefix, await unfinishedCalls(target.url));
    }

    await Promise.all(targets.map((target) => start('worker', target.url, target.prefix).started));
    for (const target of targets) {
      await expectFinishedExactlyOnce(target.url, summary.tables.runs!, pending.get(target.prefix)!, () => ledger.callsOf(target.prefix), ledger.held);
      const audit = await runCliInProcess(['audit', 'verify'], { env: { AGENTRY_DATABASE_URL: target.url } });
      expect(audit.code, audit.stderr).toBe(0);
    }
  }, 120_000);
});
