/**
 * `agentry dev start|status|stop|restart|logs`: a project's services on this machine in the
 * background, for development — the store migrated first, then each service, each started only
 * once its dependencies are ready, with the project's `.env` read into their environment. See
 * docs/cli.md#agentry-dev and `src/cli/dev/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { Command } from 'commander';
import type { Config } from '../../app/config.js';
import { AgentryError } from '../../lib/errors.js';
import { configFrom, out, outJson, outStyle, parseIntegerArg, type CliContext } from '../context.js';
import { paint, table } from '../format.js';
import { followLines, lastLines } from '../dev/log-tail.js';
import { devServices, pickServices } from '../dev/services.js';
import { DevSupervisor, type DevServiceStatus } from '../dev/supervisor.js';

interface DevFlags {
  dir?: string;
  json?: boolean;
}

interface StartFlags extends DevFlags {
  port?: number;
  /** false with `--no-auth`. */
  auth: boolean;
}

/** How much longer than the configured shutdown grace a stopping service gets before SIGKILL. */
const STOP_MARGIN_MS = 5_000;

/**
 * The project's configuration and environment with its `.env` read under the caller's: a
 * variable set in the environment wins over the same one in `.env`.
 */
export function devEnvironment(ctx: CliContext, dir: string | undefined): { config: Config; env: NodeJS.ProcessEnv; envFile?: string } {
  const first = configFrom(ctx, { projectDir: dir });
  const envFile = join(first.projectDir, '.env');
  if (!existsSync(envFile)) return { config: first, env: ctx.env };
  let parsed: NodeJS.Dict<string>;
  try {
    parsed = parseEnv(readFileSync(envFile, 'utf8'));
  } catch (error) {
    throw new AgentryError('invalid_request', `${envFile}: ${(error as Error).message}`);
  }
  const env = { ...parsed, ...ctx.env };
  return { config: configFrom({ ...ctx, env }, { projectDir: first.projectDir }), env, envFile };
}

function supervisorFor(ctx: CliContext, dir: string | undefined): { supervisor: DevSupervisor; config: Config; envFile?: string } {
  const { config, env, envFile } = devEnvironment(ctx, dir);
  const entry = process.argv[1];
  if (entry === undefined) throw new AgentryError('internal', 'agentry dev needs to know how it was started (process.argv[1] is missing)');
  const supervisor = new DevSupervisor({
    projectDir: config.projectDir,
    services: devServices(config),
    env,
    command: { file: process.execPath, args: [...process.execArgv, entry] },
    stopGraceMs: config.engine.shutdownGraceMs + STOP_MARGIN_MS,
  });
  return { supervisor, config, ...(envFile === undefined ? {} : { envFile }) };
}

function printStatus(ctx: CliContext, statuses: readonly DevServiceStatus[], json: boolean | undefined): void {
  if (json) {
    outJson(ctx, statuses);
    return;
  }
  const style = outStyle(ctx);
  const colour = { healthy: 'green', unhealthy: 'red', stopped: 'dim' } as const;
  const rows = statuses.map((s) => [
    s.name,
    paint(style, colour[s.health], s.health),
    s.pid === null ? '-' : String(s.pid),
    s.port === null ? '-' : String(s.port),
    s.url ?? '-',
    s.reason ?? s.description,
  ]);
  out(ctx, table(style, ['SERVICE', 'HEALTH', 'PID', 'PORT', 'URL', 'NOTE'], rows));
}

