/**
 * What `AGENTRY_ENV=production` refuses to start with. Each check names its problem on one line
 * (and never prints a secret); in development mode the same findings are warnings, logged once
 * at startup, so a project is production-ready before it is deployed.
 */
import { isLoopback } from '../lib/address-list.js';
import type { Logger } from 'pino';
import type { EgressRuleSet } from '../lib/egress.js';
import { AgentryError } from '../lib/errors.js';
import { MIN_INTERNAL_SECRET_BYTES, secretBytes } from '../gateway/internal-token.js';
import type { Config } from './config.js';
import { scanProjectForSecrets } from './secret-literals.js';
import { scanToolServerPins } from './tool-pins.js';

/** Shortest API key production accepts (the server itself accepts 16). */
export const PRODUCTION_MIN_KEY_LENGTH = 32;

export interface StartupCheckOptions {
  /** The process listens for HTTP (`serve`, `start api|gateway`): bind and auth are checked. */
  listens: boolean;
  /**
   * The process serves the LLM gateway's routes with a gateway behind them (`start gateway`;
   * `serve` and `start api` with a gateway.yaml or `AGENTRY_GATEWAY_URL`): workers' internal
   * tokens are verified here, so the internal secret is required.
   */
  servesGateway?: boolean;
  /** The project's `egress:` as loaded (undefined: none was written). */
  egress: EgressRuleSet | undefined;
}

