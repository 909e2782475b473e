/**
 * Gateway overhead, side by side in one run: the same chat-completion load sent straight to an
 * upstream that answers at once, through the Portkey gateway (the pinned devDependency
 * `@portkey-ai/gateway`, routed to the same upstream), and through Agentry's
 * `POST /v1/chat/completions` (auth, budgets, the usage ledger on SQLite). Two shapes per target:
 * throughput at BENCH_CONNECTIONS (default 10) connections with autocannon, and the latency one
 * connection sees (a closed loop timing every request with `performance.now()`, so sub-millisecond
 * differences show). The load average is recorded before and after every case.
 * BENCH_DURATION (seconds per case, default 5) and BENCH_CONNECTIONS tune it.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import type { Scenario } from '../run.js';
import { startTarget, stopTarget } from '../targets.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const BENCH_KEY = 'bench-key-0123456789abcdef';
const PORTKEY = 'node_modules/@portkey-ai/gateway/build/start-server.js';

type Which = 'direct' | 'portkey' | 'agentry';

interface Route {
  which: Which;
  /** The gateway's process (none for direct): its CPU time per request is the figure load skews least. */
  pid: number | undefined;
  url: string;
  headers: Record<string, string>;
  model: string;
}

interface Case {
  target: Which;
  connections: number;
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
  /** CPU time (user + system) the gateway process spent per request, in ms. */
  gateway_cpu_ms_per_request: number | null;
  load_before: number[];
  load_after: number[];
}

const body = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 });
const load1 = () => loadavg().map((l) => Math.round(l * 100) / 100);
const ms = (v: number) => Math.round(v * 1000) / 1000;

/** CPU time of a process so far in ms (Linux: /proc/<pid>/stat utime + stime, in clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

function cpuPerRequest(pid: number | undefined, before: number | undefined, requests: number): number | null {
  const after = cpuMs(pid);
  return before === undefined || after === undefined || requests === 0 ? null : Math.round(((after - before) / requests) * 1000) / 1000;
}

/** Throughput at CONNECTIONS connections (autocannon; its latencies have millisecond resolution). */
async function throughput(route: Route): Promise<Case> {
  const before = load1();
  const cpu = cpuMs(route.pid);
  const r = await autocannon({
    url: `${route.url}/v1/chat/completions`,
    method: 'POST',
    headers: { ...route.headers, 'content-type': 'application/json' },
    body: body(route.model),
    connections: CONNECTIONS,
    duration: DURATION,
  });
  return report({
    target: route.which,
    connections: CONNECTIONS,
    requests_per_s: Math.round(r.requests.total / DURATION),
    latency_p50_ms: r.latency.p50,
    latency_p99_ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors,
    non_2xx: r.non2xx,
    gateway_cpu_ms_per_request: cpuPerRequest(route.pid, cpu, r.requests.total),
    load_before: before,
    load_after: load1(),
  });
}