export function registerDev(program: Command, ctx: CliContext): void {
  const dev = program
    .command('dev')
    .description("Run a project's services in the background for development: start, status, stop, restart, logs")
    .addHelpText(
      'after',
      "\nServices: on SQLite `api` (agentry serve: API, console, workers, scheduler); on PostgreSQL `api` and `worker`.\nState and logs live in <project>/.agentry/dev/. The project's .env is read; variables already set win.",
    );
  const dirOption = ['--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)'] as const;
  const portOption = ['--port <port>', "the API's port (default $AGENTRY_PORT or 7700)", parseIntegerArg(1, 65535)] as const;
  const noAuthOption = ['--no-auth', 'start the API with API-key auth off (AGENTRY_AUTH=off; only on a loopback host)'] as const;
  const progress = (line: string): void => {
    ctx.stderr.write(`${line}\n`);
  };

  dev
    .command('start [services...]')
    .description('Migrate the store, then start the services (all by default, and what they need) and wait until each is ready')
    .option(...dirOption)
    .option(...portOption)
    .option(...noAuthOption)
    .option('--json', 'print the services as JSON')
    .action(async (names: string[], opts: StartFlags) => {
      const { supervisor, config, envFile } = supervisorFor(ctx, opts.dir);
      const services = pickServices(devServices(config), names, { withNeeds: true });
      if (envFile !== undefined) progress(`environment: ${envFile} read (variables already set win)`);
      await supervisor.start(services, { apiPort: opts.port ?? config.server.port, auth: opts.auth, onProgress: progress });
      printStatus(ctx, await supervisor.status(), opts.json);
    });

  dev
    .command('status')
    .description('Each service with its health (healthy, unhealthy, stopped), pid, port and URL')
    .option(...dirOption)
    .option('--json', 'print the services as JSON')
    .action(async (opts: DevFlags) => {
      const { supervisor } = supervisorFor(ctx, opts.dir);
      printStatus(ctx, await supervisor.status(), opts.json);
    });

  dev
    .command('stop [services...]')
    .description('Stop the services (all by default): SIGTERM, then SIGKILL after the shutdown grace period')
    .option(...dirOption)
    .action(async (names: string[], opts: DevFlags) => {
      const { supervisor, config } = supervisorFor(ctx, opts.dir);
      await supervisor.stop(pickServices(devServices(config), names), (line) => out(ctx, line));
    });

  dev
    .command('restart [services...]')
    .description('Stop the services (all by default) and start them again, with the options they were started with unless given')
    .option(...dirOption)
    .option(...portOption)
    .option(...noAuthOption)
    .option('--json', 'print the services as JSON')
    .action(async (names: string[], opts: StartFlags, command: Command) => {
      const { supervisor, config } = supervisorFor(ctx, opts.dir);
      const services = pickServices(devServices(config), names);
      const before = supervisor.startedWith('api');
      const options = {
        apiPort: opts.port ?? before?.apiPort ?? config.server.port,
        auth: command.getOptionValueSource('auth') === 'cli' ? opts.auth : (before?.auth ?? true),
      };
      await supervisor.stop(services, progress);
      await supervisor.start(services, { ...options, onProgress: progress });
      printStatus(ctx, await supervisor.status(), opts.json);
    });

  dev
    .command('logs <service>')
    .description("A service's log (JSON lines): the last lines, and with -f the new ones as they come, until Ctrl-C")
    .option(...dirOption)
    .option('-n, --lines <n>', 'how many of the last lines to print (default 200)', parseIntegerArg(0, 1_000_000), 200)
    .option('-f, --follow', 'keep printing new lines, across restarts of the service')
    .action(async (name: string, opts: DevFlags & { lines: number; follow?: boolean }) => {
      const { supervisor, config } = supervisorFor(ctx, opts.dir);
      const [service] = pickServices(devServices(config), [name]);
      const file = supervisor.logFile(service!.name);
      if (!existsSync(file)) throw new AgentryError('not_found', `${service!.name} has no log yet (${file}); start it with agentry dev start ${service!.name}`);
      const { text, position } = lastLines(file, opts.lines);
      ctx.stdout.write(text);
      if (!opts.follow) return;
      const interrupt = new AbortController();
      const onSignal = (): void => interrupt.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await followLines(file, position, (chunk) => ctx.stdout.write(chunk), interrupt.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
