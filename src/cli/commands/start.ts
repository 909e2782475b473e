/**
 * `agentry start worker|scheduler|api|gateway`: one role of Agentry per process, any number of
 * each (on PostgreSQL, across hosts). Each runs until SIGTERM or SIGINT and then stops
 * gracefully. Worker and scheduler wait for an unreachable database instead of exiting.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import { checkStartup, loadProjectOrThrow, openAgentry, type EngineRole, type Project } from '../../app/bootstrap.js';
import type { Config } from '../../app/config.js';
import type { Redactor } from '../../lib/redact.js';
import { AgentryError } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/redact.js';
import { logRingFor } from '../../obs/log-ring.js';
import { redactorFor } from '../../app/secrets.js';
import type { ProbeServer } from '../probe-server.js';
import { configFrom, loggerFor, MIGRATE_HELP, out, parseIntegerArg, type CliContext } from '../context.js';
import { loggingFailure } from '../process-failure.js';
import { withTracing } from '../tracing.js';
import { addTlsOptions, type TlsFlags } from '../tls-options.js';
import { DEFAULT_PROBE_PORT } from '../../app/config-options-server.js';

/** Why a role process stops: a signal, or an operator's drain (`agentry workers drain`). */
type StopReason = NodeJS.Signals | 'drained';

/**
 * Resolves with the first SIGTERM/SIGINT (or `stop(reason)`); `signal` aborts then. Call
 * `dispose` to remove the handlers.
 */
