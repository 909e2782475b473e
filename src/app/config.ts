/**
 * Configuration: raw input (CLI flags, then `AGENTRY_*` environment variables, then the
 * project's `agentry.yaml` with the profile named by `AGENTRY_PROFILE` merged over it, then
 * defaults) → one schema validation that reports every problem at once → a frozen `Config`
 * that is passed explicitly (there is no global singleton).
 *
 * `CONFIG_OPTIONS` is the one place each option documents its flag, variable, `agentry.yaml`
 * key and default; `docs/configuration.md` embeds `configTableMarkdown()` (a test checks it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_ENGINE_SETTINGS, type EngineSettings } from '../engine/engine.js';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import { DEFAULT_EXECUTOR_SETTINGS } from '../runtime/registry.js';
import type { ExecutorSettings } from '../runtime/types.js';
import { maskSecrets } from '../lib/redact.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../store/open.js';
import { POSTGRES_DEFAULTS, type PostgresOptions } from '../store/postgres.js';
import { LOG_LEVELS, type LogLevel } from '../obs/logger.js';


type ValueKind = 'string' | 'integer' | 'boolean' | 'duration';

interface OptionSpec {
  kind: ValueKind;
  env: string;
  /** CLI flag of the commands that take it (not every command has every flag). */
  flag?: string;
  /** Dotted key in `agentry.yaml` (also valid under `profiles.<name>.`). */
  yaml?: string;
  default: string | number | boolean | undefined;
  /** The default as the docs show it. */
  defaultText: string;
  description: string;
  secret?: boolean;
}

// Defaults of engine and executor settings are theirs; this table only documents them.
const ENGINE = DEFAULT_ENGINE_SETTINGS;
const HTTP = DEFAULT_EXECUTOR_SETTINGS.http;

function defaultOf(value: number | boolean, unit?: 'ms'): { default: number | boolean; defaultText: string } {
  return { default: value, defaultText: `\`${unit === 'ms' && typeof value === 'number' ? formatMs(value) : String(value)}\`` };
}

