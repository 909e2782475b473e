/**
 * The rungs of the gateway ladder (`bench/gateway-ladder.ts`) below Agentry's gateway, each a
 * Fastify app in its own process serving `POST /v1/chat/completions` by calling the upstream:
 *   gateway-ladder-target.ts proxy <upstream>      undici's `request` on a keep-alive pool, the
 *                                                  upstream's body returned as it came (no SDK)
 *   gateway-ladder-target.ts sdk <upstream>        the official `openai` client on the `fetch`
 *                                                  Agentry gives it (`providers/http-fetch.ts`)
 *   gateway-ladder-target.ts sdk-fetch <upstream>  the same client on its default (Node's) `fetch`
 *   gateway-ladder-target.ts sdk-signed <upstream> `sdk` + the request context, API-key sign-in and
 *                                                  the access line of `buildApp` (`ladder-sign-in.ts`)
 * Prints one JSON line `{ "url": … }` once it listens and stops on SIGTERM. Bench code only.
 */
import Fastify from 'fastify';
import OpenAI from 'openai';
import { Pool } from 'undici';
import { providerFetch } from '../src/gateway/providers/http-fetch.js';
import { addSignIn } from './ladder-sign-in.js';

const BENCH_KEY = process.env.BENCH_KEY ?? 'bench-key-0123456789abcdef';
const [mode, upstream] = process.argv.slice(2);
const stop = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
type Completion = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

const app = Fastify();
let pool: Pool | undefined;
if (mode === 'proxy' && upstream) {
  const upstreamPool = new Pool(upstream, { connections: 10 });
  pool = upstreamPool;
  app.post('/v1/chat/completions', async (request, reply) => {
    const res = await upstreamPool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.body),
    });
    const text = await res.body.text();
    return reply.code(res.statusCode).header('content-type', 'application/json').send(text);
  });
} else if ((mode === 'sdk' || mode === 'sdk-fetch' || mode === 'sdk-signed') && upstream) {
  const client = new OpenAI({
    apiKey: 'no-key',
    baseURL: `${upstream}/v1`,
    organization: null,
    project: null,
    maxRetries: 0,
    logLevel: 'off',
    ...(mode === 'sdk-fetch' ? {} : { fetch: providerFetch() }),
  });
  if (mode === 'sdk-signed') addSignIn(app, { key: BENCH_KEY, scope: 'gateway:use', accessLine: true });
  app.post<{ Body: Completion }>('/v1/chat/completions', (request) => client.chat.completions.create({ ...request.body, stream: false }));
} else {
  console.error('usage: gateway-ladder-target.ts proxy|sdk|sdk-fetch|sdk-signed <upstream-url>');
  process.exit(2);
}
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url }));
await stop;
await app.close();
await pool?.close();
