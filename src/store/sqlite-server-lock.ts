/**
 * One server process per SQLite file. Several processes on one host may share the file (WAL and
 * the busy timeout make that safe: the CLI's commands and `agentry run --wait` beside a worker),
 * but two *server* processes (`agentry serve`, `agentry start …`) would compete for the single
 * write lock until one fails with "database is locked". So a server process holds `<db>.lock`,
 * a small JSON file naming it, and a second one is refused at startup with the holder's pid,
 * host and start time:
 *
 *   const lock = acquireSqliteServerLock(file);   // throws `store_in_use`
 *   …
 *   lock.release();
 *
 * A lock left by a process that died (`kill -9`, a crash) does not block: on the same host and
 * in the same pid namespace the holder's pid is checked with `process.kill(pid, 0)` (and, on
 * Linux, that the process with that pid started before the lock: pids are reused); a lock
 * written elsewhere cannot be checked that way, so the holder touches the file every
 * `HEARTBEAT_MS` and a lock untouched for long enough is taken over: `FOREIGN_STALE_MS` when it
 * came from another host (a container with its own hostname on the same volume; clocks may
 * differ), `OTHER_NAMESPACE_STALE_MS` when it came from this host but another pid namespace (a
 * container before it restarted, or one sharing the host's name with `--network host`): there
 * its pid means nothing here, and may even be one of this process's threads, which
 * `process.kill(tid, 0)` finds alive.
 */
import { linkSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { AgentryError } from '../lib/errors.js';
import { processRunning, processStartedAt } from '../lib/process-alive.js';

/** How often the holder refreshes the lock file's modification time. */
const HEARTBEAT_MS = 10_000;
/** A lock from another host whose file has not been touched for this long belongs to a dead process. */
const FOREIGN_STALE_MS = 6 * HEARTBEAT_MS;
/** The same for another pid namespace on this host: one clock, so a shorter margin will do. */
const OTHER_NAMESPACE_STALE_MS = 3 * HEARTBEAT_MS;

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Tells this acquisition apart from a later one by the same pid (released only by its owner). */
  token: string;
  /** The pid namespace `pid` belongs to (Linux: the link `/proc/self/ns/pid`, e.g. `pid:[4026531836]`); absent where unknown. */
  pidns?: string;
}

export interface SqliteServerLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. Safe to call twice. */
  release(): void;
}

export interface LockEnvironment {
  pid: number;
  host: string;
  /** This process's pid namespace, where known (`LockHolder.pidns`). */
  pidns?: string;
  now: () => number;
  /** True while a process with this pid runs on this host. */
  isAlive: (pid: number) => boolean;
  /** When the process (or thread) with this pid started, epoch milliseconds; undefined where unknown. */
  startedAtOf?: (pid: number) => number | undefined;
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined; // not Linux, or no /proc
  }
}

const defaultEnvironment = (): LockEnvironment => ({
  pid: process.pid,
  host: hostname(),
  pidns: pidNamespace(),
  now: Date.now,
  isAlive: processRunning,
  startedAtOf: processStartedAt,
});

/** The boot time is known to the second: a process started within this of the lock may still be its holder. */
const START_TOLERANCE_MS = 2000;

/** The lock file of a database file. */
export function lockPathOf(file: string): string {
  return `${file}.lock`;
}

/**
 * Why a lock no longer holds, or undefined while its holder may still run. A lock with this
 * process's own pid is a leftover (a pid reused after a restart, e.g. pid 1 in a container) or
 * another store opened in this same process, which shares its single connection's fate anyway.
 */
