/**
 * `agentry serve [dir]`: the HTTP API, the worker pool and the scheduler in one process on the
 * configured store. SIGTERM/SIGINT stop it gracefully: the listener closes (requests in flight
 * finish), running steps get the shutdown grace to finish or release their leases, the store
 * closes, and the process exits 0.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { checkStartup, ENGINE_ROLES, loadProjectOrThrow, openAgentry, type Agentry, type EngineRole, type Project } from '../../app/bootstrap.js';
import type { Config } from '../../app/config.js';
import { buildApp, drainAndClose } from '../../server/app.js';
import { appOptions, serverAuth, servesGateway } from '../../server/compose.js';
import { consoleDir } from '../../server/console.js';
import { EventFeed } from '../../app/event-feed.js';
import type { RouteGroup } from '../../server/route.js';
import type { Redactor } from '../../lib/redact.js';
import { logRingFor, type LogRing } from '../../obs/log-ring.js';
import { redactorFor } from '../../app/secrets.js';
import { tlsCredentials } from '../../app/tls.js';
import type { FastifyInstance } from 'fastify';
import { configFrom, loggerFor, MIGRATE_HELP, out, parseIntegerArg, type CliContext } from '../context.js';
import { listenOn } from '../listen.js';
import { loggingFailure } from '../process-failure.js';
import { withTracing } from '../tracing.js';
import { addTlsOptions, type TlsFlags } from '../tls-options.js';

export interface ServeFlags extends TlsFlags {
  dir?: string;
  env?: string;
  port?: number;
  host?: string;
  /** false with `--no-auth`. */
  auth?: boolean;
  concurrency?: number;
  bundle?: string;
  requireSignedSpecs?: boolean;
  bundleEnv?: string;
  trustKey?: string[];
  /** `--migrate`: apply pending migrations at start. */
  migrate?: boolean;
}

// The commands that start a server (`start api|gateway`, `demo`) load this module and use these with it.
export { serverAuth, servesGateway } from '../../server/compose.js';

