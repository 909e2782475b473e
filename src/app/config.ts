/**
 * Configuration: raw input (CLI flags, then `AGENTRY_*` environment variables, then the
 * project's `agentry.yaml` with the profile named by `AGENTRY_PROFILE` merged over it, then
 * defaults) → one schema validation that reports every problem at once → a frozen `Config`
 * that is passed explicitly (there is no global singleton).
 *
 * `CONFIG_OPTIONS` (config-options.ts) is the one place each option documents its flag,
 * variable, `agentry.yaml` key and default; `config-describe.ts` prints a resolved config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';
import type { EngineSettings } from '../engine/engine-options.js';
import type { EgressMode } from '../lib/egress.js';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { parseAddressList } from '../lib/address-list.js';
import { parseDurationText } from '../lib/duration.js';
import { tenantIdProblem } from '../lib/tenant.js';
import { parsePiiPatterns, PII_PATTERNS, type PiiPattern } from '../lib/redact.js';
import type { ExecutorSettings } from '../runtime/types.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../store/open.js';
import type { PostgresOptions } from '../store/postgres.js';
import { LOG_LEVELS, type LogLevel } from '../obs/logger.js';
import { secretFromEnv } from './secret-files.js';
import { CONFIG_OPTIONS, type ConfigFlags, type ConfigSource, type OptionKey, type OptionSpec, type ValueKind } from './config-options.js';

/** `AGENTRY_ENV`: production refuses an unsafe configuration (`startup-checks.ts`) and tightens egress. */
export const DEPLOY_ENVS = ['development', 'production'] as const satisfies readonly EgressMode[];

/** `AGENTRY_READYZ_DETAIL`: who sees the checks of `/readyz` (see `docs/security.md`). */
export const READYZ_DETAILS = ['internal', 'full'] as const;
export const TENANCY_MODES = ['single', 'multi'] as const;
export type TenancyMode = (typeof TENANCY_MODES)[number];
export type ReadyzDetail = (typeof READYZ_DETAILS)[number];

const ConfigSchema = Type.Object({
  projectDir: Type.String({ minLength: 1 }),
  profile: Type.Union([Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }), Type.Null()]),
  bundle: Type.Optional(Type.String({ minLength: 1 })),
  requireSignedSpecs: Type.Boolean(),
  bundleEnv: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' })),
  trustKeys: Type.Optional(Type.String()),
  env: Type.Enum([...DEPLOY_ENVS]),
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
  probePort: Type.Union([Type.String(), Type.Integer()]),
  auth: Type.Boolean(),
  apiKeys: Type.Optional(Type.String()),
  adminApiKey: Type.Optional(Type.String({ minLength: 1 })),
  tenant: Type.String({ minLength: 1 }),
  tenancy: Type.Enum([...TENANCY_MODES]),
  oidcIssuer: Type.Optional(Type.String({ minLength: 1 })),
  oidcAudience: Type.Optional(Type.String({ minLength: 1 })),
  oidcJwksUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  oidcTenantClaim: Type.Optional(Type.String({ minLength: 1 })),
  oidcRolesClaim: Type.String({ minLength: 1 }),
  oidcRoleMap: Type.Optional(Type.String()),
  oidcNameClaim: Type.String({ minLength: 1 }),
  corsOrigins: Type.Optional(Type.String()),
  requestLogs: Type.Boolean(),
  trustedProxies: Type.Optional(Type.String()),
  readyzDetail: Type.Enum([...READYZ_DETAILS]),
  readyzTrusted: Type.String(),
  healthProviders: Type.Optional(Type.String()),
  healthToolSecrets: Type.Optional(Type.String()),
  maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
  maxWait: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  sseHeartbeat: Type.Integer({ minimum: 100 }),
  auditRetention: Type.Optional(Type.Integer({ minimum: 1 })),
  otelRecordArguments: Type.Boolean(),
  otelRecordResults: Type.Boolean(),
  redactPii: Type.String(),
  gatewayUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  gatewayApiKey: Type.Optional(Type.String({ minLength: 1 })),
  internalSecret: Type.Optional(Type.String({ minLength: 1 })),
  internalSecretPrevious: Type.Optional(Type.String({ minLength: 1 })),
  url: Type.Optional(Type.String({ pattern: '^https?://' })),
  apiKey: Type.Optional(Type.String({ minLength: 1 })),
});
type Resolved = Static<typeof ConfigSchema>;
const validateResolved = new Ajv({ allErrors: true, strict: false }).compile<Resolved>(ConfigSchema);

/** Sign-in with JWTs of one OIDC issuer (`AGENTRY_OIDC_*`), as configured. */
export interface OidcConfig {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly tenantClaim: string | undefined;
  readonly rolesClaim: string;
  readonly roleMap: string | undefined;
  readonly nameClaim: string;
}

