/**
 * What the two ladders (`bench/api-ladder.ts`, `bench/gateway-ladder.ts`) share: a child process's
 * CPU time from /proc, waiting for it to go idle, the 1-minute load average, medians, and the
 * alternating order of rounds, and autocannon timed to its last answer. Bench code only; not run
 * on its own.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';

/** User + system CPU microseconds of `pid` so far (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits until the process has used less than 20 ms of CPU in 200 ms (at most 20 s). */
export async function idle(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const before = cpuUs(pid);
    await sleep(200);
    if (cpuUs(pid) - before < 20_000) return;
  }
}

/** The 1-minute load average, two decimals. */
export const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;

/** The rungs in order on even rounds, reversed on odd ones, so no rung always follows the same one. */
export function alternate<T>(items: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

/**
 * autocannon with a fixed `amount`, and the seconds from its start to the last answer: its own
 * result ends on a whole-second tick, so `amount` ÷ its duration would be rounded down.
 */
export function loadFor(options: autocannon.Options): Promise<{ result: autocannon.Result; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let last = started;
    const tracker = autocannon(options, (error, result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve({ result, seconds: (last - started) / 1000 }),
    );
    tracker.on('response', () => (last = performance.now()));
  });
}
