/**
 * What the HTTP app of a process is built from under its configuration: the auth settings and the
 * `buildApp` options for an opened Agentry. `agentry serve`, `agentry start api|gateway`, the probe
 * port and the embedded handler (`embed.ts`) build their apps from these, so they cannot drift apart.
 */
import type { Logger } from 'pino';
import type { Agentry, Project } from '../app/bootstrap.js';
import type { Config } from '../app/config.js';
import { remoteGatewayOptions } from '../app/remote-gateway.js';
import { policySourcesOf } from '../app/policy-service.js';
import { tlsCredentials } from '../app/tls.js';
import { VERSION } from '../lib/version.js';
import type { AppOptions } from './app.js';
import { authSettings, type AuthSettings } from './auth.js';

/** The server's auth from the configuration (throws on bad keys, or auth off on a non-loopback host). */
export function serverAuth(config: Config): AuthSettings {
  const { auth, host, apiKeys, adminApiKey, oidc } = config.server;
  const { secret: internalSecret, previousSecret: internalSecretPrevious } = config.internal;
  return authSettings({
    enabled: auth,
    host,
    apiKeys,
    adminApiKey,
    oidc,
    tenant: config.tenant,
    multiTenant: config.tenancy === 'multi',
    internalSecret,
    internalSecretPrevious,
  });
}

/** What `buildApp` serves an opened Agentry with under `config` (the API, the gateway routes and the probes alike). */
export function appOptions(agentry: Agentry, config: Config, logger: Logger, env: NodeJS.ProcessEnv, auth: AuthSettings): AppOptions {
  return {
    engine: agentry.engine,
    store: agentry.store,
    logger,
    version: VERSION,
    auth,
    maxBodyBytes: config.server.maxBodyBytes,
    https: tlsCredentials(config),
    corsOrigins: config.server.corsOrigins,
    requestLogs: config.server.requestLogs,
    trustedProxies: config.server.trustedProxies,
    readyz: { detail: config.server.readyzDetail, trusted: config.server.readyzTrusted },
    maxWaitMs: config.server.maxWaitMs,
    runLimits: config.server.runStart,
    sseHeartbeatMs: config.server.sseHeartbeatMs,
    metrics: agentry.metrics,
    gateway: agentry.gateway,
    budgets: agentry.budgets,
    // Forwarded gateway calls carry internal tokens naming this process (`agentry-api`), or the gateway key.
    remoteGateway: remoteGatewayOptions(config, 'api', agentry.engine.workerId),
    tools: agentry.tools,
    plugins: agentry.plugins,
    redactor: agentry.redactor,
    specBundle: agentry.project?.bundle,
    credentials: { config, project: agentry.project, env },
    policies: policySourcesOf(agentry.project),
    health: { providers: config.health.providers, toolSecrets: config.health.toolSecrets, env },
  };
}

/** Whether `serve` / `start api` serve the gateway's routes with a gateway behind them (a gateway.yaml, or one to forward to). */
export function servesGateway(config: Config, project: Project): boolean {
  return project.gateway !== undefined || config.gateway !== undefined;
}