export interface Config {
  /** Absolute project directory. */
  readonly projectDir: string;
  readonly profile: string | null;
  /** The deployment's tenant (`AGENTRY_TENANT`): what acts without a tenant of its own acts in. */
  readonly tenant: string;
  /** `multi`: nothing falls back to the deployment's tenant (`AGENTRY_TENANCY`; see `authSettings`). */
  readonly tenancy: TenancyMode;
  /** `AGENTRY_ENV` / `--env`. */
  readonly env: EgressMode;
  /** Where the specs come from: the project directory, or a (signed) bundle. */
  readonly specs: {
    /** Absolute path of the bundle file, when specs load from one. */
    readonly bundle: string | undefined;
    readonly requireSigned: boolean;
    /** The environment a bundle must be signed for (`AGENTRY_BUNDLE_ENV`); undefined: any. */
    readonly env: string | undefined;
    /** Absolute paths of trusted public key PEM files. */
    readonly trustKeys: readonly string[];
  };
  /** As given; may hold a password, print it with `maskSecrets`. */
  readonly databaseUrl: string;
  readonly database:
    { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly file?: undefined; readonly options: Readonly<PostgresOptions> };
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
    /** The break-glass key (`AGENTRY_ADMIN_API_KEY`): a system admin named `admin`. */
    readonly adminApiKey: string | undefined;
    /** `AGENTRY_OIDC_*` as given, when `AGENTRY_OIDC_ISSUER` is set; checked by the server's `authSettings`. */
    readonly oidc: OidcConfig | undefined;
    /** Origins allowed cross-origin requests (CORS); empty: CORS is off. */
    readonly corsOrigins: readonly string[];
    readonly maxBodyBytes: number;
    readonly maxWaitMs: number;
    readonly sseHeartbeatMs: number;
    /** Log one `http_request` record per request (`AGENTRY_REQUEST_LOGS`). */
    readonly requestLogs: boolean;
    /** IPs/CIDRs whose `X-Forwarded-For` is believed; empty: the client is the TCP peer. */
    readonly trustedProxies: readonly string[];
    /** Who sees `/readyz`'s checks: `internal` (trusted addresses, admin/operator keys) or `full` (everyone). */
    readonly readyzDetail: ReadyzDetail;
    /** IPs/CIDRs that see `/readyz`'s checks under `internal`. */
    readonly readyzTrusted: readonly string[];
  };
  /** Variables readiness requires to be set: for the providers (`AGENTRY_HEALTH_PROVIDERS`) and the tool servers (`AGENTRY_HEALTH_TOOL_SECRETS`). */
  readonly health: { readonly providers: readonly string[]; readonly toolSecrets: readonly string[] };
  /** Where the worker, scheduler and gateway roles serve their probes and `/metrics` (`AGENTRY_PROBE_PORT`; host: `server.host`); undefined port: none. */
  readonly probe: { readonly port: number | undefined };
  /** How long audit entries are kept (`AGENTRY_AUDIT_RETENTION`); undefined: for ever. */
  readonly audit: { readonly retentionMs: number | undefined };
  /** What tool-call spans carry besides timings (`AGENTRY_OTEL_RECORD_*`); tracing itself is configured by `OTEL_*`. */
  readonly telemetry: { readonly recordArguments: boolean; readonly recordResults: boolean };
  /** Patterns masked besides known secrets (`AGENTRY_REDACT_PII`). */
  readonly redactPii: readonly PiiPattern[];
  /** A remote LLM gateway; undefined when the gateway runs in this process. */
  readonly gateway: { readonly url: string; readonly apiKey: string | undefined } | undefined;
  /**
   * The deployment's shared secret for internal service tokens (`AGENTRY_INTERNAL_SECRET`) and,
   * during a rotation, the one it replaces (verification only).
   */
  readonly internal: { readonly secret: string | undefined; readonly previousSecret: string | undefined };
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
    if (spec.secret === true) {
      const secret = secretFromEnv(env, spec.env);
      if (secret.problem !== undefined) problems.push(secret.problem);
      if (secret.value !== undefined) return { value: secret.value, source: 'env', origin: secret.fromFile ? `${spec.env}_FILE` : spec.env };
    } else {
      const fromEnv = env[spec.env];
      if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'env', origin: spec.env };
    }
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
  const corsOrigins = parseOrigins(typeof raw.corsOrigins === 'string' ? raw.corsOrigins : undefined, problems);
  const trustedProxies = addressListOf(raw.trustedProxies, 'AGENTRY_TRUSTED_PROXIES', problems);
  const readyzTrusted = addressListOf(raw.readyzTrusted, 'AGENTRY_READYZ_TRUSTED', problems);
  const health = {
    providers: variableNames(raw.healthProviders, 'AGENTRY_HEALTH_PROVIDERS', problems),
    toolSecrets: variableNames(raw.healthToolSecrets, 'AGENTRY_HEALTH_TOOL_SECRETS', problems),
  };
  const database = typeof raw.databaseUrl === 'string' ? databaseOf(raw as Resolved, cwd, problems, origins.databaseUrl) : undefined;
  const tenantProblem = typeof raw.tenant === 'string' ? tenantIdProblem(raw.tenant) : undefined;
  if (tenantProblem !== undefined) problems.push(`${describe('tenant', origins.tenant)}: ${tenantProblem}`);
  const pii = parsePiiPatterns(typeof raw.redactPii === 'string' ? raw.redactPii : '');
  const probePort = probePortOf(raw.probePort);
  if (probePort === null) problems.push(`${describe('probePort', origins.probePort)}: must be a port from 0 to 65535 or off, got '${String(raw.probePort)}'`);
  if (raw.internalSecretPrevious !== undefined && raw.internalSecret === undefined) {
    problems.push(
      `${describe('internalSecretPrevious', origins.internalSecretPrevious)}: is set without AGENTRY_INTERNAL_SECRET (the previous secret only verifies, beside a current one)`,
    );
  } else if (raw.internalSecretPrevious !== undefined && raw.internalSecretPrevious === raw.internalSecret) {
    problems.push(
      `${describe('internalSecretPrevious', origins.internalSecretPrevious)}: is the same as AGENTRY_INTERNAL_SECRET; set the new secret as current and the old one as previous`,
    );
  }
  if (pii.unknown.length > 0)
    problems.push(`${describe('redactPii', origins.redactPii)}: unknown pattern ${pii.unknown.join(', ')} (use ${PII_PATTERNS.join(', ')} or none)`);
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
    tenant: r.tenant,
    tenancy: r.tenancy,
    env: r.env,
    specs: {
      bundle: r.bundle === undefined ? undefined : resolve(cwd, r.bundle),
      requireSigned: r.requireSignedSpecs,
      env: r.bundleEnv,
      trustKeys: (r.trustKeys ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k !== '')
        .map((k) => resolve(cwd, k)),
    },
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
      adminApiKey: r.adminApiKey,
      oidc:
        r.oidcIssuer === undefined
          ? undefined
          : {
              issuer: r.oidcIssuer,
              audience: r.oidcAudience,
              jwksUrl: r.oidcJwksUrl,
              tenantClaim: r.oidcTenantClaim,
              rolesClaim: r.oidcRolesClaim,
              roleMap: r.oidcRoleMap,
              nameClaim: r.oidcNameClaim,
            },
      corsOrigins,
      maxBodyBytes: r.maxBodyBytes,
      maxWaitMs: r.maxWait,
      sseHeartbeatMs: r.sseHeartbeat,
      requestLogs: r.requestLogs,
      trustedProxies,
      readyzDetail: r.readyzDetail,
      readyzTrusted,
    },
    health,
    probe: { port: probePort ?? undefined },
    audit: { retentionMs: r.auditRetention },
    telemetry: { recordArguments: r.otelRecordArguments, recordResults: r.otelRecordResults },
    redactPii: pii.patterns,
    gateway: r.gatewayUrl === undefined ? undefined : { url: r.gatewayUrl.replace(/\/+$/, ''), apiKey: r.gatewayApiKey },
    internal: { secret: r.internalSecret, previousSecret: r.internalSecretPrevious },
    client: { url: r.url?.replace(/\/+$/, ''), apiKey: r.apiKey },
    sources,
  });
}

