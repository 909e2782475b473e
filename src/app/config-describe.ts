/** A resolved configuration as rows to print (`agentry config show`), secrets masked. */
import { formatDuration } from '../lib/duration.js';
import { maskSecrets } from '../lib/redact.js';
import type { Config } from './config.js';
import { CONFIG_OPTIONS, type ConfigSource, type OptionKey } from './config-options.js';

/** The resolved configuration as printable rows (secrets masked). */
export function describeConfig(config: Config): { key: OptionKey; env: string; value: string | number | boolean | null; source: ConfigSource }[] {
  const values: Record<OptionKey, string | number | boolean | null> = {
    projectDir: config.projectDir,
    profile: config.profile,
    bundle: config.specs.bundle ?? null,
    requireSignedSpecs: config.specs.requireSigned,
    bundleEnv: config.specs.env ?? null,
    trustKeys: config.specs.trustKeys.length === 0 ? null : config.specs.trustKeys.join(','),
    environment: config.environment ?? null,
    env: config.env,
    databaseUrl: maskSecrets(config.databaseUrl),
    autoMigrate: config.autoMigrate,
    dbPoolSize: config.database.kind === 'postgres' ? (config.database.options.poolSize ?? null) : null,
    dbStatementTimeout: config.database.kind === 'postgres' ? formatDuration(config.database.options.statementTimeoutMs ?? 0) : null,
    dbConnectTimeout: config.database.kind === 'postgres' ? formatDuration(config.database.options.connectTimeoutMs ?? 0) : null,
    dbApplicationName: config.database.kind === 'postgres' ? (config.database.options.applicationName ?? null) : null,
    logLevel: config.logLevel,
    concurrency: config.engine.concurrency,
    leaseTtl: formatDuration(config.engine.leaseTtlMs),
    pollInterval: formatDuration(config.engine.pollIntervalMs),
    shutdownGrace: formatDuration(config.engine.shutdownGraceMs),
    httpAllowLinkLocal: config.http.allowLinkLocal,
    httpDefaultTimeout: formatDuration(config.http.defaultTimeoutMs),
    httpMaxResponseBytes: config.http.maxResponseBytes,
    artifactMaxBytes: config.artifacts.maxFileBytes,
    artifactMaxRunBytes: config.artifacts.maxRunBytes,
    host: config.server.host,
    port: config.server.port,
    tlsCert: config.server.tls?.certFile ?? null,
    tlsKey: config.server.tls?.keyFile ?? null,
    probePort: config.probe.port ?? 'off',
    auth: config.server.auth,
    apiKeys: describeApiKeys(config.server.apiKeys),
    adminApiKey: config.server.adminApiKey === undefined ? null : '***',
    tenant: config.tenant,
    tenancy: config.tenancy,
    // Null while OIDC sign-in is off (no issuer): the other options do nothing then.
    oidcIssuer: config.server.oidc?.issuer ?? null,
    oidcAudience: config.server.oidc?.audience ?? null,
    oidcJwksUrl: config.server.oidc?.jwksUrl === undefined ? null : maskSecrets(config.server.oidc.jwksUrl),
    oidcTenantClaim: config.server.oidc?.tenantClaim ?? null,
    oidcRolesClaim: config.server.oidc?.rolesClaim ?? null,
    oidcRoleMap: config.server.oidc?.roleMap ?? null,
    oidcNameClaim: config.server.oidc?.nameClaim ?? null,
    oidcConsoleClientId: config.server.oidc === undefined ? null : (config.server.oidc.consoleClientId ?? config.server.oidc.audience ?? null),
    oidcConsoleScopes: config.server.oidc?.consoleScopes ?? null,
    corsOrigins: config.server.corsOrigins.length === 0 ? null : config.server.corsOrigins.join(','),
    requestLogs: config.server.requestLogs,
    trustedProxies: config.server.trustedProxies.length === 0 ? null : config.server.trustedProxies.join(','),
    readyzDetail: config.server.readyzDetail,
    readyzTrusted: config.server.readyzTrusted.join(','),
    healthProviders: config.health.providers.length === 0 ? null : config.health.providers.join(','),
    healthToolSecrets: config.health.toolSecrets.length === 0 ? null : config.health.toolSecrets.join(','),
    maxBodyBytes: config.server.maxBodyBytes,
    maxInlineSpecBytes: config.server.runStart.inlineSpecBytes,
    maxOverridesBytes: config.server.runStart.overridesBytes,
    maxMetadataBytes: config.server.runStart.metadataBytes,
    maxWait: formatDuration(config.server.maxWaitMs),
    sseHeartbeat: formatDuration(config.server.sseHeartbeatMs),
    logBuffer: config.server.logBufferLines,
    auditRetention: config.audit.retentionMs === undefined ? null : formatDuration(config.audit.retentionMs),
    retentionSucceeded: durationOrNull(config.retention.succeededMs),
    retentionFailed: durationOrNull(config.retention.failedMs),
    retentionCancelled: durationOrNull(config.retention.cancelledMs),
    retentionEvents: durationOrNull(config.retention.eventsMs),
    retentionMemory: durationOrNull(config.retention.memoryMs),
    idempotencyKeyTtl: durationOrNull(config.retention.idempotencyKeysMs),
    backupDir: config.backup.dir ?? null,
    otelRecordArguments: config.telemetry.recordArguments,
    otelRecordResults: config.telemetry.recordResults,
    redactPii: config.redactPii.length === 0 ? 'none' : config.redactPii.join(','),
    gatewayUrl: config.gateway ? maskSecrets(config.gateway.url) : null,
    gatewayApiKey: config.gateway?.apiKey === undefined ? null : '***',
    internalSecret: config.internal.secret === undefined ? null : '***',
    internalSecretPrevious: config.internal.previousSecret === undefined ? null : '***',
    url: config.client.url === undefined ? null : maskSecrets(config.client.url),
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

function durationOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : formatDuration(ms);
}
