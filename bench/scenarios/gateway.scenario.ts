/**
 * Gateway overhead: the same chat-completion load sent straight to an upstream that answers
 * at once, and through Agentry's `POST /v1/chat/completions` (auth, budgets, the usage ledger
 * on SQLite, the official `openai` SDK as the upstream client), in one run. Reports the added
 * latency (p50/p99) and the requests/s ratio. BENCH_DURATION / BENCH_CONNECTIONS tune it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { Scenario } from '../run.js';
import { startTarget, stopTarget } from '../targets.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const BENCH_KEY = 'bench-key-0123456789abcdef';

const target = (args: string[]) => startTarget('bench/scenarios/gateway-target.ts', args, { BENCH_KEY });
const stop = stopTarget;

interface Case {
  target: 'direct' | 'agentry';
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  requests: number;
  errors: number;
  non_2xx: number;
}

async function load(which: Case['target'], url: string, model: string): Promise<Case> {
  const r = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 }),
    connections: CONNECTIONS,
    duration: DURATION,
  });
  const result: Case = {
    target: which,
    requests_per_s: Math.round(r.requests.average),
    latency_p50_ms: r.latency.p50,
    latency_p99_ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors,
    non_2xx: r.non2xx,
  };
  console.log(
    `  ${which.padEnd(8)} ${String(result.requests_per_s).padStart(7)} req/s  p50 ${result.latency_p50_ms} ms  p99 ${result.latency_p99_ms} ms  (errors ${result.errors}, non-2xx ${result.non_2xx})`,
  );
  return result;
}

export const scenario: Scenario = {
  name: 'gateway',
  description: `chat completions straight to an instant upstream vs through Agentry's /v1/chat/completions (${DURATION}s per case, ${CONNECTIONS} connections)`,
  async run() {
    const work = mkdtempSync(join(tmpdir(), 'agentry-bench-gw-'));
    const children: ChildProcess[] = [];
    try {
      const upstream = await target(['upstream']);
      children.push(upstream.child);
      const agentry = await target(['agentry', work, upstream.url]);
      children.push(agentry.child);
      const direct = await load('direct', upstream.url, 'bench-model');
      const through = await load('agentry', agentry.url, 'fast');
      return {
        duration_s_per_case: DURATION,
        connections: CONNECTIONS,
        cases: [direct, through],
        added_latency_ms: { p50: through.latency_p50_ms - direct.latency_p50_ms, p99: through.latency_p99_ms - direct.latency_p99_ms },
        agentry_to_direct_throughput: Math.round((through.requests_per_s / direct.requests_per_s) * 1000) / 1000,
      };
    } finally {
      for (const child of children) await stop(child);
      rmSync(work, { recursive: true, force: true });
    }
  },
};