export const CONFIG_OPTIONS = {
  projectDir: {
    kind: 'string', env: 'AGENTRY_PROJECT_DIR', flag: '--dir <dir>', default: '.', defaultText: '`.`',
    description: 'Project directory (holds `agentry.yaml` and `workflows/`).',
  },
  profile: {
    kind: 'string', env: 'AGENTRY_PROFILE', default: undefined, defaultText: 'none',
    description: 'Profile of `agentry.yaml` merged over its top-level settings.',
  },
  databaseUrl: {
    kind: 'string', env: 'AGENTRY_DATABASE_URL', default: undefined, defaultText: '`sqlite:<projectDir>/.agentry/agentry.db`',
    description: 'Store: `sqlite:<file>` (one host) or `postgres://user:pass@host:5432/db` (many processes and hosts).', secret: true,
  },
  dbPoolSize: {
    kind: 'integer', env: 'AGENTRY_DB_POOL_SIZE', default: POSTGRES_DEFAULTS.poolSize, defaultText: `\`${POSTGRES_DEFAULTS.poolSize}\``,
    description: 'PostgreSQL: connections this process keeps at most (overrides `?pool_size=`).',
  },
  dbStatementTimeout: {
    kind: 'duration', env: 'AGENTRY_DB_STATEMENT_TIMEOUT', ...defaultOf(POSTGRES_DEFAULTS.statementTimeoutMs, 'ms'),
    description: 'PostgreSQL: statement timeout of every session (`0` for none).',
  },
  dbConnectTimeout: {
    kind: 'duration', env: 'AGENTRY_DB_CONNECT_TIMEOUT', ...defaultOf(POSTGRES_DEFAULTS.connectTimeoutMs, 'ms'),
    description: 'PostgreSQL: longest wait for a new connection.',
  },
  dbApplicationName: {
    kind: 'string', env: 'AGENTRY_DB_APPLICATION_NAME', default: POSTGRES_DEFAULTS.applicationName, defaultText: `\`${POSTGRES_DEFAULTS.applicationName}\``,
    description: 'PostgreSQL: `application_name` of the sessions (shows in `pg_stat_activity`).',
  },
  logLevel: {
    kind: 'string', env: 'AGENTRY_LOG_LEVEL', default: 'info', defaultText: '`info`',
    description: `Log level of the JSON logs on stderr: ${LOG_LEVELS.join(', ')}.`,
  },
  concurrency: {
    kind: 'integer', env: 'AGENTRY_CONCURRENCY', flag: '--concurrency <n>', yaml: 'engine.concurrency', ...defaultOf(ENGINE.concurrency),
    description: 'Steps one worker process runs at once (1–1000).',
  },
  leaseTtl: {
    kind: 'duration', env: 'AGENTRY_LEASE_TTL', yaml: 'engine.lease_ttl', ...defaultOf(ENGINE.leaseTtlMs, 'ms'),
    description: 'Lease a worker holds on a running step; a hung or dead worker is noticed within it.',
  },
  pollInterval: {
    kind: 'duration', env: 'AGENTRY_POLL_INTERVAL', yaml: 'engine.poll_interval', ...defaultOf(ENGINE.pollIntervalMs, 'ms'),
    description: 'Longest an idle worker waits before looking for due work; also the sweep interval.',
  },
  shutdownGrace: {
    kind: 'duration', env: 'AGENTRY_SHUTDOWN_GRACE', ...defaultOf(ENGINE.shutdownGraceMs, 'ms'),
    description: 'On SIGTERM/SIGINT, how long running steps may finish before they are aborted.',
  },
  httpAllowLinkLocal: {
    kind: 'boolean', env: 'AGENTRY_HTTP_ALLOW_LINK_LOCAL', yaml: 'http.allow_link_local', ...defaultOf(HTTP.allowLinkLocal),
    description: '`http` steps may call link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10).',
  },
  httpDefaultTimeout: {
    kind: 'duration', env: 'AGENTRY_HTTP_DEFAULT_TIMEOUT', yaml: 'http.default_timeout', ...defaultOf(HTTP.defaultTimeoutMs, 'ms'),
    description: 'Timeout of an `http` step that sets none.',
  },
  httpMaxResponseBytes: {
    kind: 'integer', env: 'AGENTRY_HTTP_MAX_RESPONSE_BYTES', yaml: 'http.max_response_bytes', ...defaultOf(HTTP.maxResponseBytes),
    description: 'Largest response body an `http` step reads (`max_response_bytes` on a step overrides it).',
  },
  host: {
    kind: 'string', env: 'AGENTRY_HOST', flag: '--host <host>', default: '127.0.0.1', defaultText: '`127.0.0.1`',
    description: 'Address `serve` binds (the container image sets `0.0.0.0`).',
  },
  port: {
    kind: 'integer', env: 'AGENTRY_PORT', flag: '--port <port>', default: 7700, defaultText: '`7700`',
    description: 'Port `serve` listens on (0 picks a free one).',
  },
  auth: {
    kind: 'boolean', env: 'AGENTRY_AUTH', flag: '--no-auth', default: true, defaultText: '`true`',
    description: 'API-key authentication. Off only on a loopback host, and the server says so loudly.',
  },
  apiKeys: {
    kind: 'string', env: 'AGENTRY_API_KEYS', default: undefined, defaultText: 'none',
    description: 'API keys: `name:key:role[,role];…` (roles admin, operator, service, reviewer, viewer, or scopes; keys of 16+ characters).',
    secret: true,
  },
  maxBodyBytes: {
    kind: 'integer', env: 'AGENTRY_MAX_BODY_BYTES', default: 1024 * 1024, defaultText: '`1048576` (1 MiB)',
    description: 'Largest request body the API accepts (413 `payload_too_large` above).',
  },
  maxWait: {
    kind: 'duration', env: 'AGENTRY_MAX_WAIT', default: 120_000, defaultText: '`2m`',
    description: 'Longest `?wait=` a start-run request may block.',
  },
  sseHeartbeat: {
    kind: 'duration', env: 'AGENTRY_SSE_HEARTBEAT', default: 15_000, defaultText: '`15s`',
    description: 'Interval of keep-alive comments on event streams.',
  },
  gatewayUrl: {
    kind: 'string', env: 'AGENTRY_GATEWAY_URL', default: undefined, defaultText: 'none (the gateway runs in-process)',
    description: 'Workers call the LLM gateway at this URL (`agentry start gateway`) and hold no provider keys.',
  },
  gatewayApiKey: {
    kind: 'string', env: 'AGENTRY_GATEWAY_API_KEY', default: undefined, defaultText: 'none',
    description: 'The API key workers send to `AGENTRY_GATEWAY_URL` (a key with the `gateway:use` scope).', secret: true,
  },
  url: {
    kind: 'string', env: 'AGENTRY_URL', default: undefined, defaultText: 'none',
    description: 'When set, `agentry run` and `agentry runs …` talk to this server instead of opening the store.',
  },
  apiKey: {
    kind: 'string', env: 'AGENTRY_API_KEY', default: undefined, defaultText: 'none',
    description: 'The key the CLI sends to `AGENTRY_URL`.', secret: true,
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof CONFIG_OPTIONS;
export type ConfigSource = 'flag' | 'env' | 'profile' | 'agentry.yaml' | 'default';
/** Values given on the command line, by option (strings as typed, or already parsed). */
export type ConfigFlags = Partial<Record<OptionKey, string | number | boolean | undefined>>;

const ConfigSchema = Type.Object({
  projectDir: Type.String({ minLength: 1 }),
  profile: Type.Union([Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }), Type.Null()]),
  databaseUrl: Type.String({ minLength: 1 }),
  dbPoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
  dbStatementTimeout: Type.Integer({ minimum: 0 }),
  dbConnectTimeout: Type.Integer({ minimum: 1 }),
  dbApplicationName: Type.String({ minLength: 1, maxLength: 63 }),
  logLevel: Type.Enum([...LOG_LEVELS]),
  concurrency: Type.Integer({ minimum: 1, maximum: 1000 }),
  leaseTtl: Type.Integer({ minimum: 1000 }),
  pollInterval: Type.Integer({ minimum: 10, maximum: 3_600_000 }),
  shutdownGrace: Type.Integer({ minimum: 0 }),
  httpAllowLinkLocal: Type.Boolean(),
  httpDefaultTimeout: Type.Integer({ minimum: 1 }),
  httpMaxResponseBytes: Type.Integer({ minimum: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  auth: Type.Boolean(),
  apiKeys: Type.Optional(Type.String()),
  maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
  maxWait: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  sseHeartbeat: Type.Integer({ minimum: 100 }),
  gatewayUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  gatewayApiKey: Type.Optional(Type.String({ minLength: 1 })),
  url: Type.Optional(Type.String({ pattern: '^https?://' })),
  apiKey: Type.Optional(Type.String({ minLength: 1 })),
});
type Resolved = Static<typeof ConfigSchema>;
const validateResolved = new Ajv({ allErrors: true, strict: false }).compile<Resolved>(ConfigSchema);

export interface Config {
  /** Absolute project directory. */
  readonly projectDir: string;
  readonly profile: string | null;
  /** As given; may hold a password, print it with `maskSecrets`. */
  readonly databaseUrl: string;
  readonly database:
    | { readonly kind: 'sqlite'; readonly file: string }
    | { readonly kind: 'postgres'; readonly file?: undefined; readonly options: Readonly<PostgresOptions> };
  readonly logLevel: LogLevel;
  readonly engine: Readonly<EngineSettings>;
  readonly http: Readonly<ExecutorSettings['http']>;
  /** What `serve` (and `start api`) listen with. */
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly auth: boolean;
    /** Raw `name:key:role` list; parse with the server's `authSettings`. */
    readonly apiKeys: string | undefined;
    readonly maxBodyBytes: number;
    readonly maxWaitMs: number;
    readonly sseHeartbeatMs: number;
  };
  /** A remote LLM gateway; undefined when the gateway runs in this process. */
  readonly gateway: { readonly url: string; readonly apiKey: string | undefined } | undefined;
  /** The server the CLI talks to instead of the store, when set. */
  readonly client: { readonly url: string | undefined; readonly apiKey: string | undefined };
  /** Where each option's value came from. */
  readonly sources: Readonly<Record<OptionKey, ConfigSource>>;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against (default `process.cwd()`). */
  cwd?: string;
}

interface Candidate {
  value: unknown;
  source: ConfigSource;
  /** How the user wrote it, for messages: `AGENTRY_CONCURRENCY`, `agentry.yaml engine.concurrency`. */
  origin: string;
}

/** Resolves and validates the configuration; throws `invalid_request` listing every problem. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const { flags = {}, env = process.env, cwd = process.cwd() } = options;
  const problems: string[] = [];
  const pick = (key: OptionKey, yaml: YamlLayers): Candidate => {
    const spec: OptionSpec = CONFIG_OPTIONS[key];
    const flag = flags[key];
    if (flag !== undefined) return { value: flag, source: 'flag', origin: spec.flag?.split(' ')[0] ?? key };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'env', origin: spec.env };
    if (spec.yaml !== undefined) {
      const fromProfile = yaml.profile === undefined ? undefined : getPath(yaml.profile, spec.yaml);
      if (fromProfile !== undefined) return { value: fromProfile, source: 'profile', origin: `agentry.yaml profiles.${yaml.profileName}.${spec.yaml}` };
      const fromBase = getPath(yaml.base, spec.yaml);
      if (fromBase !== undefined) return { value: fromBase, source: 'agentry.yaml', origin: `agentry.yaml ${spec.yaml}` };
    }
    return { value: spec.default, source: 'default', origin: `default of ${key}` };
  };

  const dirCandidate = pick('projectDir', { base: {} });
  const projectDir = resolve(cwd, typeof dirCandidate.value === 'string' ? dirCandidate.value : '.');
  const profileCandidate = pick('profile', { base: {} });
  const profileName = typeof profileCandidate.value === 'string' ? profileCandidate.value : undefined;
  const yaml = readProjectYaml(projectDir, profileName, problems);

  const raw: Record<string, unknown> = {};
  const origins = {} as Record<OptionKey, Candidate>;
  for (const key of Object.keys(CONFIG_OPTIONS) as OptionKey[]) {
    const candidate = key === 'projectDir' ? dirCandidate : key === 'profile' ? profileCandidate : pick(key, yaml);
    origins[key] = candidate;
    const coerced = coerce(CONFIG_OPTIONS[key].kind, candidate.value);
    if (coerced.error !== undefined) problems.push(`${describe(key, candidate)}: ${coerced.error}`);
    raw[key] = coerced.value;
  }
  raw.projectDir = projectDir;
  raw.profile = profileName ?? null;
  raw.databaseUrl ??= `sqlite:${join(projectDir, '.agentry', 'agentry.db')}`;

  if (!validateResolved(raw)) {
    for (const error of validateResolved.errors ?? []) {
      const key = error.instancePath.slice(1) as OptionKey;
      const candidate = origins[key];
      if (candidate === undefined || problems.some((p) => p.startsWith(describe(key, candidate)))) continue;
      const allowed = error.keyword === 'enum' ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
      problems.push(`${describe(key, candidate)}: ${error.message ?? 'is invalid'}${allowed}`);
    }
  }
  const database = typeof raw.databaseUrl === 'string' ? databaseOf(raw as Resolved, cwd, problems, origins.databaseUrl) : undefined;
  if (problems.length > 0 || database === undefined) {
    const list = problems.map((p) => `\n  - ${p}`).join('');
    throw new AgentryError('invalid_request', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):${list}`, {
      details: { problems },
    });
  }
  const r = raw as Resolved;
  const sources = Object.fromEntries(Object.entries(origins).map(([k, c]) => [k, c.source])) as Record<OptionKey, ConfigSource>;
  return deepFreeze({
    projectDir,
    profile: r.profile,
    databaseUrl: r.databaseUrl,
    database,
    logLevel: r.logLevel,
    engine: { concurrency: r.concurrency, leaseTtlMs: r.leaseTtl, pollIntervalMs: r.pollInterval, shutdownGraceMs: r.shutdownGrace },
    http: { allowLinkLocal: r.httpAllowLinkLocal, defaultTimeoutMs: r.httpDefaultTimeout, maxResponseBytes: r.httpMaxResponseBytes },
    server: {
      host: r.host,
      port: r.port,
      auth: r.auth,
      apiKeys: r.apiKeys,
      maxBodyBytes: r.maxBodyBytes,
      maxWaitMs: r.maxWait,
      sseHeartbeatMs: r.sseHeartbeat,
    },
    gateway: r.gatewayUrl === undefined ? undefined : { url: r.gatewayUrl.replace(/\/+$/, ''), apiKey: r.gatewayApiKey },
    client: { url: r.url?.replace(/\/+$/, ''), apiKey: r.apiKey },
    sources,
  });
}

interface YamlLayers {
  base: unknown;
  profile?: unknown;
  profileName?: string;
}

function readProjectYaml(projectDir: string, profileName: string | undefined, problems: string[]): YamlLayers {
  const file = join(projectDir, 'agentry.yaml');
  if (!existsSync(file)) {
    if (profileName !== undefined) problems.push(`AGENTRY_PROFILE: profile '${profileName}' is set but ${file} does not exist`);
    return { base: {} };
  }
  let base: unknown;
  try {
    base = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    problems.push(`agentry.yaml: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (run \`agentry validate\`)`);
    return { base: {} };
  }
  if (profileName === undefined) return { base };
  const profiles = getPath(base, 'profiles');
  const profile = getPath(profiles, profileName);
  if (profile === undefined) {
    const known = isRecord(profiles) ? Object.keys(profiles) : [];
    problems.push(`AGENTRY_PROFILE: profile '${profileName}' is not in agentry.yaml (profiles: ${known.length > 0 ? known.join(', ') : 'none'})`);
  }
  return { base, profile, profileName };
}

function databaseOf(r: Resolved, cwd: string, problems: string[], origin: Candidate): Config['database'] | undefined {
  let location: DatabaseLocation;
  try {
    location = parseDatabaseUrl(r.databaseUrl, cwd);
  } catch (error) {
    problems.push(`${describe('databaseUrl', origin)}: ${toAgentryError(error).message}`);
    return undefined;
  }
  if (location.kind === 'sqlite') return location;
  return {
    kind: 'postgres',
    options: {
      poolSize: r.dbPoolSize,
      statementTimeoutMs: r.dbStatementTimeout,
      connectTimeoutMs: r.dbConnectTimeout,
      applicationName: r.dbApplicationName,
    },
  };
}

/** Milliseconds of `500ms`, `2s`, `1m`, `1h30m`, `1d` or a whole number of milliseconds; undefined otherwise. */
export function parseDurationText(text: string): number | undefined {
  const trimmed = text.trim();
  try {
    return parseDuration(/^\d+$/.test(trimmed) ? Number(trimmed) : trimmed);
  } catch {
    return undefined;
  }
}

function coerce(kind: ValueKind, value: unknown): { value: unknown; error?: string } {
  if (value === undefined || typeof value !== 'string') {
    if (kind === 'duration' && typeof value === 'number' && !Number.isSafeInteger(value)) return { value, error: 'must be a duration like 500ms, 2s or 1m' };
    return { value };
  }
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(value.trim()) ? { value: Number(value) } : { value, error: `must be a whole number, got '${value}'` };
    case 'boolean': {
      const lower = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(lower)) return { value: false };
      return { value, error: `must be true or false, got '${value}'` };
    }
    case 'duration': {
      const ms = parseDurationText(value);
      return ms === undefined ? { value, error: `must be a duration like 500ms, 2s or 1m, got '${value}'` } : { value: ms };
    }
    default:
      return { value };
  }
}