/** `AGENTRY_PROBE_PORT`: a port (0: any free one), undefined for `off`, null when it is neither. */
function probePortOf(value: unknown): number | undefined | null {
  const text = String(value).trim().toLowerCase();
  if (text === 'off') return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return null;
  return Number(text);
}

/**
 * `AGENTRY_CORS_ORIGINS`: comma-separated origins, each exactly as a browser sends it in
 * `Origin` (scheme, host, and port unless the default; no path, no `*`), since they are
 * compared as strings.
 */
function parseOrigins(text: string | undefined, problems: string[]): string[] {
  const origins: string[] = [];
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin === entry && /^https?:/.test(entry)) origins.push(entry);
    else problems.push(`AGENTRY_CORS_ORIGINS: '${entry}' is not an origin like https://app.example.com (scheme and host, no path, no trailing slash, no *)`);
  }
  return origins;
}

/** A comma-separated list of environment variable names. */
function variableNames(value: unknown, label: string, problems: string[]): string[] {
  const names = (typeof value === 'string' ? value : '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const name of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`${label}: '${name}' is not an environment variable name`);
  return [...new Set(names)];
}

function addressListOf(value: unknown, label: string, problems: string[]): string[] {
  const { entries, problems: bad } = parseAddressList(typeof value === 'string' ? value : undefined, label);
  problems.push(...bad);
  return entries;
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
