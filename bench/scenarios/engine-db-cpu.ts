/**
 * CPU time PostgreSQL spends on one database: the user + system time of the server processes
 * (backends) connected to it, read from `/proc/<pid>/stat` — the test server runs on this
 * machine. Unlike steps/s it hardly moves with the machine's load, so it shows what a case costs
 * the database (the waiting runs' case against the one without them).
 *
 *   const before = await sampleBackends(rows);   // rows: runs a query on a connection to the database
 *   …
 *   const ms = backendCpuMs(before, await sampleBackends(rows));   // null where /proc is not the server's
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU ms of each backend of the database, by pid. */
export type BackendCpu = Map<number, number>;

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 10;
  }
})();

function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** The backends connected to the database `rows` queries, with their CPU so far; null when /proc does not show them. */
export async function sampleBackends(rows: (text: string) => Promise<unknown[][]>): Promise<BackendCpu | null> {
  const pids = (await rows(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)).map((r) => Number(r[0]));
  const sample: BackendCpu = new Map();
  for (const pid of pids) {
    const ms = cpuMsOf(pid);
    if (ms !== undefined) sample.set(pid, ms);
  }
  return sample.size > 0 ? sample : null;
}

/**
 * CPU ms the backends spent between two samples: a backend that connected in between counts
 * from its start. One that disconnected in between is lost (the workers' pools keep theirs).
 */
export function backendCpuMs(before: BackendCpu | null, after: BackendCpu | null): number | null {
  if (!before || !after) return null;
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}