function describe(key: OptionKey, candidate: Candidate): string {
  return candidate.source === 'default' ? key : candidate.origin;
}

function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (!isRecord(current)) return undefined;
    current = current[part];
  }
  return current ?? undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}


/** The resolved configuration as printable rows (secrets masked). */
export function describeConfig(config: Config): { key: OptionKey; env: string; value: string | number | boolean | null; source: ConfigSource }[] {
  const values: Record<OptionKey, string | number | boolean | null> = {
    projectDir: config.projectDir,
    profile: config.profile,
    databaseUrl: maskSecrets(config.databaseUrl),
    dbPoolSize: config.database.kind === 'postgres' ? (config.database.options.poolSize ?? null) : null,
    dbStatementTimeout: config.database.kind === 'postgres' ? formatMs(config.database.options.statementTimeoutMs ?? 0) : null,
    dbConnectTimeout: config.database.kind === 'postgres' ? formatMs(config.database.options.connectTimeoutMs ?? 0) : null,
    dbApplicationName: config.database.kind === 'postgres' ? (config.database.options.applicationName ?? null) : null,
    logLevel: config.logLevel,
    concurrency: config.engine.concurrency,
    leaseTtl: formatMs(config.engine.leaseTtlMs),
    pollInterval: formatMs(config.engine.pollIntervalMs),
    shutdownGrace: formatMs(config.engine.shutdownGraceMs),
    httpAllowLinkLocal: config.http.allowLinkLocal,
    httpDefaultTimeout: formatMs(config.http.defaultTimeoutMs),
    httpMaxResponseBytes: config.http.maxResponseBytes,
    host: config.server.host,
    port: config.server.port,
    auth: config.server.auth,
    apiKeys: describeApiKeys(config.server.apiKeys),
    maxBodyBytes: config.server.maxBodyBytes,
    maxWait: formatMs(config.server.maxWaitMs),
    sseHeartbeat: formatMs(config.server.sseHeartbeatMs),
    gatewayUrl: config.gateway?.url ?? null,
    gatewayApiKey: config.gateway?.apiKey === undefined ? null : '***',
    url: config.client.url ?? null,
    apiKey: config.client.apiKey === undefined ? null : '***',
  };
  return (Object.keys(CONFIG_OPTIONS) as OptionKey[]).map((key) => ({
    key,
    env: CONFIG_OPTIONS[key].env,
    value: values[key],
    source: config.sources[key],
  }));
}

/** `name:role` of each configured key; the keys themselves never. */
function describeApiKeys(list: string | undefined): string | null {
  if (list === undefined || list.trim() === '') return null;
  return list
    .split(';')
    .map((entry) => entry.split(':').map((part) => part.trim()))
    .filter((parts) => parts.length >= 3)
    .map((parts) => `${parts[0]}:${parts.slice(2).join(':')}`)
    .join('; ');
}

function formatMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The options table of `docs/configuration.md`. */
export function configTableMarkdown(): string {
  const rows = (Object.entries(CONFIG_OPTIONS) as [OptionKey, OptionSpec][]).map(([key, o]) => {
    const cells = [`\`${key}\``, `\`${o.env}\``, o.flag ? `\`${o.flag}\`` : '', o.yaml ? `\`${o.yaml}\`` : '', o.defaultText, o.description];
    return `| ${cells.join(' | ')} |`;
  });
  return ['| Option | Environment variable | Flag | `agentry.yaml` key | Default | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
