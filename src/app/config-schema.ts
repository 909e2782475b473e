/**
 * The schema every resolved option value is checked against (one validation that reports
 * every problem at once, `loadConfig`), and the values of the options that take one of a few.
 */
import { Ajv, type CodeOptions, type ValidateFunction } from 'ajv';
import { Type, type Static } from 'typebox';
import type { EgressMode } from '../lib/egress.js';
import { precompiledValidator } from '../lib/precompiled.js';
import { LIMITS } from '../lib/limits.js';
import { LOG_LEVELS } from '../obs/logger.js';

/** `AGENTRY_ENV`: production refuses an unsafe configuration (`startup-checks.ts`) and tightens egress. */
export const DEPLOY_ENVS = ['development', 'production'] as const satisfies readonly EgressMode[];

/** `AGENTRY_READYZ_DETAIL`: who sees the checks of `/readyz` (see `docs/security.md`). */
export const READYZ_DETAILS = ['internal', 'full'] as const;
export const TENANCY_MODES = ['single', 'multi'] as const;
export type TenancyMode = (typeof TENANCY_MODES)[number];
export type ReadyzDetail = (typeof READYZ_DETAILS)[number];

export const ConfigSchema = Type.Object({
  projectDir: Type.String({ minLength: 1 }),
  profile: Type.Union([Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }), Type.Null()]),
  bundle: Type.Optional(Type.String({ minLength: 1 })),
  requireSignedSpecs: Type.Boolean(),
  bundleEnv: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' })),
  trustKeys: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_-]*$' })),
  env: Type.Enum([...DEPLOY_ENVS]),
  databaseUrl: Type.String({ minLength: 1 }),
  autoMigrate: Type.Optional(Type.Boolean()),
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
  artifactMaxBytes: Type.Integer({ minimum: 1 }),
  artifactMaxRunBytes: Type.Integer({ minimum: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  tlsCert: Type.Optional(Type.String({ minLength: 1 })),
  tlsKey: Type.Optional(Type.String({ minLength: 1 })),
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
  oidcConsoleClientId: Type.Optional(Type.String({ minLength: 1 })),
  oidcConsoleScopes: Type.String(),
  corsOrigins: Type.Optional(Type.String()),
  requestLogs: Type.Boolean(),
  trustedProxies: Type.Optional(Type.String()),
  readyzDetail: Type.Enum([...READYZ_DETAILS]),
  readyzTrusted: Type.String(),
  healthProviders: Type.Optional(Type.String()),
  healthToolSecrets: Type.Optional(Type.String()),
  maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
  maxInlineSpecBytes: Type.Integer({ minimum: 1024, maximum: LIMITS.specFileBytes }),
  maxOverridesBytes: Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024 }),
  maxMetadataBytes: Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024 }),
  maxWait: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  sseHeartbeat: Type.Integer({ minimum: 100 }),
  logBuffer: Type.Integer({ minimum: 0, maximum: 100_000 }),
  auditRetention: Type.Optional(Type.Integer({ minimum: 1 })),
  retentionSucceeded: Type.Optional(Type.Integer({ minimum: 1 })),
  retentionFailed: Type.Optional(Type.Integer({ minimum: 1 })),
  retentionCancelled: Type.Optional(Type.Integer({ minimum: 1 })),
  retentionEvents: Type.Optional(Type.Integer({ minimum: 1 })),
  retentionMemory: Type.Optional(Type.Integer({ minimum: 1 })),
  idempotencyKeyTtl: Type.Integer({ minimum: 1 }),
  backupDir: Type.Optional(Type.String({ minLength: 1 })),
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

/** Every option's value once resolved and coerced, by option key (`CONFIG_OPTIONS`). */
export type ResolvedOptions = Static<typeof ConfigSchema>;
let validator: ValidateFunction<ResolvedOptions> | undefined;
/** The ajv that compiles `ConfigSchema` (here, and at build time for the bundle: `lib/precompiled.ts`). */
export function newConfigAjv(code: CodeOptions = {}): Ajv {
  return new Ajv({ allErrors: true, strict: false, validateSchema: false, code: { optimize: false, ...code } });
}
/** The validator of resolved options, compiled on first use (a command that never loads configuration pays nothing). */
export function resolvedValidator(): ValidateFunction<ResolvedOptions> {
  return (validator ??=
    (precompiledValidator('config') as ValidateFunction<ResolvedOptions> | undefined) ?? newConfigAjv().compile<ResolvedOptions>(ConfigSchema));
}