function staleReason(holder: LockHolder, modifiedAt: number, env: LockEnvironment): string | undefined {
  if (holder.host === env.host && holder.pidns === env.pidns) {
    if (holder.pid === env.pid) return 'its pid is this process';
    if (!env.isAlive(holder.pid)) return `process ${holder.pid} is not running`;
    // The pid was given again since (after a restart in a namespace whose number was reused, a thread of this process).
    const startedAt = env.startedAtOf?.(holder.pid);
    return startedAt !== undefined && startedAt > holder.startedAt + START_TOLERANCE_MS
      ? `pid ${holder.pid} now belongs to a process started after the lock`
      : undefined;
  }
  const silentMs = env.now() - modifiedAt;
  const staleAfterMs = holder.host === env.host ? OTHER_NAMESPACE_STALE_MS : FOREIGN_STALE_MS;
  return silentMs > staleAfterMs ? `not refreshed for ${Math.round(silentMs / 1000)} s` : undefined;
}

function readHolder(path: string): { holder: LockHolder | undefined; modifiedAt: number } | undefined {
  let text: string;
  let modifiedAt: number;
  try {
    modifiedAt = statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    const complete =
      typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.startedAt === 'number' && typeof parsed.token === 'string';
    return { holder: complete ? (parsed as LockHolder) : undefined, modifiedAt };
  } catch {
    // Torn or foreign content: nobody can be named, so it blocks nobody.
    return { holder: undefined, modifiedAt };
  }
}

/** Creates the lock file only if none exists: written beside it, then hard-linked into place (atomic, fails with EEXIST). */
function tryCreate(path: string, holder: LockHolder): boolean {
  const temporary = `${path}.${holder.pid}.${holder.token}`;
  writeFileSync(temporary, `${JSON.stringify(holder)}\n`);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function inUseMessage(file: string, holder: LockHolder, env: LockEnvironment): string {
  const where =
    holder.host === env.host && holder.pidns !== env.pidns
      ? ` (in another pid namespace: another container, or this one before it restarted; taken over once not refreshed for ${OTHER_NAMESPACE_STALE_MS / 1000} s)`
      : '';
  return (
    `store sqlite:${file} is in use by another Agentry server process: pid ${holder.pid} on host ${holder.host}${where}, ` +
    `started at ${new Date(holder.startedAt).toISOString()}. SQLite supports one server process per database file; ` +
    `stop that one first, or use PostgreSQL (AGENTRY_DATABASE_URL=postgres://…) to run more than one (docs/operations/scaling.md)`
  );
}

/**
 * Takes the server lock of the SQLite database `file`, or throws `store_in_use` naming the
 * process that holds it. A stale lock (see `staleReason`) is removed and taken over.
 */
export function acquireSqliteServerLock(file: string, env: LockEnvironment = defaultEnvironment()): SqliteServerLock {
  const path = lockPathOf(file);
  // The database's folder, created as `openSqliteStore` creates it (the service user's alone).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const mine: LockHolder = {
    pid: env.pid,
    host: env.host,
    startedAt: env.now(),
    token: Math.random().toString(36).slice(2, 10),
    ...(env.pidns === undefined ? {} : { pidns: env.pidns }),
  };
  try {
    for (let attempt = 0; ; attempt++) {
      if (tryCreate(path, mine)) break;
      const found = readHolder(path);
      if (found === undefined) continue; // released between the two calls: try again
      const stale = found.holder === undefined ? 'unreadable' : staleReason(found.holder, found.modifiedAt, env);
      if (stale === undefined && found.holder) {
        throw new AgentryError('store_in_use', inUseMessage(file, found.holder, env), { details: { lock: path, holder: found.holder } });
      }
      if (attempt >= 3) throw new AgentryError('store_in_use', `cannot take over the stale lock ${path}; remove it if no Agentry server uses ${file}`);
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(`${path}.${mine.pid}.${mine.token}`, { force: true });
  }
  const heartbeat = setInterval(() => {
    try {
      const now = new Date(env.now());
      utimesSync(path, now, now);
    } catch {
      // Removed under us (by hand): nothing to refresh; the next server start will create it again.
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (readHolder(path)?.holder?.token !== mine.token) return;
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
