/**
 * Configuration: raw input (CLI flags, then `AGENTRY_*` environment variables, then the
 * project's `agentry.yaml` with the profile named by `AGENTRY_PROFILE` merged over it, then
 * defaults) → one schema validation that reports every problem at once → a frozen `Config`
 * that is passed explicitly (there is no global singleton).
 *
 * `CONFIG_OPTIONS` (config-options.ts) is the one place each option documents its flag,
 * variable, `agentry.yaml` key and default; `config-describe.ts` prints a resolved config.
 * The steps of `loadConfig` have their own modules: `config-sources.ts` picks each option's
 * raw value, `config-values.ts` coerces and parses it, `config-schema.ts` validates them all.
 */
import { join, resolve } from 'node:path';
import type { EngineSettings } from '../engine/engine-options.js';
import type { EgressMode } from '../lib/egress.js';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { tenantIdProblem } from '../lib/tenant.js';
import { parsePiiPatterns, PII_PATTERNS, type PiiPattern } from '../lib/redact.js';
import type { ArtifactLimits } from '../runtime/artifacts.js';
import type { ExecutorSettings } from '../runtime/types.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../store/database-url.js';
import type { PostgresOptions } from '../store/postgres.js';
import type { LogLevel } from '../obs/logger.js';
import type { ConfigDeprecation } from './config-deprecations.js';
import type { RunStartLimits } from './run-start.js';
import { CONFIG_OPTIONS, type ConfigFlags, type ConfigSource, type OptionKey } from './config-options.js';
import { resolvedValidator, type ReadyzDetail, type ResolvedOptions, type TenancyMode } from './config-schema.js';
import { describeOrigin, pickOption, readProjectYaml, type Candidate, type YamlLayers } from './config-sources.js';
import { addressListOf, coerce, parseOrigins, probePortOf, variableNames } from './config-values.js';

/** Sign-in with JWTs of one OIDC issuer (`AGENTRY_OIDC_*`), as configured. */
export interface OidcConfig {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly tenantClaim: string | undefined;
  readonly rolesClaim: string;
  readonly roleMap: string | undefined;
  readonly nameClaim: string;
  /** The web console's client id (undefined: the audience). */
  readonly consoleClientId: string | undefined;
  /** The scopes the web console asks for (space-separated). */
  readonly consoleScopes: string;
}

/** The deployment's retention windows in ms (undefined: kept for ever). */
export interface RetentionSettings {
  readonly succeededMs: number | undefined;
  readonly failedMs: number | undefined;
  readonly cancelledMs: number | undefined;
  readonly eventsMs: number | undefined;
  /** Agents' conversation memory messages, by when they were written. */
  readonly memoryMs: number | undefined;
  readonly idempotencyKeysMs: number | undefined;
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
  /** `AGENTRY_ENVIRONMENT`: the environment of `agentry.yaml` to activate; undefined: the one named like `env`, if declared. */
  readonly environment: string | undefined;
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
  /** Apply pending migrations when the store is opened (`AGENTRY_AUTO_MIGRATE`, `--migrate`; default: on for SQLite, off for PostgreSQL). */
  readonly autoMigrate: boolean;
  readonly logLevel: LogLevel;
  readonly engine: Readonly<EngineSettings>;
  readonly http: Readonly<ExecutorSettings['http']>;
  /** `AGENTRY_MAX_ARTIFACT_BYTES` and `AGENTRY_MAX_ARTIFACT_BYTES_PER_RUN`: the size limits of runs' artifacts. */
  readonly artifacts: Readonly<ArtifactLimits>;
  /** What `serve` (and `start api`) listen with. */
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** Absolute paths of the PEM certificate and key every listener serves HTTPS with (`AGENTRY_TLS_CERT`/`_KEY`); undefined: plain HTTP. */
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
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
    /** What a run start may carry (`AGENTRY_MAX_INLINE_SPEC_BYTES`, `_OVERRIDES_BYTES`, `_METADATA_BYTES`). */
    readonly runStart: RunStartLimits;
    readonly sseHeartbeatMs: number;
    /** Recent log lines the server keeps for `GET /v1/admin/logs` (`AGENTRY_LOG_BUFFER`); 0: none. */
    readonly logBufferLines: number;
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
  /** How long ended runs, their events and idempotency keys are kept (`AGENTRY_RETENTION_*`, `AGENTRY_IDEMPOTENCY_KEY_TTL`); undefined: for ever. */
  readonly retention: RetentionSettings;
  /** Absolute path of the directory backups are kept in (`AGENTRY_BACKUP_DIR`, `--backup-dir`); undefined: not configured. */
  readonly backup: { readonly dir: string | undefined };
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
  /** Deprecated variable names that were set (each logged as `config.deprecated` by the process that starts). */
  readonly deprecations: readonly ConfigDeprecation[];
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against (default `process.cwd()`). */
  cwd?: string;
}