function untilStopped(): { stopped: Promise<StopReason>; signal: AbortSignal; stop: (reason: StopReason) => void; dispose: () => void } {
  const controller = new AbortController();
  let onSignal: (signal: StopReason) => void = () => undefined;
  const stopped = new Promise<StopReason>((resolve) => {
    onSignal = (signal) => {
      controller.abort();
      resolve(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return {
    stopped,
    signal: controller.signal,
    stop: (reason) => onSignal(reason),
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

/** Port of `agentry start gateway` unless `--port` says otherwise (the API's is 7700). */
export const GATEWAY_PORT = 7701;

interface RoleOptions {
  dir?: string;
  env?: string;
  concurrency?: number;
  scheduler?: boolean;
  probePort?: string;
  migrate?: boolean;
}

/** `--probe-port <port>`: a port from 0 (any free one) to 65535, or `off`. */
function parseProbePort(value: string): string {
  const text = value.trim().toLowerCase();
  if (text === 'off' || (/^\d{1,5}$/.test(text) && Number(text) <= 65535)) return text;
  throw new InvalidArgumentError('must be a port from 0 to 65535, or off.');
}

const PROBE_PORT_HELP = `port of /livez, /readyz, /healthz and /metrics (default $AGENTRY_PROBE_PORT or ${DEFAULT_PROBE_PORT}; 0: any free port; off: none)`;

async function runEngineRoles(ctx: CliContext, opts: RoleOptions, roles: readonly EngineRole[]): Promise<void> {
  const config = configFrom(ctx, { projectDir: opts.dir, env: opts.env, concurrency: opts.concurrency, probePort: opts.probePort, autoMigrate: opts.migrate });
  const name = roles.join('+');
  const redactor = redactorFor(config);
  const logger = loggerFor(config, { redactor }).child({ role: name });
  const project = await loadProjectOrThrow(config, ctx.env);
  checkStartup(config, { listens: false, egress: project.settings.egress }, logger);
  await withTracing(ctx, { role: name, config, logger, redactor }, () => serveEngineRoles(ctx, { config, logger, redactor, project, name }, roles));
}

async function serveEngineRoles(
  ctx: CliContext,
  parts: { config: Config; logger: Logger; redactor: Redactor; project: Project; name: string },
  roles: readonly EngineRole[],
): Promise<void> {
  const { config, logger, redactor, project, name } = parts;
  const { stopped, signal, stop, dispose } = untilStopped();
  try {
    const app = await openAgentry(config, { logger, env: ctx.env, project, waitForDatabase: signal, redactor, serverProcess: true }).catch((error: unknown) => {
      if (signal.aborted) return undefined;
      throw error;
    });
    if (!app) return;
    let probes: ProbeServer | undefined;
    // Drained by an operator (`agentry workers drain`): the engine has stopped; the process exits 0.
    const offDrained = app.engine.onDrained(() => stop('drained'));
    try {
      await app.engine.start({ roles });
      // The probe port's HTTP server (fastify) loads only when there is one.
      if (config.probe.port !== undefined) probes = await (await import('../probe-server.js')).startProbeServer(app, config, logger, ctx.env, roles);
      logger.info(
        {
          worker: app.engine.workerId,
          roles,
          store: app.store.location,
          workflows: [...app.engine.workflows.keys()],
          concurrency: config.engine.concurrency,
          ...(probes ? { probe_url: probes.url } : {}),
        },
        `${name} ready: ${app.engine.workerId} on ${app.store.location}`,
      );
      const received = await stopped;
      if (received === 'drained') logger.info({ signal: received }, 'stopping: drained (agentry workers drain)');
      else logger.info({ signal: received, graceMs: config.engine.shutdownGraceMs }, 'stopping: running steps may finish within the grace period');
    } finally {
      offDrained();
      await probes?.close();
      await app.close();
    }
    logger.info(`${name} stopped`);
  } finally {
    dispose();
  }
}

export function registerStart(program: Command, ctx: CliContext): void {
  const start = program.command('start').description('Run one role of Agentry in this process (any number of each, on PostgreSQL)');
  const stopNote =
    '\nLogs are JSON lines on stderr. Stop with SIGTERM or Ctrl-C: running steps get AGENTRY_SHUTDOWN_GRACE to finish,\nand nothing is lost either way. While the database is unreachable the process waits for it.';
  start
    .command('worker')
    .description('Execute runs: the worker pool (and, unless --no-scheduler, the scheduler) until SIGTERM/SIGINT')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development; production refuses an unsafe configuration)')
    .option('--concurrency <n>', 'steps this process runs at once (1..1000; default $AGENTRY_CONCURRENCY or 10)', parseIntegerArg(1, 1000))
    .option('--no-scheduler', 'only execute steps; leave timers and lease sweeps to `agentry start scheduler`')
    .option('--probe-port <port>', PROBE_PORT_HELP, parseProbePort)
    .option('--migrate', MIGRATE_HELP)
    .addHelpText('after', stopNote)
    .action((opts: RoleOptions) =>
      loggingFailure('start worker', () => runEngineRoles(ctx, opts, opts.scheduler === false ? ['worker'] : ['worker', 'scheduler'])),
    );
  start
    .command('scheduler')
    .description('Run the scheduler: lapsed leases, run deadlines and timers (any number of schedulers is safe)')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development; production refuses an unsafe configuration)')
    .option('--probe-port <port>', PROBE_PORT_HELP, parseProbePort)
    .option('--migrate', MIGRATE_HELP)
    .addHelpText('after', stopNote)
    .action((opts: RoleOptions) => loggingFailure('start scheduler', () => runEngineRoles(ctx, opts, ['scheduler'])));
  const api = start
    .command('api')
    .description('Serve the HTTP API only (runs are executed by `agentry start worker` processes)')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development; production refuses an unsafe configuration)')
    .option('--port <port>', 'port (default $AGENTRY_PORT or 7700)', parseIntegerArg(0, 65535))
    .option('--host <host>', 'address to bind (default $AGENTRY_HOST or 127.0.0.1)')
    .option('--migrate', MIGRATE_HELP);
  addTlsOptions(api)
    .addHelpText('after', stopNote)
    .action((opts: { dir?: string; env?: string; port?: number; host?: string; migrate?: boolean } & TlsFlags) =>
      loggingFailure('start api', async () => {
        // The HTTP server (fastify, swagger) loads only for the roles that serve HTTP.
        const { banner, serverAuth, servesGateway, startServer } = await import('./serve.js');
        const config = configFrom(ctx, {
          projectDir: opts.dir,
          env: opts.env,
          port: opts.port,
          host: opts.host,
          tlsCert: opts.tlsCert,
          tlsKey: opts.tlsKey,
          autoMigrate: opts.migrate,
        });
        const redactor = redactorFor(config);
        const logRing = logRingFor(config.server.logBufferLines);
        const logger = loggerFor(config, { redactor, ring: logRing }).child({ role: 'api' });
        const project = await loadProjectOrThrow(config, ctx.env);
        checkStartup(config, { listens: true, servesGateway: servesGateway(config, project), egress: project.settings.egress }, logger);
        serverAuth(config);
        await withTracing(ctx, { role: 'api', config, logger, redactor }, async () => {
          const { stopped, dispose } = untilStopped();
          try {
            const server = await startServer(config, logger, ctx.env, project, { roles: [], redactor, logRing });
            try {
              for (const line of banner(server.url, config.server.auth, project)) out(ctx, line);
              logger.info({ url: server.url, store: server.store.location }, `api serving on ${server.url}`);
              await stopped;
            } finally {
              await server.close();
            }
          } finally {
            dispose();
          }
        });
      }),
    );
  const gateway = start
    .command('gateway')
    .description('Serve the LLM gateway only: POST /v1/chat/completions, POST /v1/messages, GET /v1/models, GET /v1/usage and the probes')
    .option('--dir <dir>', 'project directory with gateway.yaml (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development; production refuses an unsafe configuration)')
    .option('--port <port>', `port (default ${GATEWAY_PORT})`, parseIntegerArg(0, 65535))
    .option('--host <host>', 'address to bind (default $AGENTRY_HOST or 127.0.0.1)')
    .option('--probe-port <port>', PROBE_PORT_HELP, parseProbePort)
    .option('--migrate', MIGRATE_HELP);
  addTlsOptions(gateway)
    .addHelpText(
      'after',
      `
Provider keys live in this process only. Workers get AGENTRY_GATEWAY_URL=<this URL> and the
AGENTRY_INTERNAL_SECRET of this process (they sign a short-lived token per call; in development
AGENTRY_GATEWAY_API_KEY=<a key with the gateway:use scope> instead) and hold no provider keys.
Auth is as for the API (AGENTRY_API_KEYS). See docs/gateway.md.${stopNote}`,
    )
    .action((opts: { dir?: string; env?: string; port?: number; host?: string; probePort?: string; migrate?: boolean } & TlsFlags) =>
      loggingFailure('start gateway', async () => {
        // The HTTP server (fastify, swagger) loads only for the roles that serve HTTP.
        const { serverAuth, startServer } = await import('./serve.js');
        const { startProbeServer } = await import('../probe-server.js');
        const config = configFrom(ctx, {
          projectDir: opts.dir,
          env: opts.env,
          port: opts.port ?? GATEWAY_PORT,
          host: opts.host,
          probePort: opts.probePort,
          tlsCert: opts.tlsCert,
          tlsKey: opts.tlsKey,
          autoMigrate: opts.migrate,
        });
        if (config.gateway) {
          throw new AgentryError(
            'invalid_request',
            `AGENTRY_GATEWAY_URL is set (${maskSecrets(config.gateway.url)}): the gateway process runs the gateway itself; unset it for this process`,
          );
        }
        const redactor = redactorFor(config);
        const logger = loggerFor(config, { redactor }).child({ role: 'gateway' });
        const project = await loadProjectOrThrow(config, ctx.env);
        checkStartup(config, { listens: true, servesGateway: true, egress: project.settings.egress }, logger);
        serverAuth(config);
        if (!project.gateway) throw new AgentryError('invalid_request', `project ${config.projectDir} has no gateway.yaml (see docs/gateway.md)`);
        await withTracing(ctx, { role: 'gateway', config, logger, redactor }, async () => {
          const { stopped, dispose } = untilStopped();
          try {
            const server = await startServer(config, logger, ctx.env, project, { roles: [], groups: ['probes', 'gateway'], redactor, serverProcess: false });
            let probes: ProbeServer | undefined;
            try {
              probes = await startProbeServer(server.agentry, config, logger, ctx.env, []);
              out(ctx, `Agentry gateway listening on ${server.url}`);
              if (probes) out(ctx, `Probes and /metrics: ${probes.url}`);
              out(ctx, `OpenAI-compatible base URL: ${server.url}/v1  (model = a model group: GET ${server.url}/v1/models)`);
              out(ctx, `Anthropic-compatible base URL: ${server.url}  (POST /v1/messages)`);
              out(
                ctx,
                config.internal.secret === undefined
                  ? `Workers: AGENTRY_GATEWAY_URL=${server.url} AGENTRY_GATEWAY_API_KEY=<a key with gateway:use> (set AGENTRY_INTERNAL_SECRET to use internal tokens instead)`
                  : `Workers: AGENTRY_GATEWAY_URL=${server.url} and this process's AGENTRY_INTERNAL_SECRET`,
              );
              if (!config.server.auth)
                out(ctx, 'WARNING: authentication is OFF (AGENTRY_AUTH=off on a loopback address). Anyone on this host can use the gateway.');
              logger.info({ url: server.url, store: server.store.location, ...(probes ? { probe_url: probes.url } : {}) }, `gateway serving on ${server.url}`);
              await stopped;
            } finally {
              await probes?.close();
              await server.close();
            }
          } finally {
            dispose();
          }
        });
      }),
    );
}
