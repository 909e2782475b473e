/**
 * Every configuration option in one table: its flag, environment variable, `agentry.yaml`
 * key, default and description. `loadConfig` reads it, `agentry config show` prints it, and
 * `docs/configuration.md` embeds `configTableMarkdown()` (a test keeps them equal).
 */
import { DEFAULT_ENGINE_SETTINGS } from '../engine/engine-options.js';
import { LOOPBACK_CIDRS } from '../lib/address-list.js';
import { formatDuration } from '../lib/duration.js';
import { LOG_LEVELS } from '../obs/logger.js';
import { DEFAULT_EXECUTOR_SETTINGS } from '../runtime/registry.js';
import { POSTGRES_DEFAULTS } from '../store/postgres.js';

export type ValueKind = 'string' | 'integer' | 'boolean' | 'duration';

/** Port of the probes (and `/metrics`) of the roles without the API: worker, scheduler, gateway. */
export const DEFAULT_PROBE_PORT = 7702;

export interface OptionSpec {
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
  /** Also read from `<env>_FILE` (a file holding the value); checked by production mode. */
  secret?: boolean;
}

// Defaults of engine and executor settings are theirs; this table only documents them.
const ENGINE = DEFAULT_ENGINE_SETTINGS;
const HTTP = DEFAULT_EXECUTOR_SETTINGS.http;

function defaultOf(value: number | boolean, unit?: 'ms'): { default: number | boolean; defaultText: string } {
  return { default: value, defaultText: `\`${unit === 'ms' && typeof value === 'number' ? formatDuration(value) : String(value)}\`` };
}

