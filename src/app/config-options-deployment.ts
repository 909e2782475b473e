/**
 * Options that concern the deployment beyond one process's own work: how long the audit log
 * is kept, where backups are kept, what tool-call spans record, a gateway running as its own process and the
 * internal secret its callers sign with, and the server the CLI talks to.
 */
import type { OptionSpec } from './config-option.js';

export const DEPLOYMENT_OPTIONS = {
  auditRetention: {
    kind: 'duration',
    env: 'AGENTRY_AUDIT_RETENTION',
    default: undefined,
    defaultText: 'none (keep every entry)',
    description: 'How long audit log entries are kept (e.g. `365d`): `agentry audit prune` deletes older ones, leaving an anchor so the chain still verifies.',
  },
  retentionSucceeded: {
    kind: 'duration',
    env: 'AGENTRY_RETENTION_SUCCEEDED',
    default: undefined,
    defaultText: 'none (keep every run)',
    description:
      "How long succeeded runs are kept after they end (e.g. `30d`): a server's scheduler deletes older ones with all their rows ([retention](operations/retention.md)). A workflow's `retention:` overrides it.",
  },
  retentionFailed: {
    kind: 'duration',
    env: 'AGENTRY_RETENTION_FAILED',
    default: undefined,
    defaultText: 'none (keep every run)',
    description: 'How long failed and timed-out runs are kept after they end (e.g. `90d`); see `AGENTRY_RETENTION_SUCCEEDED`.',
  },
  retentionCancelled: {
    kind: 'duration',
    env: 'AGENTRY_RETENTION_CANCELLED',
    default: undefined,
    defaultText: 'none (keep every run)',
    description: 'How long cancelled runs are kept after they end; see `AGENTRY_RETENTION_SUCCEEDED`.',
  },
  retentionEvents: {
    kind: 'duration',
    env: 'AGENTRY_RETENTION_EVENTS',
    default: undefined,
    defaultText: 'none (keep every event)',
    description:
      "How long the events of ended runs are kept (e.g. `30d`); the runs themselves stay until their own retention. A workflow's `retention.events` overrides it.",
  },
  retentionMemory: {
    kind: 'duration',
    env: 'AGENTRY_RETENTION_MEMORY',
    default: undefined,
    defaultText: 'none (keep every message)',
    description:
      "How long agents' conversation memory messages are kept after they are written (e.g. `90d`): a server's scheduler deletes older ones ([memory](agents.md#memory)); `agentry memory clear --older-than` does it by hand.",
  },
  idempotencyKeyTtl: {
    kind: 'duration',
    env: 'AGENTRY_IDEMPOTENCY_KEY_TTL',
    default: 7 * 24 * 60 * 60 * 1000,
    defaultText: '`7d`',
    description:
      "How long idempotency keys (run starts, schedule ticks, task decisions) are remembered: a server's scheduler deletes older ones, and a request repeating an expired key starts anew.",
  },
  backupDir: {
    kind: 'string',
    env: 'AGENTRY_BACKUP_DIR',
    flag: '--backup-dir <dir>',
    default: undefined,
    defaultText: 'none',
    description:
      "Where the deployment's backups are kept: `agentry doctor` checks the free space there and, when the store has no record of an `agentry backup` (backups taken with `pg_dump`), takes the newest file in it as the last backup ([doctor](operations/doctor.md)).",
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
    description:
      'When set, `agentry run` and `agentry runs …` talk to this server instead of opening the store, and `agentry smoke` checks it (without `--url`).',
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
