/**
 * A benchmark target in its own process (so the load generator does not share its event loop):
 *   api-target.ts agentry <workdir>      `agentry serve` on a fresh SQLite store, auth on
 *   api-target.ts bare <json-file>       a bare Fastify app answering the same JSON
 * Prints one JSON line `{ "url": … }` once it listens; stops on SIGTERM.
 * With BENCH_CPU_PROF=<dir>, the agentry target writes a CPU profile of its whole life there
 * (`agentry-<pid>.cpuprofile`, for Chrome DevTools or speedscope) when it stops.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startAgentryTarget } from './api-agentry.js';

const [mode, arg] = process.argv.slice(2);
const stop = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

/** Starts the V8 CPU profiler; the function returned stops it and writes the profile to `dir`. */
async function profile(dir: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile: taken } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `agentry-${process.pid}.cpuprofile`), JSON.stringify(taken));
    session.disconnect();
  };
}

if (mode === 'agentry' && arg) {
  const profiled = process.env.BENCH_CPU_PROF ? await profile(process.env.BENCH_CPU_PROF) : undefined;
  const server = await startAgentryTarget(arg);
  console.log(JSON.stringify({ url: server.url }));
  await stop;
  await server.close();
  await profiled?.();
} else if (mode === 'bare' && arg) {
  const bodies = JSON.parse(readFileSync(arg, 'utf8')) as { started: unknown; detail: unknown };
  const app = Fastify();
  app.post('/v1/workflows/:name/runs', (_request, reply) => reply.code(201).send(bodies.started));
  app.get('/v1/runs/:id', () => Promise.resolve(bodies.detail));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(JSON.stringify({ url }));
  await stop;
  await app.close();
} else {
  console.error('usage: api-target.ts agentry <workdir> | bare <json-file>');
  process.exit(2);
}
