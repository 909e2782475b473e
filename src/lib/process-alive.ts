import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists on this host, exited or not. `process.kill(pid, 0)` sends
 * nothing: it only asks whether the process exists (EPERM: it does, as another user).
 */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process with this pid runs on this host. A zombie (an exited process its parent has
 * not reaped yet; an orphan waits for init, and a container's init may never do it) counts as gone:
 * it holds no files, locks or ports any more.
 */
export function processRunning(pid: number): boolean {
  if (!processExists(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // No /proc (not Linux): kill(pid, 0) is all there is.
  }
}

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on every Linux architecture Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Linux: a pid's start time from `/proc/<pid>/stat` (field 22, ticks after boot) and the boot time in `/proc/stat`. */
export function processStartedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return undefined;
    return bootSeconds * 1000 + (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
