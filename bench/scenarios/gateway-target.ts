/**
 * Benchmark targets for the gateway scenario, each in its own process:
 *   gateway-target.ts upstream                 an OpenAI-compatible upstream answering at once
 *   gateway-target.ts agentry <dir> <upstream> `agentry start gateway`-equivalent: the API with
 *                                              the gateway routes, auth on, SQLite usage ledger
 * Prints one JSON line `{ "url": … }` once it listens; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startServer } from '../../src/cli/commands/serve.js';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/obs/logger.js';

const BENCH_KEY = process.env.BENCH_KEY ?? 'bench-key-0123456789abcdef';
const [mode, arg, upstream] = process.argv.slice(2);
const stop = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
});

if (mode === 'upstream') {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(COMPLETION);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  await stop;
  server.closeAllConnections();
  server.close();
} else if (mode === 'agentry' && arg && upstream) {
  mkdirSync(join(arg, 'workflows'), { recursive: true });
  writeFileSync(join(arg, 'agentry.yaml'), 'version: v1\nname: bench\n');
  writeFileSync(
    join(arg, 'gateway.yaml'),
    [
      'providers:',
      `  upstream: { type: openai-compatible, base_url: "${upstream}/v1" }`,
      'models:',
      '  fast:',
      '    targets:',
      '      - { provider: upstream, model: bench-model, input_per_mtok: 0.5, output_per_mtok: 1.5 }',
      '',
    ].join('\n'),
  );
  const env = { AGENTRY_DATABASE_URL: `sqlite:${join(arg, 'agentry.db')}`, AGENTRY_API_KEYS: `bench:${BENCH_KEY}:service`, AGENTRY_LOG_LEVEL: 'info' };
  const config = loadConfig({ flags: { projectDir: arg, port: 0 }, env, cwd: arg });
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: false }) });
  const server = await startServer(config, logger, env, await loadProjectOrThrow(config, env), { roles: [] });
  const profile = process.env.BENCH_CPU_PROFILE === undefined ? undefined : await startProfile(process.env.BENCH_CPU_PROFILE);
  console.log(JSON.stringify({ url: server.url }));
  await stop;
  await profile?.();
  await server.close();
}

/** BENCH_CPU_PROFILE=<file>: a CPU profile of the serving process from the moment it listens (startup left out) until SIGTERM. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

if (mode !== 'upstream' && !(mode === 'agentry' && arg && upstream)) {
  console.error('usage: gateway-target.ts upstream | agentry <dir> <upstream-url>');
  process.exit(2);
}
