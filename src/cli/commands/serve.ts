/**
 * `agentry serve [dir]`: the HTTP API, the worker pool and the scheduler in one process on the
 * configured store. SIGTERM/SIGINT stop it gracefully: the listener closes (requests in flight
 * finish), running steps get the shutdown grace to finish or release their leases, the store
 * closes, and the process exits 0.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { executorRegistry, loadProjectOrThrow, openStore, type Project } from '../../bootstrap.js';
import type { Config } from '../../config.js';
import { Engine } from '../../engine/engine.js';
import { AgentryError } from '../../errors.js';
import { buildApp, DEFAULT_MAX_BODY_BYTES, drainAndClose } from '../../server/app.js';
import { authSettings, type AuthSettings } from '../../server/auth.js';
import { EventFeed } from '../../server/event-feed.js';
import { packageVersion } from '../../server/version.js';
import type { Store } from '../../store/store.js';
import type { FastifyInstance } from 'fastify';
import { configFrom, loggerFor, out, parseIntegerArg, type CliContext } from '../context.js';

/** Server options (until `src/config.ts` has them): flag, then environment variable, then default. */
export interface ServerSettings {
  /** `--host` / `AGENTRY_HOST`, default 127.0.0.1. */
  host: string;
  /** `--port` / `AGENTRY_PORT`, default 7700 (0 picks a free port). */
  port: number;
  /** Off only with `--no-auth` / `AGENTRY_AUTH=off`, and only on a loopback host. */
  auth: AuthSettings;
  /** `AGENTRY_MAX_BODY_BYTES`, default 1 MiB. */
  maxBodyBytes: number;
}

export interface ServeFlags {
  dir?: string;
  port?: number;
  host?: string;
  /** false with `--no-auth`. */
  auth?: boolean;
  concurrency?: number;
}

export const DEFAULT_PORT = 7700;
export const DEFAULT_HOST = '127.0.0.1';

function envInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new AgentryError('invalid_request', `${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}

export function serverSettings(flags: ServeFlags, env: NodeJS.ProcessEnv): ServerSettings {
  const host = flags.host ?? (env.AGENTRY_HOST?.trim() || DEFAULT_HOST);
  const port = flags.port ?? envInteger(env, 'AGENTRY_PORT', DEFAULT_PORT, 0, 65535);
  const maxBodyBytes = envInteger(env, 'AGENTRY_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1024, 1024 * 1024 * 1024);
  const authEnv = env.AGENTRY_AUTH?.trim().toLowerCase();
  if (authEnv !== undefined && authEnv !== '' && !['on', 'off', 'true', 'false'].includes(authEnv)) {
    throw new AgentryError('invalid_request', `AGENTRY_AUTH must be on or off, got '${env.AGENTRY_AUTH}'`);
  }
  const enabled = flags.auth !== false && authEnv !== 'off' && authEnv !== 'false';
  return { host, port, maxBodyBytes, auth: authSettings({ enabled, host, apiKeys: env.AGENTRY_API_KEYS }) };
}

export interface RunningServer {
  /** Base URL it listens on (`http://127.0.0.1:7700`). */
  url: string;
  app: FastifyInstance;
  engine: Engine;
  store: Store;
  /** Graceful stop: listener, then engine (within its grace), then store. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the project, store and engine, starts the engine and listens. */
export async function startServer(config: Config, settings: ServerSettings, logger: Logger, env: NodeJS.ProcessEnv, project?: Project): Promise<RunningServer> {
  const loaded = project ?? (await loadProjectOrThrow(config, env));
  const raw = await openStore(config);
  const feed = new EventFeed();
  const store = feed.wrap(raw);
  const engine = new Engine({
    store,
    workflows: loaded.workflows,
    executors: executorRegistry(),
    executorSettings: { http: { ...config.http } },
    logger,
    settings: config.engine,
    env,
  });
  let app: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        logger.info('closing the listener; requests in flight may finish');
        if (app) await drainAndClose(app);
        logger.info({ graceMs: config.engine.shutdownGraceMs }, 'stopping the engine: running steps may finish within the grace period');
        await engine.stop(config.engine.shutdownGraceMs);
      } finally {
        await raw.close();
      }
    })());
  try {
    await engine.start();
    app = await buildApp({ engine, store, feed, logger, version: packageVersion(), auth: settings.auth, maxBodyBytes: settings.maxBodyBytes });
    const url = await app.listen({ host: settings.host, port: settings.port });
    return { url, app, engine, store, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** The lines `agentry serve` prints once it listens. Never prints a key. */
export function banner(url: string, settings: ServerSettings, project: Project): string[] {
  const names = [...project.workflows.keys()].sort();
  const demo = names.includes('hello') ? 'hello' : names[0];
  const lines = [`Agentry API listening on ${url}`, `Docs: ${url}/docs  (OpenAPI: ${url}/openapi.json)`];
  if (!settings.auth.enabled) lines.push('WARNING: authentication is OFF (--no-auth on a loopback address). Anyone on this host can use the API.');
  if (demo !== undefined) {
    const input = demo === 'hello' ? '{"input":{"name":"Ada"}}' : '{"input":{}}';
    const authHeader = settings.auth.enabled ? ` -H "Authorization: Bearer $AGENTRY_API_KEY"` : '';
    lines.push(`Start the ${demo} workflow${settings.auth.enabled ? ' (export AGENTRY_API_KEY=<a key from AGENTRY_API_KEYS>)' : ''}:`);
    lines.push(`  curl -sS -X POST '${url}/v1/workflows/${demo}/runs?wait=30s' -H 'Content-Type: application/json'${authHeader} -d '${input}'`);
  } else {
    lines.push('No workflows loaded: add workflows/*.yaml to the project and restart.');
  }
  return lines;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('Run the HTTP API, worker pool and scheduler in one process until SIGTERM/SIGINT')
    .argument('[dir]', 'project directory (default: --dir, $AGENTRY_PROJECT_DIR or .)')
    .option('--dir <dir>', 'project directory')
    .option('--port <port>', `port (default $AGENTRY_PORT or ${DEFAULT_PORT})`, parseIntegerArg(0, 65535))
    .option('--host <host>', `address to bind (default $AGENTRY_HOST or ${DEFAULT_HOST})`)
    .option('--no-auth', 'turn API-key auth off (only allowed on a loopback host; also AGENTRY_AUTH=off)')
    .option('--concurrency <n>', 'steps this process runs at once (1..1000)', parseIntegerArg(1, 1000))
    .addHelpText('after', `
Auth is on by default: set AGENTRY_API_KEYS=name:key:role[,role];… (roles: admin, operator, service,
reviewer, viewer; keys of 16+ characters). Other settings: AGENTRY_MAX_BODY_BYTES (default 1 MiB),
AGENTRY_SHUTDOWN_GRACE. See docs/api.md.`)
    .action(async (dirArg: string | undefined, opts: ServeFlags) => {
      const settings = serverSettings(opts, ctx.env);
      const config = configFrom(ctx, { projectDir: dirArg ?? opts.dir, concurrency: opts.concurrency });
      const logger = loggerFor(config).child({ role: 'serve' });
      const project = await loadProjectOrThrow(config, ctx.env);
      if (!settings.auth.enabled) logger.warn({ host: settings.host }, 'AUTHENTICATION IS OFF: every request is treated as admin (loopback only)');
      let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        onSignal = resolve;
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      const server = await startServer(config, settings, logger, ctx.env, project);
      try {
        for (const line of banner(server.url, settings, project)) out(ctx, line);
        logger.info({ url: server.url, worker: server.engine.workerId, store: server.store.location, auth: settings.auth.enabled }, `serving on ${server.url}`);
        const signal = await stopped;
        logger.info({ signal }, 'stopping');
      } finally {
        if (onSignal) {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        }
        await server.close();
      }
      logger.info('stopped');
    });
}
