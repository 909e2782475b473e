/**
 * The backup drill on `agentry serve` (SQLite): 200 runs in flight — sleeping, queued, three
 * `call` steps held running under lease — while `agentry backup` runs as a child process and
 * more runs keep starting. The backup is a consistent snapshot holding every run committed
 * before it started; a restore over the live store is refused while the server holds it; the
 * backup restores into a fresh SQLite file and into PostgreSQL, and every run of it finishes
 * there, each unfinished step done exactly once and no finished one again.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { queryAt } from '../helpers/backup.js';
import {
  DRILL_WORKFLOW,
  expectConsistentSnapshot,
  expectFinishedExactlyOnce,
  runningCalls,
  startLedger,
  unfinishedCalls,
  type Ledger,
} from '../helpers/backup-drill.js';
import { killAll, runCli, runCliInProcess, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { clientEngine } from '../helpers/engine.js';
import { startRole, stopProcess, type RoleProcess } from '../helpers/pg-processes.js';
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

function serve(project: string, dbFile: string, ledgerUrl: string): CliProcess {
  return startCli(['serve', project, '--port', '0', '--no-auth'], {
    env: {
      AGENTRY_DATABASE_URL: `sqlite:${dbFile}`,
      AGENTRY_CONCURRENCY: '8',
      AGENTRY_POLL_INTERVAL: '100ms',
      // Long enough that a busy machine never lets a lease lapse by itself: the only lapses are the restore's.
      AGENTRY_LEASE_TTL: '10s',
      AGENTRY_LOG_LEVEL: 'warn',
      LEDGER_URL: ledgerUrl,
    },
  });
}

describe('backup drill on agentry serve (SQLite)', () => {
  it('backs up 200 runs in flight mid-load; restored into SQLite and PostgreSQL, every run finishes, none done twice', async () => {
    const { dir, remove } = tempDir('agentry-drill-sqlite-');
    cleanups.push(remove);
    const ledger: Ledger = await startLedger('live', HELD);
    cleanups.push(() => ledger.close());
    const project = join(dir, 'project');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: drill\n');
    writeFileSync(join(project, 'workflows', 'drill.yaml'), JSON.stringify(DRILL_WORKFLOW, null, 2));
    const liveDb = join(dir, 'live.db');
    const liveUrl = `sqlite:${liveDb}`;

    const live = serve(project, liveDb, `${ledger.server.url}/live`);
    await waitForOutput(live, (_stderr, stdout) => stdout.includes('listening on'));
    const store = openSqliteStore(liveDb);
    cleanups.push(() => store.close());
    const client = clientEngine(store, [DRILL_WORKFLOW]);
    const committedBefore: string[] = [];
    for (let n = 0; n < BEFORE; n++) committedBefore.push((await client.startRun('drill', { n })).id);
    // Three calls are held: their steps are running under the live server's leases.
    for (let i = 0; ledger.held.length < HELD; i++) {
      if (i > 400) throw new Error(`only ${ledger.held.length} calls arrived:\n${live.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const file = join(dir, 'drill.backup');
    const backup = startCli(['backup', '--out', file, '--json', '--quiet'], { env: { AGENTRY_DATABASE_URL: liveUrl } });
    // The load goes on while the backup runs.
    for (let n = BEFORE; n < RUNS; n++) await client.startRun('drill', { n });
    const backedUp = await backup.done;
    expect(backedUp.code, backedUp.stderr).toBe(0);
    const summary = JSON.parse(backedUp.stdout) as { tables: Record<string, number>; source: { dialect: string } };
    expect(summary.source.dialect).toBe('sqlite');
    expect(summary.tables.runs).toBeGreaterThanOrEqual(BEFORE);
    expect(summary.tables.runs).toBeLessThanOrEqual(RUNS);

    // Restoring over the store the server holds is refused (and changes nothing).
    const over = await runCliInProcess(['restore', file, '--to', liveUrl, '--force']);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/error \[store_in_use\]: store sqlite:.*live\.db is in use by another Agentry server process/);

    // The live server dies with its calls still held; the backup is all that is left of that moment.
    live.child.kill('SIGKILL');
    await live.done;
    ledger.release();

    const verified = await runCli(['backup', 'verify', file, '--quiet']);
    expect(verified.code, verified.stderr).toBe(0);

    const targets: Array<{ prefix: string; url: string }> = [{ prefix: 'sqlite', url: `sqlite:${join(dir, 'restored.db')}` }];
    if (hasPostgres) {
      const pg = await createTestDatabase('agentry_t_', { empty: true });
      cleanups.push(() => pg.drop());
      targets.push({ prefix: 'postgres', url: pg.url });
    }
    const pending = new Map<string, string[]>();
    for (const target of targets) {
      const restored = await runCliInProcess(['restore', file, '--to', target.url, '--json', '--quiet']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({ tables: { runs: summary.tables.runs, events: summary.tables.events }, skipped: { workers: 1 } });
      // The held calls' steps (at least) were running: their leases lapse at the restore.
      expect((JSON.parse(restored.stdout) as { running_steps: number }).running_steps).toBeGreaterThanOrEqual(HELD);
      await expectConsistentSnapshot(target.url, liveUrl, committedBefore, summary.tables);
      // The held calls were running in the backup; no worker row of the dead server came along.
      expect(await runningCalls(target.url)).toEqual(expect.arrayContaining(ledger.held));
      expect(await queryAt(target.url, 'SELECT count(*) AS n FROM workers')).toEqual([{ n: 0 }]);
      if (target.prefix === 'sqlite') expect(await queryAt(target.url, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      pending.set(target.prefix, await unfinishedCalls(target.url));
    }

    // A server on each restored store: every run finishes.
    const workers: Array<CliProcess | RoleProcess> = [];
    for (const target of targets) {
      if (target.prefix === 'sqlite') {
        const proc = serve(project, target.url.slice('sqlite:'.length), `${ledger.server.url}/${target.prefix}`);
        await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
        workers.push(proc);
      } else {
        const proc = startRole('worker', {
          url: target.url,
          projectDir: project,
          env: { LEDGER_URL: `${ledger.server.url}/${target.prefix}`, AGENTRY_LEASE_TTL: '10s' },
        });
        cleanups.push(() => stopProcess(proc));
        await proc.started;
        workers.push(proc);
      }
    }
    for (const target of targets) {
      await expectFinishedExactlyOnce(target.url, summary.tables.runs!, pending.get(target.prefix)!, () => ledger.callsOf(target.prefix), ledger.held);
      const audit = await runCliInProcess(['audit', 'verify'], { env: { AGENTRY_DATABASE_URL: target.url } });
      expect(audit.code, audit.stderr).toBe(0);
    }
  }, 120_000);
});
