/**
 * The `api` bench's agentry server, as `api-target.ts agentry <workdir>` starts it and as
 * floor-sqlite.ts starts it in its own process: a project in `workdir` with one workflow
 * (`greet`, one `transform` step), a fresh SQLite store beside it, auth on (one service key),
 * request logs at info written to /dev/null, the engine executing the started runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/obs/logger.js';

export const BENCH_KEY = process.env.BENCH_KEY ?? 'bench-key-0123456789abcdef';

/** The store's file of the server started on `workdir`. */
export const agentryDatabase = (workdir: string): string => join(workdir, 'agentry.db');

export async function startAgentryTarget(workdir: string): Promise<RunningServer> {
  mkdirSync(join(workdir, 'workflows'), { recursive: true });
  writeFileSync(join(workdir, 'agentry.yaml'), 'version: v1\nname: bench\n');
  writeFileSync(join(workdir, 'workflows', 'greet.yaml'), 'name: greet\nsteps:\n  hello:\n    transform:\n      greeting: "Hello, {{ input.name }}!"\n');
  const env = { AGENTRY_DATABASE_URL: `sqlite:${agentryDatabase(workdir)}`, AGENTRY_API_KEYS: `bench:${BENCH_KEY}:service`, AGENTRY_LOG_LEVEL: 'info' };
  const config = loadConfig({ flags: { projectDir: workdir, port: 0 }, env, cwd: workdir });
  // Request logs at info, as in production, written to /dev/null.
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: false }) });
  return startServer(config, logger, env, await loadProjectOrThrow(config, env));
}
