/**
 * The gateway ladder: what each part between a bare proxy and Agentry's gateway costs a chat
 * completion, against the same instant upstream (gateway-target.ts `upstream`). Servers, each in
 * its own process:
 *   proxy      bare Fastify forwarding with undici and returning the upstream's body (no SDK)
 *   sdk        bare Fastify calling the upstream with the official `openai` client on the `fetch`
 *              Agentry gives it (`providers/http-fetch.ts`): the SDK's cost over `proxy`
 *   sdk-fetch  the same client on its default (Node's built-in) `fetch`
 *   sdk-signed sdk + the request context, API-key sign-in and the access line of `buildApp`:
 *              the HTTP floor and the SDK that the design requires
 *   agentry    Agentry's `POST /v1/chat/completions` (gateway-target.ts `agentry`: auth, the
 *              `openai-compatible` provider, the usage ledger on SQLite)
 *   portkey    the Portkey gateway, as `npm run bench -- gateway` runs it
 * Per round, the rungs' order alternating: at 10 connections a fixed number of requests with
 * autocannon, the server's CPU per request from /proc/<pid>/stat (user + system); then one
 * connection, one request at a time, each timed with `performance.now()`: p50 and p99, and what
 * each adds to the upstream's own (measured in the same round). A warm-up round is not counted.
 *
 *   npx tsx bench/gateway-ladder.ts [rounds]   (default 3; BENCH_SCALE=0.5 halves the requests)
 *
 * On a shared machine read the ratios between rungs of the same run, not the absolute figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { alternate, cpuUs, idle, load1, loadFor } from './ladder-common.js';
import { median } from './stats.js';
import { startPortkey } from './scenarios/gateway.scenario.js';
import { startTarget, stopTarget } from './targets.js';

const KEY = 'bench-key-0123456789abcdef';
const ROUNDS = Number(process.argv[2] ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const MANY = Math.round(8_000 * SCALE);
const ONE = Math.round(3_000 * SCALE);

interface Rung {
  name: string;
  what: string;
  pid: number | undefined;
  url: string;
  headers: Record<string, string>;
  model: string;
  cpuUs: number[];
  perSecond: number[];
  oneCpuUs: number[];
  p50: number[];
  p99: number[];
}

const body = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 });

/** One connection, one request at a time: each request's milliseconds. */
async function timedOneByOne(r: Rung, n: number): Promise<number[]> {
  const pool = new Pool(r.url, { connections: 1, pipelining: 1 });
  const headers = { ...r.headers, 'content-type': 'application/json' };
  const payload = body(r.model);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: payload });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${r.name} answered ${res.statusCode}`);
      times.push(performance.now() - started);
    }
  } finally {
    await pool.close();
  }
  return times.sort((a, b) => a - b);
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (v: number) => v.toFixed(3);

const work = mkdtempSync(join(tmpdir(), 'fapi-gw-ladder-'));
const children: Awaited<ReturnType<typeof startTarget>>['child'][] = [];
const rung = (
  name: string,
  what: string,
  started: { child: { pid?: number | undefined }; url: string },
  headers: Record<string, string> = {},
  model = 'bench-model',
): Rung => ({
  name,
  what,
  pid: started.child.pid,
  url: started.url,
  headers,
  model,
  cpuUs: [],
  perSecond: [],
  oneCpuUs: [],
  p50: [],
  p99: [],
});
async function child(script: string, args: string[]): Promise<Awaited<ReturnType<typeof startTarget>>> {
  const started = await startTarget(script, args, { BENCH_KEY: KEY });
  children.push(started.child);
  return started;
}

try {
  const upstream = await child('bench/scenarios/gateway-target.ts', ['upstream']);
  const direct = rung('direct', 'the upstream itself', { child: {}, url: upstream.url });
  const portkey = await startPortkey();
  children.push(portkey.child);
  const rungs: Rung[] = [
    rung('proxy', 'bare Fastify + undici, no SDK', await child('bench/gateway-ladder-target.ts', ['proxy', upstream.url])),
    rung('sdk', "+ the `openai` SDK on Agentry's fetch", await child('bench/gateway-ladder-target.ts', ['sdk', upstream.url])),
    rung('sdk-fetch', '+ the SDK on Node’s fetch', await child('bench/gateway-ladder-target.ts', ['sdk-fetch', upstream.url])),
    rung('sdk-signed', '+ sign-in and the access line', await child('bench/gateway-ladder-target.ts', ['sdk-signed', upstream.url]), {
      authorization: `Bearer ${KEY}`,
    }),
    rung(
      'agentry',
      "Agentry's gateway",
      await child('bench/scenarios/gateway-target.ts', ['agentry', join(work, 'agentry'), upstream.url]),
      { authorization: `Bearer ${KEY}` },
      'fast',
    ),
    rung('portkey', 'the Portkey gateway', portkey, {
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream.url}/v1`,
      authorization: 'Bearer x',
    }),
  ];
  const options = (r: Rung, amount: number): autocannon.Options => ({
    url: `${r.url}/v1/chat/completions`,
    method: 'POST',
    headers: { ...r.headers, 'content-type': 'application/json' },
    body: body(r.model),
    connections: 10,
    amount,
  });
  for (const r of [direct, ...rungs]) {
    await autocannon(options(r, Math.round(MANY / 4)));
    await timedOneByOne(r, Math.round(ONE / 4));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of alternate(rungs, round)) {
      await idle(r.pid!);
      const load = load1();
      const before = cpuUs(r.pid!);
      const { result, seconds } = await loadFor(options(r, MANY));
      const perRequest = (cpuUs(r.pid!) - before) / result.requests.total;
      r.cpuUs.push(perRequest);
      r.perSecond.push(result.requests.total / seconds);
      console.log(
        `round ${round} ${r.name.padEnd(9)} c=10 ${Math.round(result.requests.total / seconds)} req/s, ${Math.round(perRequest)} µs CPU/request ` +
          `(non-2xx ${result.non2xx}, errors ${result.errors}; load ${load} → ${load1()})`,
      );
    }
    for (const r of alternate([direct, ...rungs], round)) {
      if (r.pid !== undefined) await idle(r.pid);
      const before = r.pid === undefined ? 0 : cpuUs(r.pid);
      const times = await timedOneByOne(r, ONE);
      if (r.pid !== undefined) r.oneCpuUs.push((cpuUs(r.pid) - before) / ONE);
      r.p50.push(at(times, 0.5));
      r.p99.push(at(times, 0.99));
      console.log(`round ${round} ${r.name.padEnd(9)} c=1  p50 ${ms(at(times, 0.5))} ms, p99 ${ms(at(times, 0.99))} ms (load ${load1()})`);
    }
  }
  // Added latency: each round's figure minus the upstream's of the same round, then the median.
  const added = (r: Rung, which: 'p50' | 'p99') => median(r[which].map((v, i) => v - direct[which][i]!));
  const portkeyRate = median(rungs.find((r) => r.name === 'portkey')!.perSecond);
  console.log(`\nmedians of ${ROUNDS} rounds (upstream alone at 1 connection: p50 ${ms(median(direct.p50))} ms, p99 ${ms(median(direct.p99))} ms)`);
  console.log('| rung | what | µs CPU/request, 10 conn. | req/s, 10 conn. | ÷ Portkey req/s | µs CPU/request, 1 conn. | added p50 / p99, 1 conn. |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rungs) {
    const rate = median(r.perSecond);
    console.log(
      `| ${r.name} | ${r.what} | ${Math.round(median(r.cpuUs))} (${r.cpuUs.map(Math.round).join(' / ')}) | ${Math.round(rate)} | ${(rate / portkeyRate).toFixed(2)} | ` +
        `${Math.round(median(r.oneCpuUs))} | ${ms(added(r, 'p50'))} / ${ms(added(r, 'p99'))} ms |`,
    );
  }
} finally {
  for (const c of children.reverse()) await stopTarget(c);
  rmSync(work, { recursive: true, force: true });
}
