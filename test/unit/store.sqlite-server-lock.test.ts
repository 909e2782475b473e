import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { processRunning } from '../../src/lib/process-alive.js';
import { acquireSqliteServerLock, lockPathOf, type LockEnvironment, type LockHolder } from '../../src/store/sqlite-server-lock.js';
import { checkSqliteFilesystem, judgeFilesystem } from '../../src/store/sqlite-filesystem.js';
import { tempDir } from '../helpers/store.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function dbIn(): string {
  const { dir, remove } = tempDir();
  removals.push(remove);
  return join(dir, 'agentry.db');
}

/** A process on host `a` whose view of which pids run is `alive`. */
function env(pid: number, alive: ReadonlySet<number>, now = Date.now()): LockEnvironment {
  return { pid, host: 'a', now: () => now, isAlive: (p) => alive.has(p) };
}

function plant(file: string, holder: Partial<LockHolder>, modifiedAt = Date.now()): void {
  writeFileSync(lockPathOf(file), JSON.stringify({ pid: 1, host: 'a', startedAt: Date.UTC(2025, 0, 2, 3, 4, 5), token: 't', ...holder }));
  utimesSync(lockPathOf(file), new Date(modifiedAt), new Date(modifiedAt));
}

function refusal(fn: () => unknown): AgentryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AgentryError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('the SQLite server lock', () => {
  it('refuses a second holder while the first runs, naming its pid, host and start time', () => {
    const file = dbIn();
    const first = acquireSqliteServerLock(file, env(100, new Set([100, 200]), Date.UTC(2025, 0, 2, 3, 4, 5)));
    const error = refusal(() => acquireSqliteServerLock(file, env(200, new Set([100, 200]))));
    expect(error.code).toBe('store_in_use');
    expect(error.message).toContain('pid 100 on host a, started at 2025-01-02T03:04:05.000Z');
    expect(error.message).toContain('use PostgreSQL');
    first.release();
    expect(existsSync(lockPathOf(file))).toBe(false);
    acquireSqliteServerLock(file, env(200, new Set([100, 200]))).release();
  });

  it('takes over a lock whose process is not running on this host, or carries this process’s own pid', () => {
    const file = dbIn();
    plant(file, { pid: 100 });
    const lock = acquireSqliteServerLock(file, env(200, new Set([200])));
    expect(JSON.parse(readFileSync(lockPathOf(file), 'utf8'))).toMatchObject({ pid: 200, host: 'a' });
    lock.release();
    plant(file, { pid: 200, token: 'old life' });
    acquireSqliteServerLock(file, env(200, new Set([200]))).release();
  });

  it('trusts a lock from another host while it is refreshed, and takes it over once it is not', () => {
    const file = dbIn();
    const now = Date.now();
    plant(file, { pid: 100, host: 'b' }, now - 30_000);
    expect(refusal(() => acquireSqliteServerLock(file, env(100, new Set(), now))).message).toContain('pid 100 on host b');
    plant(file, { pid: 100, host: 'b' }, now - 120_000);
    acquireSqliteServerLock(file, env(100, new Set(), now)).release();
  });

  it('judges a lock from another pid namespace on this host (a container before its restart) by its refreshes, not its pid', () => {
    const file = dbIn();
    const now = Date.now();
    // The dead holder's pid 7 is alive here: one of this process's threads answers kill(7, 0).
    const here = (at: number): LockEnvironment => ({ ...env(6, new Set([6, 7]), at), pidns: 'pid:[2]' });
    plant(file, { pid: 7, pidns: 'pid:[1]' }, now - 20_000);
    const error = refusal(() => acquireSqliteServerLock(file, here(now)));
    expect(error.code).toBe('store_in_use');
    expect(error.message).toContain(
      'pid 7 on host a (in another pid namespace: another container, or this one before it restarted; taken over once not refreshed for 30 s)',
    );
    plant(file, { pid: 7, pidns: 'pid:[1]' }, now - 40_000);
    acquireSqliteServerLock(file, here(now)).release();
    // A lock written before the namespace was recorded is judged the same way.
    plant(file, { pid: 7 }, now - 40_000);
    acquireSqliteServerLock(file, here(now)).release();
  });

  it('checks the pid of a holder in its own pid namespace, and records the namespace', () => {
    const file = dbIn();
    const here: LockEnvironment = { ...env(6, new Set([6, 7])), pidns: 'pid:[1]' };
    plant(file, { pid: 7, pidns: 'pid:[1]' }, Date.now() - 600_000);
    expect(refusal(() => acquireSqliteServerLock(file, here)).message).toContain('pid 7 on host a, started');
    plant(file, { pid: 8, pidns: 'pid:[1]' });
    const lock = acquireSqliteServerLock(file, here);
    expect(JSON.parse(readFileSync(lockPathOf(file), 'utf8'))).toMatchObject({ pid: 6, host: 'a', pidns: 'pid:[1]' });
    lock.release();
  });

  it('takes over a lock whose pid now belongs to a process started after it (the pid was reused)', () => {
    const file = dbIn();
    const lockedAt = Date.UTC(2025, 0, 2, 3, 4, 5);
    const here = (startOf7: number): LockEnvironment => ({ ...env(6, new Set([6, 7])), startedAtOf: (pid) => (pid === 7 ? startOf7 : undefined) });
    plant(file, { pid: 7, startedAt: lockedAt });
    expect(refusal(() => acquireSqliteServerLock(file, here(lockedAt - 60_000))).code).toBe('store_in_use');
    acquireSqliteServerLock(file, here(lockedAt + 60_000)).release();
  });

  it('takes over the lock of a killed server its parent has not reaped (a zombie, as under a container init that reaps nothing)', async () => {
    // The background job exits once its parent has exec'd into `sleep 30`, which never waits for it. (A job that
    // exited at once raced the shell, which may reap a finished job before it execs.)
    const job = 'until [ "$(cat /proc/$$/comm)" = sleep ]; do sleep 0.05; done';
    const parent = spawn('sh', ['-c', `(${job}) & echo $!; exec sleep 30`], { stdio: ['ignore', 'pipe', 'ignore'] });
    removals.push(() => parent.kill('SIGKILL'));
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (data: Buffer) => resolve(data.toString()))));
    await expect.poll(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]![0], { timeout: 10_000 }).toBe('Z');
    expect(processRunning(zombie)).toBe(false);

    const file = dbIn();
    plant(file, { pid: zombie, host: hostname(), pidns: readlinkSync('/proc/self/ns/pid'), startedAt: Date.now() });
    const lock = acquireSqliteServerLock(file);
    expect(JSON.parse(readFileSync(lockPathOf(file), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('leaves a lock another process took over in place when released', () => {
    const file = dbIn();
    const mine = acquireSqliteServerLock(file, env(100, new Set([100])));
    plant(file, { pid: 300, token: 'theirs' });
    mine.release();
    expect(JSON.parse(readFileSync(lockPathOf(file), 'utf8'))).toMatchObject({ pid: 300 });
  });
});

describe('the filesystem of an SQLite database', () => {
  it.each([
    [0x6969, 'NFS'],
    [0x517b, 'SMB'],
    [0xff534d42, 'CIFS'],
    [0xfe534d42, 'SMB2'],
    [0x01021997, '9p'],
  ])('refuses filesystem type %s (%s)', (type, filesystem) => {
    expect(judgeFilesystem(type)).toEqual({ action: 'refuse', filesystem });
  });

  it('warns about FUSE and accepts local filesystems (ext4, xfs, btrfs, tmpfs, overlay)', () => {
    expect(judgeFilesystem(0x65735546)).toEqual({ action: 'warn', filesystem: 'FUSE' });
    for (const local of [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630]) expect(judgeFilesystem(local)).toEqual({ action: 'ok' });
  });

  it('accepts a local temporary folder, a database not created yet, and any location off Linux', () => {
    const file = dbIn();
    expect(checkSqliteFilesystem(join(file, '..', 'not', 'yet', 'there.db'))).toBeUndefined();
    expect(checkSqliteFilesystem(file, 'darwin')).toBeUndefined();
    expect(checkSqliteFilesystem(':memory:')).toBeUndefined();
  });
});
