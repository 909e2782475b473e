/**
 * The GET ladder: what each layer between bare Fastify and `agentry serve` costs a
 * `GET /v1/runs/{id}`. Four servers, each in its own process, answer the same run:
 *   bare    bare Fastify, the stored JSON from memory (api-target.ts `bare`)
 *   store   bare Fastify + the run read from Agentry's SQLite store (`runView` and the DTO mapping)
 *   signin  store + the request context (log context, X-Request-ID) and API-key sign-in
 *   signed  signin + the access line at info to /dev/null
 *   agentry `agentry serve` itself (api-target.ts `agentry`), whose store the others read
 * Each is loaded by the same autocannon client (10 connections, a fixed number of requests per
 * rung), the rungs' order alternating each round, after a warm-up round that is not counted.
 * The server's CPU per request comes from /proc/<pid>/stat (user + system), from idle to the end
 * of the load; the 1-minute load average is printed with every round.
 *
 *   npm run bench:api:ladder -- [rounds]      (default 3; BENCH_SCALE=0.5 halves the requests)
 *
 * On a shared machine read the ratios between rungs of the same run, not the absolute figures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { alternate, cpuUs, idle, load1, loadFor } from './ladder-common.js';
import { median } from './stats.js';
import { startTarget, stopTarget } from './targets.js';

const KEY = 'bench-key-0123456789abcdef';
const HEADERS = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const ROUNDS = Number(process.argv[2] ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);

interface Rung {
  name: string;
  what: string;
  /** Requests per round: a few seconds of load at each rung's pace. */
  requests: number;
  pid: number;
  url: string;
  cpuUs: number[];
  perSecond: number[];
}

const work = mkdtempSync(join(tmpdir(), 'fapi-api-ladder-'));
const children: Awaited<ReturnType<typeof startTarget>>['child'][] = [];
async function child(script: string, args: string[]): Promise<{ pid: number; url: string }> {
  const started = await startTarget(script, args, { BENCH_KEY: KEY, BENCH_CPU_PROF: '' });
  children.push(started.child);
  return { pid: started.child.pid!, url: started.url };
}

try {
  const agentry = await child('bench/scenarios/api-target.ts', ['agentry', join(work, 'serve')]);
  const body = JSON.stringify({ input: { name: 'Ada' } });
  const started = (await (await fetch(`${agentry.url}/v1/workflows/greet/runs?wait=10s`, { method: 'POST', headers: HEADERS, body })).json()) as {
    id: string;
    status: string;
  };
  const path = `/v1/runs/${started.id}`;
  const detail = (await (await fetch(`${agentry.url}${path}`, { headers: HEADERS })).json()) as Record<string, unknown>;
  writeFileSync(join(work, 'bodies.json'), JSON.stringify({ detail }));
  const db = join(work, 'serve', 'agentry.db');
  const rung = (name: string, what: string, requests: number, target: { pid: number; url: string }): Rung => ({
    name,
    what,
    requests: Math.round(requests * SCALE),
    ...target,
    cpuUs: [],
    perSecond: [],
  });
  const rungs: Rung[] = [
    rung('bare', 'bare Fastify, stored JSON', 120_000, await child('bench/api-ladder-target.ts', ['bare', join(work, 'bodies.json')])),
    rung('store', '+ runView and DTO mapping', 60_000, await child('bench/api-ladder-target.ts', ['store', db])),
    rung('signin', '+ log context and API-key sign-in', 50_000, await child('bench/api-ladder-target.ts', ['signin', db])),
    rung('signed', '+ the access line', 40_000, await child('bench/api-ladder-target.ts', ['signed', db])),
    rung('agentry', 'agentry serve', 25_000, agentry),
  ];
  // Every rung answers the same run (the same fields; times as the store gives them).
  for (const r of rungs) {
    const answer = (await (await fetch(`${r.url}${path}`, { headers: HEADERS })).json()) as Record<string, unknown>;
    const same = JSON.stringify(Object.keys(answer).sort()) === JSON.stringify(Object.keys(detail).sort()) && answer.status === detail.status;
    console.log(`${r.name.padEnd(8)} answers ${JSON.stringify(answer).length} bytes${same ? '' : ' — NOT the same fields as agentry serve'}`);
  }
  for (const r of rungs) await autocannon({ url: `${r.url}${path}`, headers: HEADERS, connections: 10, amount: Math.round(r.requests / 4) });
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of alternate(rungs, round)) {
      await idle(r.pid);
      const load = load1();
      const before = cpuUs(r.pid);
      const { result, seconds } = await loadFor({ url: `${r.url}${path}`, headers: HEADERS, connections: 10, amount: r.requests });
      const perRequest = (cpuUs(r.pid) - before) / result.requests.total;
      r.cpuUs.push(perRequest);
      r.perSecond.push(result.requests.total / seconds);
      console.log(
        `round ${round} ${r.name.padEnd(8)} ${Math.round(result.requests.total / seconds)} req/s, ${Math.round(perRequest)} µs CPU/request ` +
          `(${result.requests.total} requests, non-2xx ${result.non2xx}, errors ${result.errors}; load ${load} → ${load1()})`,
      );
    }
  }
  const bare = median(rungs[0]!.cpuUs);
  const bareRate = median(rungs[0]!.perSecond);
  console.log(`\nmedian of ${ROUNDS} rounds; the 0.3× target allows ${Math.round(bare / 0.3)} µs CPU/request (bare's ${Math.round(bare)} µs ÷ 0.3)`);
  console.log('| rung | what | µs CPU/request | step from the rung below | req/s | ÷ bare req/s |');
  console.log('|---|---|---:|---:|---:|---:|');
  let previous: number | undefined;
  for (const r of rungs) {
    const us = median(r.cpuUs);
    const rate = median(r.perSecond);
    const step = previous === undefined ? '' : `+${Math.round(us - previous)}`;
    console.log(
      `| ${r.name} | ${r.what} | ${Math.round(us)} (${r.cpuUs.map(Math.round).join(' / ')}) | ${step} | ${Math.round(rate)} | ${(rate / bareRate).toFixed(3)} |`,
    );
    previous = us;
  }
} finally {
  for (const c of children.reverse()) await stopTarget(c);
  rmSync(work, { recursive: true, force: true });
}