export const CONFIG_OPTIONS = {
  projectDir: {
    kind: 'string',
    env: 'AGENTRY_PROJECT_DIR',
    flag: '--dir <dir>',
    default: '.',
    defaultText: '`.`',
    description: 'Project directory (holds `agentry.yaml` and `workflows/`).',
  },
  bundle: {
    kind: 'string',
    env: 'AGENTRY_BUNDLE',
    flag: '--bundle <file>',
    default: undefined,
    defaultText: 'none (specs are read from the project directory)',
    description:
      'Load the specs from this bundle (`agentry bundle build`) instead of the project directory; every file is checked against its manifest, and its signature against `trustKeys` when any are given (docs/security.md#signed-spec-bundles).',
  },
  requireSignedSpecs: {
    kind: 'boolean',
    env: 'AGENTRY_REQUIRE_SIGNED_SPECS',
    flag: '--require-signed-specs',
    default: false,
    defaultText: '`false`',
    description: 'Start only from a `bundle` signed by one of `trustKeys`; an unsigned, untrusted or tampered bundle is refused (`bundle_invalid`, exit 2).',
  },
  bundleEnv: {
    kind: 'string',
    env: 'AGENTRY_BUNDLE_ENV',
    flag: '--bundle-env <env>',
    default: undefined,
    defaultText: 'none (any environment)',
    description:
      'Start only from a `bundle` signed for this environment (`agentry bundle sign --env <env>`); one signed for another environment, or for none, is refused (`bundle_invalid`, reason `wrong_env`). Use it with `requireSignedSpecs`: only a signature makes the environment trustworthy.',
  },
  trustKeys: {
    kind: 'string',
    env: 'AGENTRY_TRUST_KEYS',
    flag: '--trust-key <pem>',
    default: undefined,
    defaultText: 'none',
    description: 'Public ed25519 keys (PEM files, comma-separated) whose signature on a `bundle` is trusted.',
  },
  profile: {
    kind: 'string',
    env: 'AGENTRY_PROFILE',
    default: undefined,
    defaultText: 'none',
    description: 'Profile of `agentry.yaml` merged over its top-level settings.',
  },
  env: {
    kind: 'string',
    env: 'AGENTRY_ENV',
    flag: '--env <env>',
    default: 'development',
    defaultText: '`development`',
    description:
      '`development` or `production`. Production refuses to start on an unsafe configuration, denies loopback and private egress unless allow-listed, and warns about settings unsafe there such as a `debug` log level (docs/security.md).',
  },
  databaseUrl: {
    kind: 'string',
    env: 'AGENTRY_DATABASE_URL',
    default: undefined,
    defaultText: '`sqlite:<projectDir>/.agentry/agentry.db`',
    description: 'Store: `sqlite:<file>` (one host) or `postgres://user:pass@host:5432/db` (many processes and hosts).',
    secret: true,
  },
  dbPoolSize: {
    kind: 'integer',
    env: 'AGENTRY_DB_POOL_SIZE',
    default: POSTGRES_DEFAULTS.poolSize,
    defaultText: `\`${POSTGRES_DEFAULTS.poolSize}\``,
    description: 'PostgreSQL: connections this process keeps at most (overrides `?pool_size=`).',
  },
  dbStatementTimeout: {
    kind: 'duration',
    env: 'AGENTRY_DB_STATEMENT_TIMEOUT',
    ...defaultOf(POSTGRES_DEFAULTS.statementTimeoutMs, 'ms'),
    description: 'PostgreSQL: statement timeout of every session (`0` for none).',
  },
  dbConnectTimeout: {
    kind: 'duration',
    env: 'AGENTRY_DB_CONNECT_TIMEOUT',
    ...defaultOf(POSTGRES_DEFAULTS.connectTimeoutMs, 'ms'),
    description: 'PostgreSQL: longest wait for a new connection.',
  },
  dbApplicationName: {
    kind: 'string',
    env: 'AGENTRY_DB_APPLICATION_NAME',
    default: POSTGRES_DEFAULTS.applicationName,
    defaultText: `\`${POSTGRES_DEFAULTS.applicationName}\``,
    description: 'PostgreSQL: `application_name` of the sessions (shows in `pg_stat_activity`).',
  },
  logLevel: {
    kind: 'string',
    env: 'AGENTRY_LOG_LEVEL',
    default: 'info',
    defaultText: '`info`',
    description: `Log level of the JSON logs on stderr: ${LOG_LEVELS.join(', ')}.`,
  },
  concurrency: {
    kind: 'integer',
    env: 'AGENTRY_CONCURRENCY',
    flag: '--concurrency <n>',
    yaml: 'engine.concurrency',
    ...defaultOf(ENGINE.concurrency),
    description: 'Steps one worker process runs at once (1–1000).',
  },
  leaseTtl: {
    kind: 'duration',
    env: 'AGENTRY_LEASE_TTL',
    yaml: 'engine.lease_ttl',
    ...defaultOf(ENGINE.leaseTtlMs, 'ms'),
    description: 'Lease a worker holds on a running step; a hung or dead worker is noticed within it.',
  },
  pollInterval: {
    kind: 'duration',
    env: 'AGENTRY_POLL_INTERVAL',
    yaml: 'engine.poll_interval',
    ...defaultOf(ENGINE.pollIntervalMs, 'ms'),
    description: 'Longest an idle worker waits before looking for due work; also the sweep interval.',
  },
  shutdownGrace: {
    kind: 'duration',
    env: 'AGENTRY_SHUTDOWN_GRACE',
    ...defaultOf(ENGINE.shutdownGraceMs, 'ms'),
    description: 'On SIGTERM/SIGINT, how long running steps may finish before they are aborted.',
  },
  httpAllowLinkLocal: {
    kind: 'boolean',
    env: 'AGENTRY_HTTP_ALLOW_LINK_LOCAL',
    yaml: 'http.allow_link_local',
    ...defaultOf(HTTP.allowLinkLocal),
    description: '`http` steps may call link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10).',
  },
  httpDefaultTimeout: {
    kind: 'duration',
    env: 'AGENTRY_HTTP_DEFAULT_TIMEOUT',
    yaml: 'http.default_timeout',
    ...defaultOf(HTTP.defaultTimeoutMs, 'ms'),
    description: 'Timeout of an `http` step that sets none.',
  },
  httpMaxResponseBytes: {
    kind: 'integer',
    env: 'AGENTRY_HTTP_MAX_RESPONSE_BYTES',
    yaml: 'http.max_response_bytes',
    ...defaultOf(HTTP.maxResponseBytes),
    description: 'Largest response body an `http` step reads (`max_response_bytes` on a step overrides it).',
  },
  host: {
    kind: 'string',
    env: 'AGENTRY_HOST',
    flag: '--host <host>',
    default: '127.0.0.1',
    defaultText: '`127.0.0.1`',
    description: 'Address `serve` binds (the container image sets `0.0.0.0`).',
  },
  port: {
    kind: 'integer',
    env: 'AGENTRY_PORT',
    flag: '--port <port>',
    default: 7700,
    defaultText: '`7700`',
    description: 'Port `serve` listens on (0 picks a free one).',
  },
  probePort: {
    kind: 'string',
    env: 'AGENTRY_PROBE_PORT',
    flag: '--probe-port <port>',
    default: String(DEFAULT_PROBE_PORT),
    defaultText: `\`${DEFAULT_PROBE_PORT}\``,
    description:
      'Port on which `start worker`, `start scheduler` and `start gateway` serve the probes and `/metrics` (`/livez`, `/readyz`, `/healthz`, `/metrics`), bound to `host`; `0` picks a free one (the process logs the URL), `off` serves none. `serve` and `start api` serve them on their own port.',
  },
  auth: {
    kind: 'boolean',
    env: 'AGENTRY_AUTH',
    flag: '--no-auth',
    default: true,
    defaultText: '`true`',
    description: 'API-key authentication. Off only on a loopback host, and the server says so loudly.',
  },
  apiKeys: {
    kind: 'string',
    env: 'AGENTRY_API_KEYS',
    default: undefined,
    defaultText: 'none',
    description:
      'Bootstrap API keys: `name:key:role[,role];…` (roles admin, operator, service, reviewer, viewer, or scopes; keys of 16+ characters). A grant `tenant:<id>` binds the key to that tenant; without one it acts in `tenant` (see [tenants](security.md#tenants)). Keys managed in the database (`agentry keys`) need none.',
    secret: true,
  },
  adminApiKey: {
    kind: 'string',
    env: 'AGENTRY_ADMIN_API_KEY',
    default: undefined,
    defaultText: 'none',
    description:
      'Break-glass key (16+ characters): signs in as principal `admin` with role `admin`, a system admin who may act in any tenant with `?tenant=<id>`, whether or not `AGENTRY_API_KEYS` holds it.',
    secret: true,
  },
  tenant: {
    kind: 'string',
    env: 'AGENTRY_TENANT',
    yaml: 'tenant',
    default: 'default',
    defaultText: '`default`',
    description:
      "The deployment's tenant (1–64 letters, digits or `_.@-`; not `system`): keys without a `tenant:` grant, OIDC tokens without a tenant claim, requests with auth off, the CLI's runs and schedules without `tenant:` act in it; request logs carry it as `tenant_id`.",
  },
  tenancy: {
    kind: 'string',
    env: 'AGENTRY_TENANCY',
    yaml: 'tenancy',
    default: 'single',
    defaultText: '`single`',
    description:
      "`single`: what names no tenant acts in the deployment's tenant (`tenant`). `multi`: nothing falls back to it — every `AGENTRY_API_KEYS` entry but the system admins' carries a `tenant:` grant, OIDC needs `AGENTRY_OIDC_TENANT_CLAIM`, auth must be on, and a system admin names the tenant of every tenant-scoped request (`?tenant=`; 400 otherwise). See [tenants](security.md#multi-tenant-mode).",
  },
  oidcIssuer: {
    kind: 'string',
    env: 'AGENTRY_OIDC_ISSUER',
    default: undefined,
    defaultText: 'none (OIDC sign-in off)',
    description:
      'Accept `Authorization: Bearer <JWT>` from this OIDC issuer (its `iss`, exactly; `https://`, or `http://` on a loopback host). Needs `AGENTRY_OIDC_AUDIENCE` and `AGENTRY_OIDC_ROLE_MAP`. See [security](security.md#sign-in-with-oidc).',
  },
  oidcAudience: {
    kind: 'string',
    env: 'AGENTRY_OIDC_AUDIENCE',
    default: undefined,
    defaultText: 'none',
    description: 'The `aud` a token must carry (the client id the issuer gives Agentry).',
  },
  oidcJwksUrl: {
    kind: 'string',
    env: 'AGENTRY_OIDC_JWKS_URL',
    default: undefined,
    defaultText: "the issuer's discovery document's `jwks_uri`",
    description:
      "Where the issuer's signing keys are fetched (the only URL they are fetched from); by default `jwks_uri` of `<issuer>/.well-known/openid-configuration`.",
  },
  oidcTenantClaim: {
    kind: 'string',
    env: 'AGENTRY_OIDC_TENANT_CLAIM',
    default: undefined,
    defaultText: 'none (the deployment tenant)',
    description:
      'The claim naming the tenant (e.g. `org`); a token without it, or naming `system`, is refused. Without this option every signed-in person acts in the deployment tenant (`tenant`).',
  },
  oidcRolesClaim: {
    kind: 'string',
    env: 'AGENTRY_OIDC_ROLES_CLAIM',
    default: 'groups',
    defaultText: '`groups`',
    description:
      'The claim whose values (a list, or one space-separated string) `AGENTRY_OIDC_ROLE_MAP` maps to roles; a dotted path (`realm_access.roles`) reaches a nested one.',
  },
  oidcRoleMap: {
    kind: 'string',
    env: 'AGENTRY_OIDC_ROLE_MAP',
    default: undefined,
    defaultText: 'none',
    description:
      'Roles claim value → grant: `agentry-admins=admin,agentry-ops=operator` (a grant is a role, a scope or `role:<name>`; repeat a value for several). A token none of whose values is mapped is signed in with no scopes (403 on every route but `/v1/auth/whoami`).',
  },
  oidcNameClaim: {
    kind: 'string',
    env: 'AGENTRY_OIDC_NAME_CLAIM',
    default: 'sub',
    defaultText: '`sub`',
    description: 'The claim naming the person; the principal is `oidc:<value>` (with `email`, a token whose `email_verified` is false is refused).',
  },
  corsOrigins: {
    kind: 'string',
    env: 'AGENTRY_CORS_ORIGINS',
    default: undefined,
    defaultText: 'none (CORS off)',
    description:
      'Origins (`https://app.example.com`, comma-separated) whose pages may call the API cross-origin; with auth off they act as `admin`, so list only your own.',
  },
  redactPii: {
    kind: 'string',
    env: 'AGENTRY_REDACT_PII',
    default: 'bearer',
    defaultText: '`bearer`',
    description:
      'Patterns masked (as `[redacted]`) in what Agentry stores, logs and answers, besides known secrets and URL credentials: a comma list of `bearer` (Authorization values, `sk-…` keys, `api_key=…`), `email`, `card` (Luhn-valid card numbers), `ssn` (US social-security numbers `123-45-6789`), or `none`. PII patterns are opt-in: stored outputs are masked too, so later steps see `[redacted]` in their place.',
  },
  requestLogs: {
    kind: 'boolean',
    env: 'AGENTRY_REQUEST_LOGS',
    default: true,
    defaultText: '`true`',
    description: 'Log one `http_request` record per API request (method, path without the query, status, duration, client address).',
  },
  trustedProxies: {
    kind: 'string',
    env: 'AGENTRY_TRUSTED_PROXIES',
    default: undefined,
    defaultText: 'none',
    description:
      'Reverse proxies (IPs or CIDR blocks, comma-separated) whose `X-Forwarded-*` headers are believed (client address, protocol); without them the client is the TCP peer. Production mode refuses a non-loopback `host` without a proxy listed here.',
  },
  readyzDetail: {
    kind: 'string',
    env: 'AGENTRY_READYZ_DETAIL',
    default: 'internal',
    defaultText: '`internal`',
    description:
      '`internal`: `/readyz` shows its `checks` only to `AGENTRY_READYZ_TRUSTED` addresses and admin/operator keys, others get the status alone; `full`: to everyone.',
  },
  readyzTrusted: {
    kind: 'string',
    env: 'AGENTRY_READYZ_TRUSTED',
    default: LOOPBACK_CIDRS.join(','),
    defaultText: `\`${LOOPBACK_CIDRS.join(',')}\``,
    description: 'Client addresses (IPs or CIDR blocks, comma-separated) that see the detailed `/readyz` payload.',
  },
  healthProviders: {
    kind: 'string',
    env: 'AGENTRY_HEALTH_PROVIDERS',
    default: undefined,
    defaultText: 'none',
    description:
      "Environment variables the LLM providers need (names, comma-separated, e.g. `OPENAI_API_KEY,ANTHROPIC_API_KEY`): readiness (`/readyz`'s `providers` check, `/health`) fails naming each one that is not set, directly or as `NAME_FILE` (never showing a value). Set it on the processes that hold the keys: `start gateway`, or API and worker processes with an in-process gateway (not on schedulers: they do not check it).",
  },
  healthToolSecrets: {
    kind: 'string',
    env: 'AGENTRY_HEALTH_TOOL_SECRETS',
    default: undefined,
    defaultText: 'none',
    description:
      "Environment variables the MCP tool servers need (names, comma-separated): readiness (`/readyz`'s `tool_secrets` check) of API and worker processes fails naming each one that is not set, directly or as `NAME_FILE`.",
  },
  maxBodyBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_BODY_BYTES',
    default: 1024 * 1024,
    defaultText: '`1048576` (1 MiB)',
    description: 'Largest request body the API accepts (413 `payload_too_large` above).',
  },
  maxWait: {
    kind: 'duration',
    env: 'AGENTRY_MAX_WAIT',
    default: 120_000,
    defaultText: '`2m`',
    description: 'Longest `?wait=` a start-run request may block.',
  },
  sseHeartbeat: {
    kind: 'duration',
    env: 'AGENTRY_SSE_HEARTBEAT',
    default: 15_000,
    defaultText: '`15s`',
    description: 'Interval of keep-alive comments on event streams.',
  },
  auditRetention: {
    kind: 'duration',
    env: 'AGENTRY_AUDIT_RETENTION',
    default: undefined,
    defaultText: 'none (keep every entry)',
    description: 'How long audit log entries are kept (e.g. `365d`): `agentry audit prune` deletes older ones, leaving an anchor so the chain still verifies.',
  },
  otelRecordArguments: {
    kind: 'boolean',
    env: 'AGENTRY_OTEL_RECORD_ARGUMENTS',
    default: false,
    defaultText: '`false`',
    description:
      "With tracing on (`OTEL_*`, [tracing](operations/tracing.md)): MCP tool-call spans carry the call's arguments as `agentry.tool.arguments`, redacted like the logs and cut to 4096 characters. Off: no argument reaches a span.",
  },
  otelRecordResults: {
    kind: 'boolean',
    env: 'AGENTRY_OTEL_RECORD_RESULTS',
    default: false,
    defaultText: '`false`',
    description:
      "With tracing on: MCP tool-call spans carry the tool's result as `agentry.tool.result`, redacted like the logs and cut to 4096 characters. Off: no result reaches a span.",
  },
  gatewayUrl: {
    kind: 'string',
    env: 'AGENTRY_GATEWAY_URL',
    default: undefined,
    defaultText: 'none (the gateway runs in-process)',
    description: 'Workers call the LLM gateway at this URL (`agentry start gateway`) and hold no provider keys.',
  },
  gatewayApiKey: {
    kind: 'string',
    env: 'AGENTRY_GATEWAY_API_KEY',
    default: undefined,
    defaultText: 'none',
    description: 'The API key workers send to `AGENTRY_GATEWAY_URL` (a key with the `gateway:use` scope).',
    secret: true,
  },
  internalSecret: {
    kind: 'string',
    env: 'AGENTRY_INTERNAL_SECRET',
    default: undefined,
    defaultText: 'none (workers send `AGENTRY_GATEWAY_API_KEY`; production refuses)',
    description:
      'The secret every process of the deployment shares (32+ bytes: `openssl rand -hex 32`): workers sign an internal service token per call to `AGENTRY_GATEWAY_URL` with it instead of sending an API key, and gateways verify them (docs/security.md#internal-service-tokens). Required in production by `serve`, `start api` and `start gateway` serving a gateway, and by every process with `AGENTRY_GATEWAY_URL`.',
    secret: true,
  },
  internalSecretPrevious: {
    kind: 'string',
    env: 'AGENTRY_INTERNAL_SECRET_PREVIOUS',
    default: undefined,
    defaultText: 'none',
    description:
      'During a rotation of `internalSecret` only: the secret being replaced, still accepted to verify tokens (never to sign them). Drop it once every process has the new secret; tokens signed with it are then refused.',
    secret: true,
  },
  url: {
    kind: 'string',
    env: 'AGENTRY_URL',
    default: undefined,
    defaultText: 'none',
    description: 'When set, `agentry run` and `agentry runs …` talk to this server instead of opening the store.',
  },
  apiKey: {
    kind: 'string',
    env: 'AGENTRY_API_KEY',
    default: undefined,
    defaultText: 'none',
    description: 'The key the CLI sends to `AGENTRY_URL`.',
    secret: true,
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof CONFIG_OPTIONS;
export type ConfigSource = 'flag' | 'env' | 'profile' | 'agentry.yaml' | 'default';
/** Values given on the command line, by option (strings as typed, or already parsed). */
export type ConfigFlags = Partial<Record<OptionKey, string | number | boolean | undefined>>;

/** The options table of `docs/configuration.md`. */
export function configTableMarkdown(): string {
  const rows = (Object.entries(CONFIG_OPTIONS) as [OptionKey, OptionSpec][]).map(([key, o]) => {
    const cells = [`\`${key}\``, `\`${o.env}\``, o.flag ? `\`${o.flag}\`` : '', o.yaml ? `\`${o.yaml}\`` : '', o.defaultText, o.description];
    return `| ${cells.join(' | ')} |`;
  });
  return ['| Option | Environment variable | Flag | `agentry.yaml` key | Default | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
