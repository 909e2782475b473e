/**
 * API overhead: start-run and get-run requests/s and latency (p50/p99) with autocannon against
 * `agentry serve` (SQLite, auth on, request logging on, engine executing the started runs) and
 * against a bare Fastify route answering the same JSON, in the same run, each in its own process.
 * BENCH_DURATION (seconds per case, default 10) and BENCH_CONNECTIONS (default 10) tune it;
 * BENCH_CPU_PROF=<dir> has the agentry target write a CPU profile there (`api-target.ts`).
 * Each case records the 1-minute load average before and after it: on a shared machine a
 * ratio is only worth as much as the load was steady across the two cases it compares.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { Scenario } from '../run.js';
import { startTarget, stopTarget } from '../targets.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const BENCH_KEY = 'bench-key-0123456789abcdef';

const target = (args: string[]) => startTarget('bench/scenarios/api-target.ts', args, { BENCH_KEY });
const stop = stopTarget;

interface Case {
  name: string;
  target: 'agentry' | 'bare';
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
  /** The 1-minute load average when the case started and when it ended. */
  load_before: number;
  load_after: number;
  /**
   * CPU time the target process spent (user + system) per request, in microseconds (Linux only):
   * what a request costs the server whatever else the machine runs, steadier than requests/s
   * on a shared machine. For agentry it includes the engine executing the runs it was given.
   */
  cpu_us_per_request?: number;
}

const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;

/** CPU seconds (user + system) process `pid` has used so far, from /proc; undefined where there is none. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is 14th, stime 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: the unit of /proc's CPU times, 100 on Linux everywhere it runs. */
const CLOCK_TICKS = 100;

async function load(name: string, which: Case['target'], pid: number | undefined, options: autocannon.Options): Promise<Case> {
  const loadBefore = load1();
  const cpuBefore = cpuSeconds(pid);
  const r = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  const cpuAfter = cpuSeconds(pid);
  const result: Case = {
    name,
    target: which,
    requests_per_s: Math.round(r.requests.average),
    latency_p50_ms: r.latency.p50,
    latency_p99_ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors,
    non_2xx: r.non2xx,
    load_before: loadBefore,
    load_after: load1(),
    ...(cpuBefore === undefined || cpuAfter === undefined || r.requests.total === 0
      ? {}
      : { cpu_us_per_request: Math.round(((cpuAfter - cpuBefore) * 1e6) / r.requests.total) }),
  };
  console.log(
    `  ${name.padEnd(10)} ${which.padEnd(8)} ${String(result.requests_per_s).padStart(7)} req/s  p50 ${result.latency_p50_ms} ms  p99 ${result.latency_p99_ms} ms  cpu ${result.cpu_us_per_request ?? '?'} µs/req  (errors ${result.errors}, non-2xx ${result.non_2xx}; load ${result.load_before} → ${result.load_after})`,
  );
  return result;
}

export const scenario: Scenario = {
  name: 'api',
  description: `start-run and get-run through agentry serve vs a bare Fastify route (${DURATION}s per case, ${CONNECTIONS} connections)`,
  async run() {
    const work = mkdtempSync(join(tmpdir(), 'agentry-bench-'));
    const children: ChildProcess[] = [];
    try {
      const agentry = await target(['agentry', work]);
      children.push(agentry.child);
      const headers = { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' };
      const body = JSON.stringify({ input: { name: 'Ada' } });
      const started = (await (await fetch(`${agentry.url}/v1/workflows/greet/runs?wait=10s`, { method: 'POST', headers, body })).json()) as { id: string };
      const detail = await (await fetch(`${agentry.url}/v1/runs/${started.id}`, { headers })).json();
      const bodiesFile = join(work, 'bodies.json');
      writeFileSync(bodiesFile, JSON.stringify({ started, detail }));
      const bare = await target(['bare', bodiesFile]);
      children.push(bare.child);

      const startRun = { method: 'POST' as const, headers, body };
      // get-run first: the start-run case leaves the engine busy executing the runs it created.
      const [a, b] = [agentry.child.pid, bare.child.pid];
      const cases = [
        await load('get-run', 'bare', b, { url: `${bare.url}/v1/runs/${started.id}`, headers }),
        await load('get-run', 'agentry', a, { url: `${agentry.url}/v1/runs/${started.id}`, headers }),
        await load('start-run', 'bare', b, { url: `${bare.url}/v1/workflows/greet/runs`, ...startRun }),
        await load('start-run', 'agentry', a, { url: `${agentry.url}/v1/workflows/greet/runs`, ...startRun }),
      ];
      const pair = (name: string) => [
        cases.find((c) => c.name === name && c.target === 'agentry')!,
        cases.find((c) => c.name === name && c.target === 'bare')!,
      ];
      const ratio = (name: string) => {
        const [x, y] = pair(name);
        return Math.round((x!.requests_per_s / y!.requests_per_s) * 1000) / 1000;
      };
      /** Bare's CPU per request over agentry's: the throughput ratio if both were CPU-bound on a quiet machine. */
      const cpuRatio = (name: string) => {
        const [x, y] = pair(name);
        return x?.cpu_us_per_request && y?.cpu_us_per_request ? Math.round((y.cpu_us_per_request / x.cpu_us_per_request) * 1000) / 1000 : null;
      };
      return {
        duration_s_per_case: DURATION,
        connections: CONNECTIONS,
        cases,
        agentry_to_bare_throughput: { 'start-run': ratio('start-run'), 'get-run': ratio('get-run') },
        bare_to_agentry_cpu_per_request: { 'start-run': cpuRatio('start-run'), 'get-run': cpuRatio('get-run') },
      };
    } finally {
      for (const child of children) await stop(child);
      rmSync(work, { recursive: true, force: true });
    }
  },
};
