/**
 * Agentry's HTTP API inside your own HTTP server (`node:http`, Express, Fastify, …), mounted under
 * a path prefix, with the worker pool and scheduler in the same process — what `agentry serve`
 * runs, without its listener:
 *
 * ```ts
 * import { createServer } from 'node:http';
 * import { createAgentryHandler } from 'agentry';
 *
 * const agentry = await createAgentryHandler({ projectDir: './agentry', prefix: '/agentry' });
 * const server = createServer((req, res) => {
 *   if (agentry.matches(req.url)) return agentry.handle(req, res); // /agentry/livez, /agentry/v1/runs, …
 *   res.end('my app');
 * });
 * server.listen(3000);
 * // On shutdown: stop taking requests, then stop Agentry (running steps get the shutdown grace).
 * server.close();
 * await agentry.close();
 * ```
 *
 * The configuration is `agentry serve`'s (`AGENTRY_*` variables, agentry.yaml, `flags`), auth
 * included: requests need an API key unless auth is off, and with auth off only requests that
 * arrive on a loopback address are answered. The host server's own listener, TLS and timeouts
 * apply; Agentry's `host`, `port` and TLS settings do not.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { checkStartup, ENGINE_ROLES, loadProjectOrThrow, openAgentry, type Agentry } from '../app/bootstrap.js';
import { loadConfig, type Config } from '../app/config.js';
import { logDeprecations } from '../app/config-deprecations.js';
import type { ConfigFlags } from '../app/config-options.js';
import { EventFeed } from '../app/event-feed.js';
import { redactorFor } from '../app/secrets.js';
import { isLoopback } from '../lib/address-list.js';
import { AgentryError } from '../lib/errors.js';
import { createLogger } from '../obs/logger.js';
import { buildApp } from './app.js';
import { appOptions, serverAuth, servesGateway } from './compose.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';

export interface AgentryHandlerOptions {
  /** The project directory (agentry.yaml, workflows/, …). Default `AGENTRY_PROJECT_DIR`, else the working directory. */
  projectDir?: string;
  /** The path the API answers under: `/agentry` serves `/agentry/livez`, `/agentry/v1/runs`, … Default `''`: the server's root. */
  prefix?: string;
  /** Settings as `agentry serve`'s flags would give them (over `AGENTRY_*` and agentry.yaml): `databaseUrl`, `concurrency`, … */
  flags?: ConfigFlags;
  /** A configuration loaded already (`loadConfig`), in place of `projectDir` and `flags`. */
  config?: Config;
  /** Where `AGENTRY_*` settings, secrets and the specs' `{{ env.* }}` are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Default: Agentry's JSON logger on stderr at the configured level (`AGENTRY_LOG_LEVEL`). */
  logger?: Logger;
  /** Run the worker pool and scheduler in this process (default true); false serves the API alone, for workers elsewhere (PostgreSQL). */
  runWorkers?: boolean;
}

export interface AgentryHandler {
  /** The prefix the API answers under (`''` for the root). */
  readonly prefix: string;
  /** Whether a request URL is the API's (under `prefix`). */
  matches(url: string | undefined): boolean;
  /**
   * Answers a request under `prefix` (a Node request listener). Any other URL goes to `next` when
   * given (Express and Connect middleware), else is answered 404. Mount it before anything that
   * reads request bodies (a body parser would leave Agentry none to read); with Express, either
   * `app.use(handle)` or `app.use(prefix, handle)` (the whole URL is taken from `originalUrl`).
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The opened Agentry: engine, store, project, metrics. */
  readonly agentry: Agentry;
  /** Stops answering (503 from now on), ends event streams, stops the engine gracefully and closes the store. Safe to call twice. */
  close(): Promise<void>;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'projectDir',
  'prefix',
  'flags',
  'config',
  'env',
  'logger',
  'runWorkers',
] satisfies (keyof AgentryHandlerOptions)[]);

/** A path of one or more segments: `/agentry`, `/api/agentry`; no trailing slash, query or fragment. */
const PREFIX = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

function invalid(message: string): AgentryError {
  return new AgentryError('invalid_request', `createAgentryHandler: ${message}`);
}

