/**
 * The rungs of the GET ladder (`bench/api-ladder.ts`) below `agentry serve`, each a Fastify app in
 * its own process answering `GET /v1/runs/:id`:
 *   api-ladder-target.ts bare <json-file>      the stored JSON from memory (as api-target.ts `bare`)
 *   api-ladder-target.ts store <sqlite-file>   the run read from Agentry's SQLite store: `runView`
 *                                              and the DTO mapping of `RunService.get`, serialised
 *                                              by Fastify's default (`JSON.stringify`)
 *   api-ladder-target.ts signin <sqlite-file>  `store` + the real request context (log context,
 *                                              `X-Request-ID`) and API-key sign-in (`authorize`)
 *   api-ladder-target.ts signed <sqlite-file>  `signin` + the access line at info to /dev/null,
 *                                              as `buildApp` has them (`ladder-sign-in.ts`)
 * Prints one JSON line `{ "url": … }` once it listens and stops on SIGTERM. Bench code only.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { runDto, stepDto } from '../src/app/dto/runs.js';
import { usageTotals } from '../src/app/dto/usage.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { addSignIn } from './ladder-sign-in.js';

const BENCH_KEY = process.env.BENCH_KEY ?? 'bench-key-0123456789abcdef';
const [mode, arg] = process.argv.slice(2);
const stop = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

/** What `RunService.get` answers for a run without children or artifacts (the bench's run has one step, so no reordering). */
async function runDetail(store: Store, id: string): Promise<unknown> {
  const view = await store.runView(id);
  if (!view) throw new Error(`run ${id} not found`);
  return { ...runDto(view.run), steps: view.steps.map(stepDto), children: [], usage: usageTotals([view.usage]), artifacts: [] };
}

const app = Fastify();
let store: Store | undefined;
if (mode === 'bare' && arg) {
  const { detail } = JSON.parse(readFileSync(arg, 'utf8')) as { detail: unknown };
  app.get('/v1/runs/:id', () => Promise.resolve(detail));
} else if ((mode === 'store' || mode === 'signin' || mode === 'signed') && arg) {
  const opened = openSqliteStore(arg);
  store = opened;
  if (mode !== 'store') addSignIn(app, { key: BENCH_KEY, scope: 'runs:read', accessLine: mode === 'signed' });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', (request) => runDetail(opened, request.params.id));
} else {
  console.error('usage: api-ladder-target.ts bare <json-file> | store|signin|signed <sqlite-file>');
  process.exit(2);
}
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url }));
await stop;
await app.close();
await store?.close();
