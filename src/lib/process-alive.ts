/**
 * Whether a process with this pid runs on this host. `process.kill(pid, 0)` sends nothing: it only
 * asks whether the process exists (EPERM: it does, as another user).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
