/**
 * The CPU one gateway call costs in-process, without the HTTP server and the ledger:
 * `Gateway.chat` (the `openai-compatible` provider through the `openai` SDK) against the gateway
 * scenario's instant upstream in another process, beside a bare undici request with `JSON.parse`
 * to the same upstream (the transport's floor) and the `openai` SDK's own call on the `fetch`
 * Agentry gives it (`sdk`: what `Gateway.chat` adds over it is the gateway's own code). Prints
 * CPU µs per call (`process.cpuUsage()`) at 10 calls in flight and at one at a time, for
 * BENCH_ROUNDS rounds (default 3) after a warm-up.
 *
 *   npx tsx bench/gateway-call.ts [gateway|raw|sdk]
 *
 * To compare two commits, run it in both checkouts one after the other, alternating.
 */
import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import pino from 'pino';
import { Pool } from 'undici';
import { Gateway } from '../src/gateway/gateway.js';
import { providerFetch } from '../src/gateway/providers/http-fetch.js';
import type { UsageLedger } from '../src/gateway/ledger.js';
import type { GatewaySpec } from '../src/spec/schemas.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const only = process.argv[2];

const child = spawn(process.execPath, ['--import', 'tsx', 'bench/scenarios/gateway-target.ts', 'upstream'], {
  cwd: `${import.meta.dirname}/..`,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve) => child.stdout.once('data', (line) => resolve((JSON.parse(String(line)) as { url: string }).url)));

const ledger: UsageLedger = {
  record: () => Promise.resolve(),
  spent: () => Promise.resolve({ tokens: 0, costUsd: 0 }),
  reserve: () => Promise.resolve({ admitted: true, states: [] }),
  renew: () => Promise.resolve(true),
};
const spec = {
  providers: { upstream: { type: 'openai-compatible', base_url: `${url}/v1` } },
  models: { fast: { targets: [{ provider: 'upstream', model: 'bench-model', input_per_mtok: 0.5, output_per_mtok: 1.5 }] } },
} as unknown as GatewaySpec;
const gateway = new Gateway({ spec, env: {}, logger: pino({ level: 'info' }, pino.destination('/dev/null')), ledger });
const pool = new Pool(url, { connections: 10 });
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 });
// As `providers/openai.ts` makes its client.
const sdk = new OpenAI({ apiKey: 'no-key', baseURL: `${url}/v1`, organization: null, project: null, maxRetries: 0, logLevel: 'off', fetch: providerFetch() });

const kinds: Record<string, () => Promise<unknown>> = {
  raw: async () => {
    const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return JSON.parse(await res.body.text()) as unknown;
  },
  sdk: () => sdk.chat.completions.create({ model: 'bench-model', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8, stream: false }),
  gateway: () => gateway.chat({ model: 'fast', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 8 }, { tenantId: 'default' }),
};

/** CPU µs per call of `n` calls, `inFlight` at a time. */
async function cpuPerCall(call: () => Promise<unknown>, n: number, inFlight: number): Promise<number> {
  const before = process.cpuUsage();
  let started = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started++ < n) await call();
    }),
  );
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / n);
}

try {
  const names = Object.keys(kinds).filter((name) => only === undefined || name === only);
  for (const name of names) await cpuPerCall(kinds[name]!, 3000, 10);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const many = await cpuPerCall(kinds[name]!, 5000, 10);
      const one = await cpuPerCall(kinds[name]!, 2000, 1);
      console.log(`round ${round} ${name.padEnd(7)} CPU per call: ${many} µs (10 in flight), ${one} µs (one at a time)`);
    }
  }
} finally {
  await pool.close();
  child.kill('SIGTERM');
}