/** Resolves and validates the configuration; throws `invalid_request` listing every problem. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const { flags = {}, env = process.env, cwd = process.cwd() } = options;
  const problems: string[] = [];
  const pick = (key: OptionKey, yaml: YamlLayers): Candidate => pickOption(key, { flags, env }, yaml, problems);

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
    if (coerced.error !== undefined) problems.push(`${describeOrigin(key, candidate)}: ${coerced.error}`);
    raw[key] = coerced.value;
  }
  raw.projectDir = projectDir;
  raw.profile = profileName ?? null;
  raw.databaseUrl ??= `sqlite:${join(projectDir, '.agentry', 'agentry.db')}`;

  const validateResolved = resolvedValidator();
  if (!validateResolved(raw)) {
    for (const error of validateResolved.errors ?? []) {
      const key = error.instancePath.slice(1) as OptionKey;
      const candidate = origins[key];
      if (candidate === undefined || problems.some((p) => p.startsWith(describeOrigin(key, candidate)))) continue;
      const allowed = error.keyword === 'enum' ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
      problems.push(`${describeOrigin(key, candidate)}: ${error.message ?? 'is invalid'}${allowed}`);
    }
  }
  const corsOrigins = parseOrigins(typeof raw.corsOrigins === 'string' ? raw.corsOrigins : undefined, problems);
  const trustedProxies = addressListOf(raw.trustedProxies, 'AGENTRY_TRUSTED_PROXIES', problems);
  const readyzTrusted = addressListOf(raw.readyzTrusted, 'AGENTRY_READYZ_TRUSTED', problems);
  const health = {
    providers: variableNames(raw.healthProviders, 'AGENTRY_HEALTH_PROVIDERS', problems),
    toolSecrets: variableNames(raw.healthToolSecrets, 'AGENTRY_HEALTH_TOOL_SECRETS', problems),
  };
  const database = typeof raw.databaseUrl === 'string' ? databaseOf(raw as ResolvedOptions, cwd, problems, origins.databaseUrl) : undefined;
  const tenantProblem = typeof raw.tenant === 'string' ? tenantIdProblem(raw.tenant) : undefined;
  if (tenantProblem !== undefined) problems.push(`${describeOrigin('tenant', origins.tenant)}: ${tenantProblem}`);
  const pii = parsePiiPatterns(typeof raw.redactPii === 'string' ? raw.redactPii : '');
  const probePort = probePortOf(raw.probePort);
  if (probePort === null)
    problems.push(`${describeOrigin('probePort', origins.probePort)}: must be a port from 0 to 65535 or off, got '${String(raw.probePort)}'`);
  if (raw.internalSecretPrevious !== undefined && raw.internalSecret === undefined) {
    problems.push(
      `${describeOrigin('internalSecretPrevious', origins.internalSecretPrevious)}: is set without AGENTRY_INTERNAL_SECRET (the previous secret only verifies, beside a current one)`,
    );
  } else if (raw.internalSecretPrevious !== undefined && raw.internalSecretPrevious === raw.internalSecret) {
    problems.push(
      `${describeOrigin('internalSecretPrevious', origins.internalSecretPrevious)}: is the same as AGENTRY_INTERNAL_SECRET; set the new secret as current and the old one as previous`,
    );
  }
  for (const [given, missing] of [
    ['tlsCert', 'tlsKey'],
    ['tlsKey', 'tlsCert'],
  ] as const) {
    if (raw[given] !== undefined && raw[missing] === undefined)
      problems.push(
        `${describeOrigin(given, origins[given])}: is set without ${CONFIG_OPTIONS[missing].flag.split(' ')[0]} / ${CONFIG_OPTIONS[missing].env}; native TLS needs both the certificate and its key`,
      );
  }
  if (pii.unknown.length > 0)
    problems.push(`${describeOrigin('redactPii', origins.redactPii)}: unknown pattern ${pii.unknown.join(', ')} (use ${PII_PATTERNS.join(', ')} or none)`);
  if (problems.length > 0 || database === undefined) {
    const list = problems.map((p) => `\n  - ${p}`).join('');
    throw new AgentryError('invalid_request', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):${list}`, {
      details: { problems },
    });
  }
  const r = raw as ResolvedOptions;
  const sources = Object.fromEntries(Object.entries(origins).map(([k, c]) => [k, c.source])) as Record<OptionKey, ConfigSource>;
  return deepFreeze({
    projectDir,
    profile: r.profile,
    tenant: r.tenant,
    tenancy: r.tenancy,
    env: r.env,
    environment: r.environment,
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
    autoMigrate: r.autoMigrate ?? database.kind === 'sqlite',
    logLevel: r.logLevel,
    engine: { concurrency: r.concurrency, leaseTtlMs: r.leaseTtl, pollIntervalMs: r.pollInterval, shutdownGraceMs: r.shutdownGrace },
    http: { allowLinkLocal: r.httpAllowLinkLocal, defaultTimeoutMs: r.httpDefaultTimeout, maxResponseBytes: r.httpMaxResponseBytes },
    artifacts: { maxFileBytes: r.artifactMaxBytes, maxRunBytes: r.artifactMaxRunBytes },
    server: {
      host: r.host,
      port: r.port,
      tls: r.tlsCert === undefined || r.tlsKey === undefined ? undefined : { certFile: resolve(cwd, r.tlsCert), keyFile: resolve(cwd, r.tlsKey) },
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
              consoleClientId: r.oidcConsoleClientId,
              consoleScopes: r.oidcConsoleScopes,
            },
      corsOrigins,
      maxBodyBytes: r.maxBodyBytes,
      maxWaitMs: r.maxWait,
      runStart: { inlineSpecBytes: r.maxInlineSpecBytes, overridesBytes: r.maxOverridesBytes, metadataBytes: r.maxMetadataBytes },
      sseHeartbeatMs: r.sseHeartbeat,
      logBufferLines: r.logBuffer,
      requestLogs: r.requestLogs,
      trustedProxies,
      readyzDetail: r.readyzDetail,
      readyzTrusted,
    },
    health,
    probe: { port: probePort ?? undefined },
    audit: { retentionMs: r.auditRetention },
    retention: {
      succeededMs: r.retentionSucceeded,
      failedMs: r.retentionFailed,
      cancelledMs: r.retentionCancelled,
      eventsMs: r.retentionEvents,
      memoryMs: r.retentionMemory,
      idempotencyKeysMs: r.idempotencyKeyTtl,
    },
    backup: { dir: r.backupDir === undefined ? undefined : resolve(cwd, r.backupDir) },
    telemetry: { recordArguments: r.otelRecordArguments, recordResults: r.otelRecordResults },
    redactPii: pii.patterns,
    gateway: r.gatewayUrl === undefined ? undefined : { url: r.gatewayUrl.replace(/\/+$/, ''), apiKey: r.gatewayApiKey },
    internal: { secret: r.internalSecret, previousSecret: r.internalSecretPrevious },
    client: { url: r.url?.replace(/\/+$/, ''), apiKey: r.apiKey },
    sources,
    deprecations: Object.values(origins).flatMap((c) => c.deprecated ?? []),
  });
}

function databaseOf(r: ResolvedOptions, cwd: string, problems: string[], origin: Candidate): Config['database'] | undefined {
  let location: DatabaseLocation;
  try {
    location = parseDatabaseUrl(r.databaseUrl, cwd);
  } catch (error) {
    problems.push(`${describeOrigin('databaseUrl', origin)}: ${toAgentryError(error).message}`);
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
