/**
 * Options of the API server and the probes: where they listen, who signs in (API keys, the
 * break-glass key, OIDC) and in which tenant, CORS, what Agentry masks and what it logs per
 * request, which proxies are believed, who sees readiness and what it checks, and the limits
 * of a request (body size, `?wait=`, event-stream keep-alives).
 */
import { LOOPBACK_CIDRS } from '../lib/address-list.js';
import type { OptionSpec } from './config-option.js';

/** Port of the probes (and `/metrics`) of the roles without the API: worker, scheduler, gateway. */
export const DEFAULT_PROBE_PORT = 7702;

export const SERVER_OPTIONS = {
  host: {
    kind: 'string',
    env: 'AGENTRY_HOST',
    flag: '--host <host>',
    default: '127.0.0.1',
    defaultText: '`127.0.0.1`',
    description:
      'Address the HTTP and probe ports bind. In a container it is `0.0.0.0`: the image (`Dockerfile`), `deploy/compose.yaml` and `deploy/kubernetes/` set it (docs/operations/deploy.md).',
  },
  port: {
    kind: 'integer',
    env: 'AGENTRY_PORT',
    flag: '--port <port>',
    default: 7700,
    defaultText: '`7700`',
    description: 'Port `serve` listens on (0 picks a free one).',
  },
  tlsCert: {
    kind: 'string',
    env: 'AGENTRY_TLS_CERT',
    flag: '--tls-cert <file>',
    default: undefined,
    defaultText: 'none (plain HTTP)',
    description:
      'PEM certificate (chain) file: every listener of the process (the API, the gateway, the probe port) serves HTTPS with it. Needs `tlsKey`; read once at startup (restart to load a renewed certificate). See [TLS and proxies](operations/tls-and-proxies.md).',
  },
  tlsKey: {
    kind: 'string',
    env: 'AGENTRY_TLS_KEY',
    flag: '--tls-key <file>',
    default: undefined,
    defaultText: 'none',
    description: 'PEM private key file of `tlsCert` (unencrypted). Both or neither.',
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
  oidcConsoleClientId: {
    kind: 'string',
    env: 'AGENTRY_OIDC_CONSOLE_CLIENT_ID',
    default: undefined,
    defaultText: '`AGENTRY_OIDC_AUDIENCE`',
    description:
      'The client id the web console signs in with (a public client: authorization code + PKCE, no secret; register the redirect URI `<server>/ui/auth/callback`). Its tokens must still carry `AGENTRY_OIDC_AUDIENCE` in `aud`. See [console](console.md#sign-in-with-oidc).',
  },
  oidcConsoleScopes: {
    kind: 'string',
    env: 'AGENTRY_OIDC_CONSOLE_SCOPES',
    default: 'openid profile email',
    defaultText: '`openid profile email`',
    description:
      'The scopes the web console asks the issuer for (space-separated; `openid` is always asked for). Add the scope that puts the roles claim in the token if the issuer needs one (e.g. `groups`).',
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
      'Reverse proxies (IPs or CIDR blocks, comma-separated) whose `X-Forwarded-*` headers are believed (client address, protocol); without them the client is the TCP peer. Production mode refuses a non-loopback `host` without a proxy listed here or native TLS (`tlsCert`).',
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
  maxInlineSpecBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_INLINE_SPEC_BYTES',
    default: 256 * 1024,
    defaultText: '`262144` (256 KiB)',
    description: 'Largest inline workflow spec an ad-hoc run may be started with (`POST /v1/runs` with `spec`; 413 `payload_too_large` above).',
  },
  maxOverridesBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_OVERRIDES_BYTES',
    default: 16 * 1024,
    defaultText: '`16384` (16 KiB)',
    description: 'Largest `overrides` a run may be started with, as JSON (413 `payload_too_large` above).',
  },
  maxMetadataBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_METADATA_BYTES',
    default: 8 * 1024,
    defaultText: '`8192` (8 KiB)',
    description: 'Largest `metadata` (labels) a run may be started with, as JSON (413 `payload_too_large` above).',
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
  logBuffer: {
    kind: 'integer',
    env: 'AGENTRY_LOG_BUFFER',
    default: 1000,
    defaultText: '`1000`',
    description:
      'Recent log lines a server keeps in memory (after redaction) for `GET /v1/admin/logs` and `agentry logs [-f]` (0–100000; 0 keeps none and those answer `not_found`).',
  },
} as const satisfies Record<string, OptionSpec>;