/** Refuses options that cannot work, with what to write instead. */
function checkOptions(options: AgentryHandlerOptions): string {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name));
  if (unknown.length > 0) throw invalid(`unknown option ${unknown.join(', ')}; the options are ${[...OPTION_NAMES].join(', ')}`);
  if (options.config !== undefined && (options.projectDir !== undefined || options.flags !== undefined)) {
    throw invalid('give either config (from loadConfig) or projectDir/flags, not both');
  }
  const prefix = options.prefix ?? '';
  if (prefix !== '' && (typeof prefix !== 'string' || !PREFIX.test(prefix))) {
    throw invalid(`prefix must be a path such as '/agentry' (a leading '/', no trailing '/', no query); got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/**
 * SQLite files an open handler of this process runs on. The server lock (`store_in_use`) tells
 * processes apart; within one process a second engine on the same file would wait for its write
 * lock synchronously, on the thread the first needs to release it.
 */
const sqliteFilesInUse = new Set<string>();

function claimSqliteFile(config: Config): (() => void) | undefined {
  const { file } = config.database;
  if (config.database.kind !== 'sqlite' || file === undefined || file === ':memory:') return undefined;
  if (sqliteFilesInUse.has(file)) {
    throw new AgentryError(
      'store_in_use',
      `store sqlite:${file} is already served by a createAgentryHandler of this process; close() that one first, or use PostgreSQL`,
    );
  }
  sqliteFilesInUse.add(file);
  return () => sqliteFilesInUse.delete(file);
}

/** A problem+json answer written without the app (it is closed, or the request may not reach it). */
function refuse(res: ServerResponse, error: AgentryError): void {
  const body = problemBody(error, randomUUID());
  res.writeHead(body.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': body.request_id });
  res.end(JSON.stringify(body));
}

/** Loads the configuration and the project, opens the store, starts the engine and builds the app, ready to answer. */
export async function createAgentryHandler(options: AgentryHandlerOptions = {}): Promise<AgentryHandler> {
  const prefix = checkOptions(options);
  const env = options.env ?? process.env;
  const projectDir = options.projectDir === undefined ? {} : { projectDir: options.projectDir };
  const config = options.config ?? loadConfig({ flags: { ...options.flags, ...projectDir }, env });
  const redactor = redactorFor(config);
  const logger = options.logger ?? createLogger({ level: config.logLevel, redactor });
  logDeprecations(logger, config.deprecations);
  const project = await loadProjectOrThrow(config, env);
  checkStartup(config, { listens: true, servesGateway: servesGateway(config, project), egress: project.settings.egress }, logger);
  const auth = serverAuth(config);
  const release = claimSqliteFile(config);
  let agentry: Agentry;
  try {
    agentry = await openAgentry(config, { logger, env, project, redactor, serverProcess: true });
  } catch (error) {
    release?.();
    throw error;
  }
  const feed = new EventFeed();
  feed.attach(agentry.engine);
  let app: FastifyInstance | undefined;
  try {
    const roles = options.runWorkers === false ? [] : ENGINE_ROLES;
    if (roles.length > 0) await agentry.engine.start({ roles });
    // The host server terminates TLS: Agentry's own certificate settings do not apply here.
    const { https: _tls, ...served } = appOptions(agentry, config, logger, env, auth);
    app = await buildApp({ ...served, feed, roles, basePath: prefix });
    await app.ready();
  } catch (error) {
    await app?.close().catch(() => undefined);
    await agentry.close().finally(release);
    throw error;
  }
  const ready = app;

  let closing: Promise<void> | undefined;
  const matches = (url: string | undefined): boolean =>
    url !== undefined && (prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`));

  return {
    prefix,
    agentry,
    matches,
    handle(req, res, next) {
      // Express and Connect strip the path an app.use() mounts at from `url`, and keep the whole one.
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url;
      if (!matches(url)) {
        if (next) next();
        else refuse(res, new AgentryError('not_found', `no route ${req.method ?? 'GET'} ${(url ?? '').split('?')[0]}`));
        return;
      }
      if (closing) {
        refuse(res, new AgentryError('not_ready', 'Agentry is shutting down'));
        return;
      }
      if (!auth.enabled && !isLoopback(req.socket.localAddress ?? '')) {
        refuse(res, new AgentryError('forbidden', 'authentication is off (AGENTRY_AUTH=off): Agentry answers only requests that arrive on a loopback address'));
        return;
      }
      const rest = url!.slice(prefix.length);
      req.url = rest.startsWith('/') ? rest : `/${rest}`;
      ready.routing(req, res);
    },
    close() {
      return (closing ??= (async () => {
        try {
          await ready.close();
        } finally {
          await agentry.close().finally(release);
        }
      })());
    },
  };
}