/** Words and forms of keys that were never meant to be used. */
function looksLikePlaceholder(key: string): boolean {
  const lower = key.toLowerCase();
  if (/change.?me|changeit|replace|placeholder|example|your.?(api.?)?key|dummy|sample|secret|password|todo|xxxx|test.?key/.test(lower)) return true;
  if (/^<.*>$|^\$\{|^\{\{/.test(key)) return true;
  return new Set(lower).size < 8;
}

function apiKeyProblems(apiKeys: string | undefined): string[] {
  const problems: string[] = [];
  (apiKeys ?? '').split(';').forEach((entry, index) => {
    const parts = entry.trim().split(':');
    if (parts.length < 3) return; // malformed: the server's own parser names it
    const name = parts[0]?.trim() ?? '';
    const key = parts[1]?.trim() ?? '';
    const label = `AGENTRY_API_KEYS entry ${index + 1} ('${name}')`;
    if (key.length < PRODUCTION_MIN_KEY_LENGTH) problems.push(`${label}: the key is shorter than ${PRODUCTION_MIN_KEY_LENGTH} characters`);
    else if (looksLikePlaceholder(key)) problems.push(`${label}: the key looks like a placeholder; generate one (openssl rand -hex 32)`);
  });
  return problems;
}

/** DEP-09: the break-glass key (`AGENTRY_ADMIN_API_KEY`) is held to the rules of the other keys. Never prints it. */
function adminKeyProblem(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length < PRODUCTION_MIN_KEY_LENGTH) return `AGENTRY_ADMIN_API_KEY is shorter than ${PRODUCTION_MIN_KEY_LENGTH} characters`;
  if (looksLikePlaceholder(key)) return 'AGENTRY_ADMIN_API_KEY looks like a placeholder; generate one (openssl rand -hex 32)';
  return undefined;
}

/** Passwords a database ships with or a guide suggests: never a production password. */
const DEFAULT_DB_PASSWORDS = new Set(['postgres', 'admin', 'root', 'agentry', 'pass', 'pgpass']);

/** The password of a PostgreSQL URL (in its user info or `?password=`), undefined when it has none. */
function databasePassword(url: string): { user: string; password: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the store's own parser names a malformed URL
  }
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : (parsed.searchParams.get('password') ?? '');
  return password === '' ? undefined : { user: decodeURIComponent(parsed.username), password };
}

/** DEP-09: a PostgreSQL password that was never meant to be used. Never prints it. */
function databasePasswordProblem(config: Config): string | undefined {
  if (config.database.kind !== 'postgres') return undefined;
  const credentials = databasePassword(config.databaseUrl);
  if (credentials === undefined) return undefined;
  const { user, password } = credentials;
  const lower = password.toLowerCase();
  if (DEFAULT_DB_PASSWORDS.has(lower) || lower === user.toLowerCase() || looksLikePlaceholder(password)) {
    return 'AGENTRY_DATABASE_URL: the database password looks like a placeholder or a default; set a generated one (openssl rand -hex 32)';
  }
  return undefined;
}

/**
 * DEP-09: the key a process may send to a remote gateway (`AGENTRY_GATEWAY_URL`), when given.
 * Without it no finding: production calls the gateway with internal tokens (`internalSecretProblems`).
 * Never prints it.
 */
function gatewayKeyProblem(config: Config): string | undefined {
  if (config.gateway === undefined) return undefined;
  const key = config.gateway.apiKey ?? '';
  if (key === '') return undefined;
  if (key.length < PRODUCTION_MIN_KEY_LENGTH) return `AGENTRY_GATEWAY_API_KEY is shorter than ${PRODUCTION_MIN_KEY_LENGTH} characters`;
  if (looksLikePlaceholder(key)) return 'AGENTRY_GATEWAY_API_KEY looks like a placeholder; generate one (openssl rand -hex 32)';
  return undefined;
}

/** A secret that is too short or a placeholder, named by its variable; never printed. */
function weakSecretProblem(name: string, secret: string): string | undefined {
  if (secretBytes(secret) < MIN_INTERNAL_SECRET_BYTES) return `${name} is shorter than ${MIN_INTERNAL_SECRET_BYTES} bytes; generate one (openssl rand -hex 32)`;
  if (looksLikePlaceholder(secret)) return `${name} looks like a placeholder; generate one (openssl rand -hex 32)`;
  return undefined;
}

/**
 * AUTH-15/18: the internal secret of a process that calls a remote gateway or serves one. Without
 * it, workers would sign in to the gateway with an API key — in a multi-tenant deployment a system
 * admin's. A secret that is set is held to the rules whether or not this process needs it.
 */
function internalSecretProblems(config: Config, options: StartupCheckOptions): string[] {
  const { secret, previousSecret } = config.internal;
  const problems: string[] = [];
  if (secret === undefined) {
    if (config.gateway !== undefined) {
      problems.push(
        'AGENTRY_GATEWAY_URL is set but AGENTRY_INTERNAL_SECRET is not: calls to the gateway would need an API key (in a multi-tenant deployment a system admin key); set the same AGENTRY_INTERNAL_SECRET (openssl rand -hex 32) on every process',
      );
    } else if (options.servesGateway === true) {
      problems.push(
        'this process serves the LLM gateway but AGENTRY_INTERNAL_SECRET is not set: workers could not sign in without an API key; set the same AGENTRY_INTERNAL_SECRET (openssl rand -hex 32) on every process',
      );
    }
  }
  for (const [name, value] of [
    ['AGENTRY_INTERNAL_SECRET', secret],
    ['AGENTRY_INTERNAL_SECRET_PREVIOUS', previousSecret],
  ] as const) {
    const problem = value === undefined ? undefined : weakSecretProblem(name, value);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

/**
 * The keys and secrets that are too short or look like placeholders — bootstrap API keys, the
 * break-glass key, the gateway key, the internal secrets — each as `startupProblems` words it
 * (`agentry doctor`'s `keys` check). Never prints a key.
 */
export function keyStrengthProblems(config: Config): string[] {
  const problems = apiKeyProblems(config.server.apiKeys);
  for (const problem of [adminKeyProblem(config.server.adminApiKey), gatewayKeyProblem(config)]) if (problem !== undefined) problems.push(problem);
  for (const [name, value] of [
    ['AGENTRY_INTERNAL_SECRET', config.internal.secret],
    ['AGENTRY_INTERNAL_SECRET_PREVIOUS', config.internal.previousSecret],
  ] as const) {
    const problem = value === undefined ? undefined : weakSecretProblem(name, value);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

/** Every problem production mode refuses, one line each (empty: safe to start). */
export function startupProblems(config: Config, options: StartupCheckOptions): string[] {
  const problems: string[] = [];
  if (options.listens) {
    if (!config.server.auth) problems.push('auth is off (--no-auth / AGENTRY_AUTH=off); production needs API keys');
    // No bootstrap key is no finding: managed keys in the database or an OIDC issuer may sign
    // people in, and a server with no way at all refuses to start (`server/auth.ts` assertCanSignIn).
    else problems.push(...apiKeyProblems(config.server.apiKeys));
    const adminKey = adminKeyProblem(config.server.adminApiKey);
    if (adminKey !== undefined) problems.push(adminKey);
    if (!isLoopback(config.server.host) && config.server.trustedProxies.length === 0 && config.server.tls === undefined) {
      problems.push(
        `the server binds ${config.server.host}, not loopback, and AGENTRY_TRUSTED_PROXIES names no proxy; put a TLS reverse proxy in front and list it there, serve TLS yourself (AGENTRY_TLS_CERT/AGENTRY_TLS_KEY), or bind 127.0.0.1`,
      );
    }
  }
  problems.push(...scanProjectForSecrets(config.projectDir));
  problems.push(...scanToolServerPins(config.projectDir));
  for (const problem of [databasePasswordProblem(config), gatewayKeyProblem(config)]) if (problem !== undefined) problems.push(problem);
  problems.push(...internalSecretProblems(config, options));
  if (config.database.kind === 'sqlite' && config.database.file === ':memory:') {
    problems.push('the store is in-memory SQLite (sqlite::memory:): every run is lost when the process stops; use a file or PostgreSQL');
  }
  if (options.egress === undefined) {
    problems.push('egress has no policy: add egress: { allow: [...], deny: [...] } to agentry.yaml (docs/security.md#egress-policy)');
  }
  return problems;
}

/**
 * What production mode warns of but starts with, one line each: specs that need not come from
 * a signed bundle (`--require-signed-specs` turns this into a refusal of anything else at
 * load). Empty in development.
 */
export function startupWarnings(config: Config): string[] {
  if (config.env !== 'production' || config.specs.requireSigned) return [];
  return [
    'specs are not required to come from a signed bundle: anyone who can change the project directory changes what runs; build, sign and serve a bundle with --require-signed-specs (docs/security.md#signed-spec-bundles)',
  ];
}

/**
 * Production: throws `unsafe_configuration` (exit 2) listing every problem, and logs its
 * warnings. Development: logs each problem as a warning, once.
 */
export function checkStartup(config: Config, options: StartupCheckOptions, logger: Logger): void {
  for (const warning of startupWarnings(config)) logger.warn({ check: 'production' }, warning);
  const problems = startupProblems(config, options);
  if (problems.length === 0) return;
  if (config.env === 'production') {
    const list = problems.map((p) => `\n  - ${p}`).join('');
    throw new AgentryError(
      'unsafe_configuration',
      `refusing to start in production mode (${problems.length} problem${problems.length === 1 ? '' : 's'}):${list}`,
      {
        details: { problems },
      },
    );
  }
  for (const problem of problems) logger.warn({ check: 'production' }, `not production-ready: ${problem}`);
}
