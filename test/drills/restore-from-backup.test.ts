/**
 * Drill of docs/operations/runbooks/restore-from-backup.md: an SQLite store with runs and two
 * backups taken by `agentry backup`; the newest backup is then damaged and the store's
 * file lost. The page's commands, read from the page, run in order: the listing and `backup
 * verify` name the damaged backup (exit 1), the one before verifies and proves itself with
 * `--restore --expect-run`, `restore` loads it into the lost store's place, the service starts on
 * it, and the page's checks hold — the audit chain whole, the known run there, `/readyz` 200,
 * `agentry smoke` passing.
 */
import { existsSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { flipByte } from '../helpers/backup.js';
import { killAll, runCliInProcess } from '../helpers/cli.js';
import { engineOn } from '../helpers/engine.js';
import { writeProject } from '../helpers/pg-processes.js';
import { drillService, pageCommand, pageCommands, type PageRunOptions, runPageCommand } from '../helpers/runbook.js';
import { tempDir } from '../helpers/store.js';

const PAGE = 'restore-from-backup';
const WORKFLOW = { name: 'hello', steps: { greet: { transform: { text: 'hello {{ input.n }}' } } } };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** The page's `backup verify` without, and with, `--restore`. */
const verifyOnly = (): string => only(pageCommands(PAGE, 'Diagnose').filter((c) => c.startsWith('agentry backup verify') && !c.includes('--restore')));
const byRestore = (): string => only(pageCommands(PAGE, 'Diagnose').filter((c) => c.startsWith('agentry backup verify') && c.includes('--restore')));
function only(commands: string[]): string {
  expect(commands).toHaveLength(1);
  return commands[0]!;
}

describe('runbook drill: restore from backup', () => {
  it('skips the damaged newest backup, restores the one before into the lost store, and the service comes back with its runs', async () => {
    const { dir, remove } = tempDir('agentry-drill-restore-');
    cleanups.push(remove);
    const project = writeProject(dir, [WORKFLOW]);
    const dbFile = join(dir, 'data', 'agentry.db');
    const backups = join(dir, 'backups');
    mkdirSync(backups, { recursive: true });
    const env = { AGENTRY_DATABASE_URL: `sqlite:${dbFile}` };

    // Before the incident: the service's runs, and a backup after each.
    mkdirSync(dirname(dbFile), { recursive: true });
    const store = openSqliteStore(dbFile);
    await store.migrate();
    const engine = await engineOn(store, [WORKFLOW]);
    const finish = async (n: number) => engine.waitForRun((await engine.startRun('hello', { n })).id, { timeoutMs: 20_000 });
    const known = await finish(1);
    expect(known.status).toBe('succeeded');
    const older = join(backups, 'agentry-1.backup');
    const newer = join(backups, 'agentry-2.backup');
    expect((await runCliInProcess(['backup', '--out', older, '--quiet'], { env })).code).toBe(0);
    await finish(2);
    expect((await runCliInProcess(['backup', '--out', newer, '--quiet'], { env })).code).toBe(0);
    utimesSync(older, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await engine.stop();
    await store.close();

    // The incident: the newest backup is damaged, and the store's file is lost with the host's disk.
    flipByte(newer, 600, newer);
    for (const suffix of ['', '-wal', '-shm', '.lock']) rmSync(`${dbFile}${suffix}`, { force: true });
    // The page's `systemctl stop|start` stop and start the drill's `serve`.
    const service = drillService(project, env, ['--no-auth']);
    const runner: PageRunOptions = { env, cwd: dir, service };

    // Diagnose: the listing puts the damaged backup first; verify names what is wrong with it.
    const newest = { 'backup-dir': backups, 'backup-file': newer, 'run-id': known.id };
    const ls = await runPageCommand(pageCommand(PAGE, 'ls', 'Diagnose'), newest, runner);
    expect(ls.stdout.trim().split('\n')).toEqual(['agentry-2.backup', 'agentry-1.backup']);
    const verifyNewest = await runPageCommand(verifyOnly(), newest, runner);
    expect(verifyNewest.code).toBe(1);
    expect(verifyNewest.stderr).toMatch(/error \[backup_invalid\]: /);
    const proveNewest = await runPageCommand(byRestore(), newest, runner);
    expect(proveNewest.code).toBe(1);
    expect(proveNewest.stderr).toMatch(/error \[backup_invalid\]: /);

    // The one before it verifies, and proves itself by a scratch restore holding the known run.
    const before = { 'backup-dir': backups, 'backup-file': older, 'run-id': known.id };
    const verify = await runPageCommand(verifyOnly(), before, runner);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK: .*agentry-1\.backup is a whole backup/m);
    const prove = await runPageCommand(byRestore(), before, runner);
    expect(prove.code, prove.stdout + prove.stderr).toBe(0);
    expect(prove.stdout).toMatch(/^ok {3}audit: hash chain whole/m);
    expect(prove.stdout).toMatch(new RegExp(`^ok {3}run ${known.id}: present$`, 'm'));
    expect(prove.stdout).toMatch(/^ok {3}runs: 1 run \(succeeded 1\)$/m);
    expect(prove.stdout).toMatch(/^OK: the backup restores/m);

    // Fix: restore into the lost store's place and start the service.
    for (const command of pageCommands(PAGE, 'Fix')) {
      const result = await runPageCommand(command, { 'backup-file': older, 'database-url': `sqlite:${dbFile}` }, runner);
      expect(result.code, `${command}\n${result.stderr}`).toBe(0);
    }
    expect(existsSync(dbFile)).toBe(true);
    const url = service.server?.url;
    expect(url, 'the page started the service').toBeDefined();

    // Verify: the page's checks.
    const checks = { 'run-id': known.id, 'api-url': url! };
    const audit = await runPageCommand(pageCommand(PAGE, 'agentry audit verify', 'Verify'), checks, runner);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    const run = await runPageCommand(pageCommand(PAGE, 'agentry runs get', 'Verify'), checks, runner);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(known.id);
    expect(run.stdout).toMatch(/succeeded/);
    const ready = await runPageCommand(pageCommand(PAGE, 'curl', 'Verify'), checks, runner);
    expect(ready.code, ready.stderr).toBe(0);
    expect(JSON.parse(ready.stdout)).toMatchObject({ status: 'ready' });
    const smoke = await runPageCommand(pageCommand(PAGE, 'agentry smoke', 'Verify'), checks, runner);
    expect(smoke.code, smoke.stdout + smoke.stderr).toBe(0);
    expect(smoke.stdout).toMatch(/^OK: \d+ passed/m);
  }, 120_000);
});
