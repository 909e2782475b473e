/**
 * Two builds of Agentry's gateway side by side against one instant upstream: this checkout and
 * BENCH_BASELINE (another checkout, e.g. `git archive <commit> | tar -x -C /tmp/base` with a
 * `node_modules` link), each served by `bench/scenarios/gateway-target.ts agentry` in its own
 * process. Rounds alternate which goes first; each round sends `POST /v1/chat/completions` at 10
 * connections (autocannon) and then one at a time, and prints requests/s, the target's CPU time
 * per request (from /proc, the figure a shared machine skews least) and the one-connection
 * p50/p99. BENCH_ROUNDS (default 3), BENCH_DURATION (seconds per case, default 5) and
 * BENCH_WARMUP (seconds, default 4) tune it.
 *
 *   BENCH_BASELINE=/tmp/base npx tsx bench/gateway-ab.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';

const KEY = 'bench-key-0123456789abcdef';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 4);
const baseline = process.env.BENCH_BASELINE;
if (baseline === undefined) {
  console.error('set BENCH_BASELINE to the checkout to compare with');
  process.exit(2);
}
const checkouts: Record<string, string> = { baseline, this: join(import.meta.dirname, '..') };
const body = JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 });
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

interface Target {
  url: string;
  pid: number;
}

function start(cwd: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/scenarios/gateway-target.ts', ...args], {
    cwd,
    env: { ...process.env, BENCH_KEY: KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`gateway-target.ts ${args[0] ?? ''} in ${cwd} exited (${code})`)));
  });
}

/** CPU time of a process so far in ms (/proc/<pid>/stat utime + stime, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function tenConnections(target: Target, seconds: number) {
  const before = cpuMs(target.pid);
  const r = await autocannon({ url: `${target.url}/v1/chat/completions`, method: 'POST', headers, body, connections: 10, duration: seconds });
  const cpu = Math.round(((cpuMs(target.pid) - before) / r.requests.total) * 1000);
  return { requests_per_s: Math.round(r.requests.total / seconds), cpu_us_per_request: cpu, non_2xx: r.non2xx };
}

async function oneConnection(target: Target) {
  const pool = new Pool(target.url, { connections: 1, pipelining: 1 });
  const before = cpuMs(target.pid);
  const times: number[] = [];
  const until = performance.now() + DURATION * 1000;
  try {
    while (performance.now() < until) {
      const started = performance.now();
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      times.push(performance.now() - started);
    }
  } finally {
    await pool.close();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 1000) / 1000;
  return { p50_ms: at(0.5), p99_ms: at(0.99), cpu_us_per_request: Math.round(((cpuMs(target.pid) - before) / times.length) * 1000) };
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
try {
  const upstream = await start(checkouts.this!, ['upstream']);
  children.push(upstream.child);
  const targets: Record<string, Target> = {};
  for (const [name, dir] of Object.entries(checkouts)) {
    const work = mkdtempSync(join(tmpdir(), 'agentry-bench-gw-ab-'));
    dirs.push(work);
    const started = await start(dir, ['agentry', work, upstream.url]);
    children.push(started.child);
    targets[name] = { url: started.url, pid: started.child.pid! };
  }
  for (const target of Object.values(targets)) await tenConnections(target, WARMUP);
  const names = Object.keys(targets);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order)
      console.log(
        `round ${round} ${name.padEnd(8)} 10 connections`,
        JSON.stringify(await tenConnections(targets[name]!, DURATION)),
        `load ${loadavg()[0]!.toFixed(1)}`,
      );
    for (const name of order) console.log(`round ${round} ${name.padEnd(8)} 1 connection  `, JSON.stringify(await oneConnection(targets[name]!)));
  }
} finally {
  for (const child of children.reverse()) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