/** One connection, one request at a time, each timed to the microsecond. */
async function oneConnection(route: Route): Promise<Case> {
  const before = load1();
  const cpu = cpuMs(route.pid);
  const pool = new Pool(route.url, { connections: 1, pipelining: 1 });
  const payload = body(route.model);
  const headers = { ...route.headers, 'content-type': 'application/json' };
  const times: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const until = performance.now() + DURATION * 1000;
  try {
    while (performance.now() < until) {
      const started = performance.now();
      try {
        const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: payload });
        await res.body.text();
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
        times.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  } finally {
    await pool.close();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return report({
    target: route.which,
    connections: 1,
    requests_per_s: Math.round(times.length / DURATION),
    latency_p50_ms: ms(at(0.5)),
    latency_p99_ms: ms(at(0.99)),
    requests: times.length,
    errors,
    non_2xx: non2xx,
    gateway_cpu_ms_per_request: cpuPerRequest(route.pid, cpu, times.length),
    load_before: before,
    load_after: load1(),
  });
}

function report(c: Case): Case {
  console.log(
    `  ${c.target.padEnd(8)} c=${String(c.connections).padEnd(3)} ${String(c.requests_per_s).padStart(7)} req/s  p50 ${c.latency_p50_ms} ms  p99 ${c.latency_p99_ms} ms  cpu ${c.gateway_cpu_ms_per_request ?? '-'} ms/req (errors ${c.errors}, non-2xx ${c.non_2xx}; load ${c.load_before[0]} → ${c.load_after[0]})`,
  );
  return c;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The Portkey gateway (Hono on Node) on a free port, once it answers. */
export async function startPortkey(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [PORTKEY, `--port=${port}`], { cwd: join(import.meta.dirname, '..', '..'), stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the Portkey gateway exited (${child.exitCode})`);
    const up = await fetch(url).then(
      () => true,
      () => false,
    );
    if (up) return { child, url };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error('the Portkey gateway did not start in 30 s');
}

const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

export const scenario: Scenario = {
  name: 'gateway',
  description: `chat completions straight to an instant upstream, through the Portkey gateway and through Agentry's /v1/chat/completions (${DURATION}s per case; ${CONNECTIONS} connections, then 1)`,
  async run() {
    const work = mkdtempSync(join(tmpdir(), 'agentry-bench-gw-'));
    const children: ChildProcess[] = [];
    try {
      const upstream = await startTarget('bench/scenarios/gateway-target.ts', ['upstream'], { BENCH_KEY });
      children.push(upstream.child);
      const agentry = await startTarget('bench/scenarios/gateway-target.ts', ['agentry', work, upstream.url], { BENCH_KEY });
      children.push(agentry.child);
      const portkey = await startPortkey();
      children.push(portkey.child);
      const routes: Route[] = [
        { which: 'direct', pid: undefined, url: upstream.url, headers: {}, model: 'bench-model' },
        {
          which: 'portkey',
          pid: portkey.child.pid,
          url: portkey.url,
          headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream.url}/v1`, authorization: 'Bearer x' },
          model: 'bench-model',
        },
        { which: 'agentry', pid: agentry.child.pid, url: agentry.url, headers: { authorization: `Bearer ${BENCH_KEY}` }, model: 'fast' },
      ];
      // A short warm-up of each target (JIT, connection pools) that is not counted.
      for (const route of routes) await autocannon({ ...warmup(route), duration: 1 });
      console.log(`  ${CONNECTIONS} connections:`);
      const many: Case[] = [];
      for (const route of routes) many.push(await throughput(route));
      console.log('  1 connection:');
      const one: Case[] = [];
      for (const route of routes) one.push(await oneConnection(route));
      const [d, p, a] = many as [Case, Case, Case];
      const [d1, p1, a1] = one as [Case, Case, Case];
      const summary = {
        agentry_to_portkey_throughput: ratio(a.requests_per_s, p.requests_per_s),
        portkey_to_agentry_cpu_per_request:
          a.gateway_cpu_ms_per_request && p.gateway_cpu_ms_per_request ? ratio(p.gateway_cpu_ms_per_request, a.gateway_cpu_ms_per_request) : null,
        agentry_to_direct_throughput: ratio(a.requests_per_s, d.requests_per_s),
        added_latency_1_connection_ms: {
          agentry: { p50: ms(a1.latency_p50_ms - d1.latency_p50_ms), p99: ms(a1.latency_p99_ms - d1.latency_p99_ms) },
          portkey: { p50: ms(p1.latency_p50_ms - d1.latency_p50_ms), p99: ms(p1.latency_p99_ms - d1.latency_p99_ms) },
        },
      };
      console.log(`  ${JSON.stringify(summary)}`);
      return { duration_s_per_case: DURATION, connections: CONNECTIONS, cases: [...many, ...one], ...summary };
    } finally {
      for (const child of children.reverse()) await stopTarget(child);
      rmSync(work, { recursive: true, force: true });
    }
  },
};

function warmup(route: Route): autocannon.Options {
  return {
    url: `${route.url}/v1/chat/completions`,
    method: 'POST',
    headers: { ...route.headers, 'content-type': 'application/json' },
    body: body(route.model),
    connections: CONNECTIONS,
  };
}
