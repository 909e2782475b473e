/**
 * Options of what runs the workflows: the store (and its PostgreSQL sessions), the log level,
 * the engine's worker pool and leases, and `http` steps. The defaults of the engine, the
 * executors and PostgreSQL are theirs; these rows only document them.
 */
import { DEFAULT_ENGINE_SETTINGS } from '../engine/engine-options.js';
import { formatDuration } from '../lib/duration.js';
import { LOG_LEVELS } from '../obs/logger.js';
import { ARTIFACT_LIMIT_DEFAULTS } from '../runtime/artifacts.js';
import { SETTINGS_DEFAULTS } from '../spec/settings.js';
import { POSTGRES_DEFAULTS } from '../store/database-url.js';
import type { OptionSpec } from './config-option.js';

const ENGINE = DEFAULT_ENGINE_SETTINGS;
// The step executors' HTTP defaults (runtime/registry.ts takes them from the same place).
const HTTP = SETTINGS_DEFAULTS.http;
const ARTIFACTS = ARTIFACT_LIMIT_DEFAULTS;
function defaultOf(value: number | boolean, unit?: 'ms'): { default: number | boolean; defaultText: string } {
  return { default: value, defaultText: `\`${unit === 'ms' && typeof value === 'number' ? formatDuration(value) : String(value)}\`` };
}

export const ENGINE_OPTIONS = {
  databaseUrl: {
    kind: 'string',
    env: 'AGENTRY_DATABASE_URL',
    default: undefined,
    defaultText: '`sqlite:<projectDir>/.agentry/agentry.db`',
    description: 'Store: `sqlite:<file>` (one host) or `postgres://user:pass@host:5432/db` (many processes and hosts).',
    secret: true,
  },
  autoMigrate: {
    kind: 'boolean',
    env: 'AGENTRY_AUTO_MIGRATE',
    flag: '--migrate',
    default: undefined,
    defaultText: '`true` for SQLite, `false` for PostgreSQL',
    description:
      'Whether a process applies pending migrations when it opens the store. Off, it refuses to start with pending migrations (`migrations_pending`) until `agentry migrate up` has run (a deploy step; docs/operations/maintenance.md). `serve` and `start` take `--migrate`.',
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
    description: 'Steps one worker process runs at once (1–1000); a step whose attempt ended holds no slot while its result is recorded.',
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
    description:
      'On SIGTERM/SIGINT, how long running steps may finish before they are aborted. Keep the stop timeout above it: systemd `TimeoutStopSec`, compose `stop_grace_period`, Kubernetes `terminationGracePeriodSeconds` after the `preStop` sleep (docs/operations/deploy.md#kubernetes).',
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
  artifactMaxBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_ARTIFACT_BYTES',
    ...defaultOf(ARTIFACTS.maxFileBytes),
    description:
      "Largest file a step may write to its run's artifacts (docs/artifacts.md); also the body limit of an `http` step with `save_body_as` and no `max_response_bytes`. A larger write fails the step (`artifact_too_large`).",
  },
  artifactMaxRunBytes: {
    kind: 'integer',
    env: 'AGENTRY_MAX_ARTIFACT_BYTES_PER_RUN',
    ...defaultOf(ARTIFACTS.maxRunBytes),
    description: "Most bytes a run's artifacts may hold together; a write that would pass it fails its step (`artifact_too_large`) and stores nothing.",
  },
} as const satisfies Record<string, OptionSpec>;