export interface RunningServer {
  /** Base URL it listens on (`http://127.0.0.1:7700`; `https://` with native TLS). */
  url: string;
  app: FastifyInstance;
  /** What it serves: project, store, engine, gateway, tools, metrics. */
  agentry: Agentry;
  engine: Agentry['engine'];
  store: Agentry['store'];
  /** Graceful stop: listener, then engine (within its grace), then store. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the project, store and engine, starts the engine and listens. */
export async function startServer(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  project?: Project,
  options: {
    roles?: readonly EngineRole[];
    groups?: readonly RouteGroup[];
    redactor?: Redactor;
    /** Hold the SQLite server lock (`openAgentry`'s `serverProcess`); default true, the gateway alone opts out. */
    serverProcess?: boolean;
    /** Log each run's story (`openAgentry`'s `logRuns`); default true, the demo (which shows it) opts out. */
    logRuns?: boolean;
    /** The ring `logger` also writes to (`AGENTRY_LOG_BUFFER`), served by `GET /v1/admin/logs`. */
    logRing?: LogRing | undefined;
  } = {},
): Promise<RunningServer> {
  const auth = serverAuth(config);
  // An unreadable certificate or key stops the process before the store is opened.
  tlsCredentials(config);
  const feed = new EventFeed();
  const agentry = await openAgentry(config, {
    logger,
    env,
    serverProcess: options.serverProcess ?? true,
    ...(project ? { project } : {}),
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(options.logRuns === undefined ? {} : { logRuns: options.logRuns }),
  });
  const { engine, store } = agentry;
  feed.attach(engine);
  let app: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        logger.info('closing the listener; requests in flight may finish');
        if (app) await drainAndClose(app);
        logger.info({ graceMs: config.engine.shutdownGraceMs }, 'stopping the engine: running steps may finish within the grace period');
      } finally {
        await agentry.close();
      }
    })());
  try {
    const roles = options.roles ?? ENGINE_ROLES;
    if (roles.length > 0) await engine.start({ roles });
    app = await buildApp({
      ...appOptions(agentry, config, logger, env, auth),
      feed,
      ...(options.groups ? { groups: options.groups } : {}),
      roles,
      logRing: options.logRing,
    });
    const url = await listenOn(app, config.server.host, config.server.port, '--port <port> / AGENTRY_PORT');
    return { url, app, agentry, engine, store, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** The lines `agentry serve` prints once it listens (`withConsole`: the web console is built, docs/console.md). Never prints a key. */
export function banner(url: string, authEnabled: boolean, project: Project, withConsole = consoleDir() !== undefined): string[] {
  const names = [...project.workflows.keys()].sort();
  const demo = names.includes('hello') ? 'hello' : names[0];
  const lines = [`Agentry API listening on ${url}`, `Docs: ${url}/docs  (OpenAPI: ${url}/openapi.json)`];
  if (withConsole) lines.push(`Console: ${url}/ui/`);
  if (!authEnabled) lines.push('WARNING: authentication is OFF (--no-auth on a loopback address). Anyone on this host can use the API.');
  if (demo !== undefined) {
    const input = demo === 'hello' ? '{"input":{"name":"Ada"}}' : '{"input":{}}';
    const authHeader = authEnabled ? ` -H "Authorization: Bearer $AGENTRY_API_KEY"` : '';
    lines.push(`Start the ${demo} workflow${authEnabled ? ' (export AGENTRY_API_KEY=<a key from AGENTRY_API_KEYS>)' : ''}:`);
    lines.push(`  curl -sS -X POST '${url}/v1/workflows/${demo}/runs?wait=30s' -H 'Content-Type: application/json'${authHeader} -d '${input}'`);
  } else {
    lines.push('No workflows loaded: add workflows/*.yaml to the project and restart.');
  }
  return lines;
}

export function registerServe(program: Command, ctx: CliContext): void {
  const serve = program
    .command('serve')
    .description('Run the HTTP API, worker pool and scheduler in one process until SIGTERM/SIGINT')
    .argument('[dir]', 'project directory (default: --dir, $AGENTRY_PROJECT_DIR or .)')
    .option('--dir <dir>', 'project directory')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development; production refuses an unsafe configuration)')
    .option('--port <port>', `port (default $AGENTRY_PORT or 7700)`, parseIntegerArg(0, 65535))
    .option('--host <host>', `address to bind (default $AGENTRY_HOST or 127.0.0.1)`)
    .option('--no-auth', 'turn API-key auth off (only allowed on a loopback host; also AGENTRY_AUTH=off)')
    .option('--concurrency <n>', 'steps this process runs at once (1..1000)', parseIntegerArg(1, 1000))
    .option('--migrate', MIGRATE_HELP)
    .option('--bundle <file>', 'load the specs from this bundle (agentry bundle build) instead of the project directory; also AGENTRY_BUNDLE')
    .option('--require-signed-specs', 'start only from a bundle signed by a --trust-key; also AGENTRY_REQUIRE_SIGNED_SPECS')
    .option('--bundle-env <env>', 'start only from a bundle signed for this environment (bundle sign --env); also AGENTRY_BUNDLE_ENV')
    .option(
      '--trust-key <pem>',
      'ed25519 public key whose bundle signature is trusted (repeatable); also AGENTRY_TRUST_KEYS',
      (v: string, prev: string[] = []) => [...prev, v],
    );
  addTlsOptions(serve)
    .addHelpText(
      'after',
      `
Auth is on by default: set AGENTRY_API_KEYS=name:key:role[,role];… (roles: admin, operator, service,
reviewer, viewer; keys of 16+ characters), or create keys in the database with \`agentry keys create\`.
Other settings: AGENTRY_MAX_BODY_BYTES (default 1 MiB), AGENTRY_SHUTDOWN_GRACE. See docs/api.md.`,
    )
    .action((dirArg: string | undefined, opts: ServeFlags) => loggingFailure('serve', () => serveAction(ctx, dirArg, opts)));
}

async function serveAction(ctx: CliContext, dirArg: string | undefined, opts: ServeFlags): Promise<void> {
  const config = configFrom(ctx, {
    projectDir: dirArg ?? opts.dir,
    env: opts.env,
    concurrency: opts.concurrency,
    host: opts.host,
    port: opts.port,
    auth: opts.auth === false ? false : undefined,
    bundle: opts.bundle,
    requireSignedSpecs: opts.requireSignedSpecs,
    bundleEnv: opts.bundleEnv,
    trustKeys: opts.trustKey?.join(','),
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    autoMigrate: opts.migrate,
  });
  const redactor = redactorFor(config);
  const logRing = logRingFor(config.server.logBufferLines);
  const logger = loggerFor(config, { redactor, ring: logRing }).child({ role: 'serve' });
  const project = await loadProjectOrThrow(config, ctx.env);
  if (project.bundle) {
    const { file, hash, signer, approvedBy, env } = project.bundle;
    logger.info({ bundle: file, hash, signer, approved_by: approvedBy, bundle_env: env }, 'specs loaded from a bundle');
  }
  checkStartup(config, { listens: true, servesGateway: servesGateway(config, project), egress: project.settings.egress }, logger);
  serverAuth(config);
  if (!config.server.auth) logger.warn({ host: config.server.host }, 'AUTHENTICATION IS OFF: every request is treated as admin (loopback only)');
  await withTracing(ctx, { role: 'serve', config, logger, redactor }, async () => {
    let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
    let onDrained: (() => void) | undefined;
    const stopped = new Promise<NodeJS.Signals | 'drained'>((resolve) => {
      onSignal = resolve;
      onDrained = () => resolve('drained');
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    const server = await startServer(config, logger, ctx.env, project, { redactor, logRing });
    // Drained by an operator (`agentry workers drain`): the engine has stopped; the listener closes and the process exits 0.
    const offDrained = server.engine.onDrained(() => onDrained?.());
    try {
      for (const line of banner(server.url, config.server.auth, project)) out(ctx, line);
      logger.info({ url: server.url, worker: server.engine.workerId, store: server.store.location, auth: config.server.auth }, `serving on ${server.url}`);
      const signal = await stopped;
      logger.info({ signal }, signal === 'drained' ? 'stopping: drained (agentry workers drain)' : 'stopping');
    } finally {
      offDrained();
      if (onSignal) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      await server.close();
    }
    logger.info('stopped');
  });
}
