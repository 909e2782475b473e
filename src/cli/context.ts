/**
 * What every command shares: the process streams, the exit code it wants, configuration from
 * its flags, a logger, and argument parsers that fail before anything is opened.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import type { DestinationStream, Logger } from 'pino';
import type { ConfigFlags } from '../app/config-options.js';
import { loadConfig, type Config } from '../app/config.js';
import { logDeprecations } from '../app/config-deprecations.js';
import { redactorFor } from '../app/secrets.js';
import { maskSecrets, type Redactor } from '../lib/redact.js';
import { parseDurationText } from '../lib/duration.js';
import { tenantIdProblem } from '../lib/tenant.js';
import type { LogLevel } from '../obs/logger.js';
import type { LogRing } from '../obs/log-ring.js';
import { AgentryError } from '../lib/errors.js';
import { createLogger } from '../obs/logger.js';
import { RUN_STATUSES, type RunStatus } from '../types.js';
import { styleFor, type Style } from './format.js';
import type { CliContext } from './process-context.js';

export type { CliContext } from './process-context.js';

export function out(ctx: CliContext, text = ''): void {
  ctx.stdout.write(`${text}\n`);
}

export function outJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function outStyle(ctx: CliContext): Style {
  return styleFor(ctx.stdout, ctx.env);
}

export function configFrom(ctx: CliContext, flags: ConfigFlags): Config {
  return loadConfig({ flags, env: ctx.env, cwd: ctx.cwd });
}

/**
 * The logger of a command, after it logged the configuration's warnings (a debug level in
 * production, a deprecated variable: `config.deprecated`); its lines pass through `redactor` (a process that opens a
 * project passes the one `openAgentry` adds the project's secrets to). Interactive commands (`run --wait`, `demo`) keep the terminal for
 * their progress: unless a level was asked for, they log warnings and errors only.
 */
export function loggerFor(
  config: Config,
  options: { interactive?: boolean; redactor?: Redactor; destination?: DestinationStream; ring?: LogRing | undefined } = {},
): Logger {
  const level: LogLevel = options.interactive && config.sources.logLevel === 'default' ? 'warn' : config.logLevel;
  const logger = createLogger({
    level,
    redactor: options.redactor ?? redactorFor(config),
    ...(options.destination ? { destination: options.destination } : {}),
    ...(options.ring ? { ring: options.ring } : {}),
  });
  const warning = logLevelWarning(config.env, level);
  if (warning !== undefined) logger.warn({ env: config.env, log_level: level }, warning);
  logDeprecations(logger, config.deprecations);
  return logger;
}

/**
 * In production, `debug` and `trace` log far more than an operator needs (tool and provider
 * exchanges, step details): a setting meant for a debugging session should not go unnoticed.
 */
export function logLevelWarning(env: Config['env'], level: LogLevel): string | undefined {
  if (env !== 'production' || (level !== 'debug' && level !== 'trace')) return undefined;
  return `AGENTRY_LOG_LEVEL=${level} in production: ${level} logs hold more detail than production needs; use info unless you are debugging`;
}

/** How a user in this shell calls the CLI again (`npm run agentry --` when started through npm). */
export function selfCommand(ctx: CliContext): string {
  return ctx.env.npm_lifecycle_event === 'demo' || ctx.env.npm_lifecycle_event === 'agentry' ? 'npm run agentry --' : 'agentry';
}

/** ` --dir <dir>` when the project is not the current directory (for hints). */
export function dirHint(ctx: CliContext, config: Config): string {
  const rel = relative(ctx.cwd, config.projectDir);
  if (rel === '') return '';
  const shown = rel.startsWith('..') ? config.projectDir : rel;
  return ` --dir ${/[\s'"$]/.test(shown) ? JSON.stringify(shown) : shown}`;
}

/** With `AGENTRY_URL` set, `--dir` has no effect on run commands: say so on stderr. */
export function noteRemoteDir(ctx: CliContext, config: Config, dir: string | undefined): void {
  if (dir !== undefined && config.client.url !== undefined)
    ctx.stderr.write(`note: --dir is ignored: AGENTRY_URL is set, so runs are on ${maskSecrets(config.client.url)}\n`);
}

// Argument parsers: commander reports their errors as usage errors (exit 2).

export function parseIntegerArg(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return n;
  };
}

/** `--tenant <id>` of the commands that read data: a tenant id (not `system`). */
export function parseTenantArg(value: string): string {
  const problem = tenantIdProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

/**
 * `--tenant <id>`: on the project's store, only that tenant's runs, tasks, schedules and audit
 * entries (the local user reads every tenant without it); with `AGENTRY_URL`, sent as `?tenant=`.
 */
/** `--migrate` of `serve` and `start …`. */
export const MIGRATE_HELP =
  'apply pending database migrations at start (also AGENTRY_AUTO_MIGRATE=true; the default on SQLite); without it a PostgreSQL store with pending migrations is refused: run `agentry migrate up` first';

/** `--dir` of the commands that read or change a project's store (locally; a server's with AGENTRY_URL). */
export const DIR_OPTION = ['--dir <dir>', 'project directory whose store to use (default: $AGENTRY_PROJECT_DIR or .; ignored with AGENTRY_URL)'] as const;

export const TENANT_OPTION = [
  '--tenant <id>',
  "only this tenant's data (local store: narrows the view; with AGENTRY_URL: ?tenant=, for system admins)",
  parseTenantArg,
] as const;

export function parseDurationArg(value: string): number {
  const ms = parseDurationText(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('must be a duration like 500ms, 30s or 5m.');
  return ms;
}

export function parseStatusesArg(value: string): RunStatus[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.filter((s) => !(RUN_STATUSES as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `${bad.length > 0 ? `unknown status ${bad.map((b) => `'${b}'`).join(', ')}; ` : ''}use a comma-separated list of ${RUN_STATUSES.join(', ')}.`,
    );
  }
  return items as RunStatus[];
}

/** Cursors are opaque to users; this only rejects what the store could never have produced. */
export function parseCursorArg(value: string): string {
  const text = Buffer.from(value, 'base64url').toString();
  const at = text.indexOf(':');
  if (!/^[A-Za-z0-9_-]+$/.test(value) || at <= 0 || !Number.isSafeInteger(Number(text.slice(0, at)))) {
    throw new InvalidArgumentError('is not a cursor from a previous page (use the next_cursor a listing printed).');
  }
  return value;
}

/** `--input`: inline JSON, or `@file` holding JSON. */
export function readJsonInput(value: string, cwd: string): unknown {
  let text = value;
  let where = '--input';
  if (value.startsWith('@')) {
    const file = resolve(cwd, value.slice(1));
    where = `input file ${value.slice(1)}`;
    if (value.length === 1 || !existsSync(file)) throw new AgentryError('invalid_request', `${where} does not exist`);
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new AgentryError('invalid_request', `cannot read ${where}: ${(error as Error).message}`, { cause: error });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AgentryError('invalid_request', `${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** Root of this package (where `examples/` and `package.json` are), from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
    dir = dirname(dir);
  }
  throw new AgentryError('internal', 'cannot find the agentry package directory (examples/ is missing)');
}
