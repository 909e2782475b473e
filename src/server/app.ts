/**
 * The HTTP API as a Fastify instance that does not listen (`agentry serve` calls `listen`;
 * tests use `inject()` or listen on 127.0.0.1:0).
 *
 *   const { engine, store } = await openAgentry(config, { logger });
 *   const app = await buildApp({ engine, store, logger, version, auth });
 *   await app.listen({ port: 7700, host: '127.0.0.1' });
 *
 * Every response carries `X-Request-ID`; every error is problem+json through `problem.ts`;
 * every route comes from the route table (`route.ts`), which also drives auth and OpenAPI.
 * Here: the hooks every request passes and which route files each route group registers;
 * requests are signed in by `sign-in.ts`, the table is mounted by `mount-routes.ts`, and
 * `app-state.ts` keeps each app's routes and drain state.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { createServices, type ServiceDeps } from '../app/services.js';
import { instrument } from '../app/metrics.js';
import type { ResolvedBudgets } from '../gateway/config.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RemoteGatewayOptions } from '../gateway/remote.js';
import { AgentryError } from '../lib/errors.js';
import { addressMatcher, LOOPBACK_CIDRS } from '../lib/address-list.js';
import { Metrics } from '../obs/metrics.js';
import type { LogRing } from '../obs/log-ring.js';
import type { ToolHub } from '../tools/hub.js';
import { accessLoggerOf, accessRecord } from './access-log.js';
import { registerRequestContext, requestLogger } from './request-context.js';
import { isTracingOn } from '../obs/tracing.js';
import { registerRequestSpans, requestTraceFields } from './tracing.js';
import { assertCanSignIn, type AuthSettings } from './auth.js';
import { grantProblems } from './scopes.js';
import { trackApp, type AppRoute, type AppState } from './app-state.js';
import { mountRoutes } from './mount-routes.js';
import { principalOf, registerSignIn } from './sign-in.js';
import { acceptEmptyJsonBodies, registerBrowserGuard } from './browser-guard.js';
import { drainUnreadBody } from './unread-body.js';
import type { EventFeed } from '../app/event-feed.js';
import type { ReadyzDetail } from '../app/config-schema.js';
import type { EngineRole } from '../app/bootstrap.js';
import type { TlsCredentials } from '../app/tls.js';
import type { ReadinessOptions, ReadinessRole } from '../app/readiness.js';
import type { SpecBundleInfo } from '../app/bundle-load.js';
import type { CredentialSources } from '../app/credentials.js';
import type { PolicySources } from '../app/policy-service.js';
import { schemaController } from './lazy-schemas.js';
import { openapiRoutes, swaggerOptions } from './openapi.js';
import { consoleDir, registerConsole } from './console.js';
import { ProblemSchema, sendProblem, toHttpError } from './problem.js';
import { AnthropicErrorSchema, sendAnthropicError } from './anthropic-errors.js';
import { ROUTE_GROUPS, RouteTable, type GatewayBackend, type RouteDef, type RouteGroup, type ServerDeps } from './route.js';
import { authRoutes } from './routes/auth.js';
import { gatewayRoutes } from './routes/gateway.js';
import { gatewayMessagesRoutes } from './routes/gateway-messages.js';
import { gatewayOpenAIRoutes } from './routes/gateway-openai.js';
import { healthRoutes } from './routes/health.js';
import { memoryRoutes } from './routes/memory.js';
import { metricsRoutes } from './routes/metrics.js';
import { runRoutes } from './routes/runs.js';
import { runStreamRoutes } from './routes/run-stream.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { eventRoutes } from './routes/events.js';
import { adminRoutes } from './routes/admin.js';
import { logRoutes } from './routes/logs.js';
import { statusRoutes } from './routes/status.js';
import { fleetRoutes } from './routes/fleet.js';
import { pluginRoutes } from './routes/plugins.js';
import { routeListRoutes } from './routes/routes.js';
import type { PluginService } from '../app/plugin-service.js';
import { itemRoutes } from './routes/items.js';
import { journalRoutes } from './routes/journal.js';
import { artifactRoutes } from './routes/artifacts.js';
import { keyRoutes } from './routes/keys.js';
import { limitRoutes } from './routes/limits.js';
import { auditRoutes } from './routes/audit.js';
import { securityRoutes } from './routes/security.js';
import { scheduleRoutes } from './routes/schedules.js';
import { signalRoutes } from './routes/signals.js';
import { specRoutes } from './routes/specs.js';
import { taskRoutes } from './routes/tasks.js';
import { toolRoutes } from './routes/tools.js';
import { policyRoutes } from './routes/policies.js';
import { usageRoutes } from './routes/usage.js';
import { workflowRoutes } from './routes/workflows.js';
import { unversionedAliases } from './unversioned.js';
import { Redactor } from '../lib/redact.js';

export { appRoutesOf, drainAndClose, routesOf } from './app-state.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Paths of OpenAI's API (a mount prefix allowed): an unknown route there is answered with OpenAI's `error` member too. */
const OPENAI_PATHS = /\/v1\/(chat|completions|models|embeddings|responses|moderations|images|audio)(\/|$)/;

/** The engine and store the app's services act on (`Agentry`'s, from `openAgentry`), and how it serves them. */
export interface AppOptions extends Pick<ServiceDeps, 'engine' | 'store' | 'runLimits'> {
  logger: Logger;
  /** Package version (shown by `/healthz` and `/openapi.json`). */
  version: string;
  auth: AuthSettings;
  /** Largest request body (`AGENTRY_MAX_BODY_BYTES`); larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Serve HTTPS with this PEM certificate and key (`AGENTRY_TLS_CERT`/`_KEY`, see `app/tls.ts`); default plain HTTP. */
  https?: TlsCredentials;
  /** Wakes event streams at once when this process commits a run's events. */
  feed?: EventFeed;
  /**
   * The process's metrics (`openAgentry().metrics`), served by `/metrics`. Default: metrics of
   * the app's own, attached to `engine` and `store` (and closed with the app).
   */
  metrics?: Metrics;
  /** Longest `?wait=` honoured (default 120 s). */
  maxWaitMs?: number;
  sseHeartbeatMs?: number;
  ssePollMs?: number;
  /** How far the run stream looks back for changes committed late (default 2 s; `src/app/run-changes.ts`). */
  runStreamSettleMs?: number;
  /** How often an open event stream checks its credential again (default 10 s). */
  sseAuthRecheckMs?: number;
  /** Worker heartbeats younger than this count for `/readyz` (default 3 × the engine's lease TTL). */
  workerTtlMs?: number;
  /**
   * The engine roles this process runs (`engine.start({ roles })`): `/readyz` then checks its
   * own worker loop and scheduler. Default none. With the `api` group the process is an API
   * for readiness; without it, with the `gateway` group (or an in-process gateway and no
   * engine role) a gateway process.
   */
  roles?: readonly EngineRole[];
  /** What else readiness checks: variables that must be set (`AGENTRY_HEALTH_PROVIDERS`, `AGENTRY_HEALTH_TOOL_SECRETS`), read from `env` at each check. */
  health?: Pick<ReadinessOptions, 'providers' | 'toolSecrets' | 'env' | 'cacheMs'>;
  /** The process's recent log lines (`AGENTRY_LOG_BUFFER`), served by `/v1/admin/logs`; none: it answers `not_found`. */
  logRing?: LogRing | undefined;
  /** Serve Swagger UI at `/docs` (default true). */
  docs?: boolean;
  /** The in-process LLM gateway (`openAgentry().gateway`); serves `/v1/chat/completions` and `/v1/models`. */
  gateway?: Gateway | undefined;
  /** The budgets `GET /v1/usage/budgets` reports (the project's gateway.yaml); default: the in-process gateway's. */
  budgets?: ResolvedBudgets | undefined;
  /** A gateway process (`AGENTRY_GATEWAY_URL`) the gateway routes forward to when there is no in-process one. */
  remoteGateway?: RemoteGatewayOptions | undefined;
  /** This process's MCP tool servers (`openAgentry().tools`); `/v1/tools` acts on them. */
  tools?: ToolHub | undefined;
  /** The project's plugins (`openAgentry().plugins`): `/v1/plugins` lists them and serves their routes; none without. */
  plugins?: PluginService | undefined;
  /** Route groups to serve (default all); `agentry start gateway` serves `probes` and `gateway`, a probe port `probes` alone. */
  groups?: readonly RouteGroup[];
  /** Origins allowed cross-origin requests (`AGENTRY_CORS_ORIGINS`); CORS is off without them. */
  corsOrigins?: readonly string[];
  /**
   * The process's redactor (`openAgentry().redactor`): every answer, event-stream frame and
   * problem passes through it. Default: URL credentials and secret query parameters only.
   */
  redactor?: Redactor;
  /** Log one `http_request` record per request (`AGENTRY_REQUEST_LOGS`, default true). */
  requestLogs?: boolean;
  /** Proxies whose `X-Forwarded-For` names the client (`AGENTRY_TRUSTED_PROXIES`); default none: the client is the TCP peer. */
  trustedProxies?: readonly string[];
  /** Who sees `/readyz`'s checks (`AGENTRY_READYZ_DETAIL`, `AGENTRY_READYZ_TRUSTED`); default `internal` from loopback. */
  readyz?: { detail: ReadyzDetail; trusted: readonly string[] };
  /**
   * The path the app is mounted under inside another HTTP server (`createAgentryHandler`'s
   * `prefix`, e.g. `/agentry`); requests reach the app with it removed. `Location` headers and the
   * OpenAPI document's `servers` carry it. Default none: the app is the server's root.
   */
  basePath?: string;
  /**
   * Compile every route's request and response schemas while the app gets ready, as Fastify does
   * by default (tests that check that they all compile). Default false: each compiles on its
   * route's first request (`lazy-schemas.ts`), which keeps about a second of CPU out of start-up.
   */
  eagerSchemas?: boolean;
  /**
   * The web console's built files (`dist/ui`, see `console.ts`), served at `/ui/` with the `api`
   * route group. Default: the package's own, when built; false: no console.
   */
  consoleDir?: string | false;
  /** The bundle the specs were loaded from (`Project.bundle`), shown by `/readyz`. */
  specBundle?: SpecBundleInfo | undefined;
  /** What `/v1/security/credentials` inventories: the process's configuration, project and environment (none: an empty list). */
  credentials?: CredentialSources | undefined;
  /** The environment policies (`environments:` of agentry.yaml); none: no policy applies. */
  policies?: PolicySources | undefined;
}

const SANE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Probes get no request span (docs/operations/tracing.md): they are polled, and tell nothing of a run. */
const UNTRACED_URLS: ReadonlySet<string> = new Set(['/livez', '/readyz', '/healthz', '/health', '/metrics']);

function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** What a process does, for readiness: its engine roles, and an API or a gateway process by what it serves (see `AppOptions.roles`). */
function readinessRoles(groups: ReadonlySet<RouteGroup>, engineRoles: readonly EngineRole[], localGateway: boolean): Set<ReadinessRole> {
  const roles = new Set<ReadinessRole>(engineRoles);
  if (groups.has('api')) roles.add('api');
  else if (groups.has('gateway') || (engineRoles.length === 0 && localGateway)) roles.add('gateway');
  return roles;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { engine, store, logger, version } = options;
  const closing = new AbortController();
  const groups = new Set<RouteGroup>(options.groups ?? ROUTE_GROUPS);
  const gateway: GatewayBackend | undefined = options.gateway
    ? { kind: 'local', gateway: options.gateway }
    : options.remoteGateway
      ? { ...options.remoteGateway, kind: 'remote', url: options.remoteGateway.url.replace(/\/+$/, '') }
      : undefined;
  const services = createServices({
    engine,
    store,
    waker: options.feed,
    runLimits: options.runLimits,
    tools: options.tools,
    plugins: options.plugins,
    budgets: options.budgets ?? options.gateway?.budgets,
    checkGrants: grantProblems,
    credentials: options.credentials,
    policies: options.policies,
    logRing: options.logRing,
    readiness: {
      ...options.health,
      gateway: gateway && (gateway.kind === 'local' ? gateway : { kind: 'remote', url: gateway.url }),
      specBundle: options.specBundle,
      ...(options.workerTtlMs === undefined ? {} : { workerTtlMs: options.workerTtlMs }),
    },
  });
  // Managed keys (`agk_…`) sign in through the keys service on this store.
  const auth: AuthSettings = { ...options.auth, managedKeys: options.auth.managedKeys ?? services.keys };
  // A probe port alone serves its open probes even where no key is configured (then `/metrics` answers 401).
  if (groups.has('api') || groups.has('gateway')) await assertCanSignIn(auth);
  const { health } = services;
  const ownMetrics = options.metrics === undefined ? new Metrics({ version }) : undefined;
  const detachMetrics = ownMetrics && instrument(ownMetrics, { engine, store, tools: options.tools });
  const metrics = options.metrics ?? ownMetrics!;
  const deps: ServerDeps = {
    services,
    metrics,
    auth,
    version,
    startedAt: Date.now(),
    maxWaitMs: options.maxWaitMs ?? 120_000,
    sseHeartbeatMs: options.sseHeartbeatMs ?? 15_000,
    ssePollMs: options.ssePollMs ?? 1_000,
    runStreamSettleMs: options.runStreamSettleMs ?? 2_000,
    sseAuthRecheckMs: options.sseAuthRecheckMs ?? 10_000,
    workerTtlMs: options.workerTtlMs ?? health.leaseTtlMs * 3,
    closing: closing.signal,
    gateway,
    groups,
    roles: readinessRoles(groups, options.roles ?? [], options.gateway !== undefined),
    redactor: options.redactor ?? new Redactor(),
    readyz: {
      detail: options.readyz?.detail ?? 'internal',
      isTrusted: addressMatcher(options.readyz?.trusted ?? LOOPBACK_CIDRS),
    },
  };

  // Typed as Fastify's base logger so the instance is a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = logger;
  const all: AppRoute[] = [];
  const aliases = unversionedAliases(all);
  const app = Fastify({
    // Node's HTTPS server when given a certificate; typed as the plain instance, which it is to every route and hook.
    ...(options.https ? ({ https: { cert: options.https.cert, key: options.https.key } } as object) : {}),
    loggerInstance,
    // The one record per request is the access record of the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    // `request_id` (and the tenant) come from the request's log context (request-context.ts), once per line.
    childLoggerFactory: requestLogger,
    requestIdHeader: false,
    // `request.ip` is the TCP peer unless it is a listed proxy (then `X-Forwarded-For` is believed).
    trustProxy: options.trustedProxies && options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    exposeHeadRoutes: false,
    // `/runs/{id}` is `/v1/runs/{id}` (unversioned.ts).
    rewriteUrl: (req) => aliases.rewrite(req.url ?? '/'),
    return503OnClosing: true,
    // `allowUnionTypes`: a list of types (`type: ['string', 'array']`) is how a schema says "text or blocks"
    // without `anyOf`, whose branches see each other's coercions (anthropic-messages/schema.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allowUnionTypes: true } },
    schemaController: schemaController({ lazy: options.eagerSchemas !== true }),
    // Refused by the router before any route or hook (a path segment past 100 characters, a URL
    // that does not decode): problem+json like every other refusal, not Fastify's own JSON.
    frameworkErrors: (error, _request, reply) => {
      const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is not valid';
      void sendProblem(reply, new AgentryError('invalid_request', detail));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const table = new RouteTable();
  const probes = new Set<RouteDef>();
  const state: AppState = { table, all, closing, draining: false, probes };
  trackApp(app, state);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) all.push({ method, url: route.url, hidden: route.schema?.hide === true });
  });
  // First of all hooks: every answer and every line written while handling a request carries its id.
  registerRequestContext(app, () => state.draining);
  // Next, so that the span covers sign-in and rate limits too. Tracing off: no hooks, no wrapper.
  const traced = isTracingOn();
  if (traced) registerRequestSpans(app, UNTRACED_URLS);
  app.addSchema(ProblemSchema);
  app.addSchema(AnthropicErrorSchema);
  // Bodies are JSON; anything else is 415 (Fastify would otherwise accept text/plain as a string).
  app.removeContentTypeParser('text/plain');
  acceptEmptyJsonBodies(app);
  await app.register(swagger, swaggerOptions(version, options.basePath));
  if (options.docs !== false) {
    // `indexPrefix`: under a prefix, the page at `<prefix>/docs` loads its files from under the prefix too.
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, ...(options.basePath ? { indexPrefix: options.basePath } : {}) });
  }

  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    detachMetrics?.();
    ownMetrics?.close();
    done();
  });

  registerSignIn(app, table, probes, deps);
  // With auth off: loopback Host, same origin, JSON on state-changing requests. CORS for listed origins.
  registerBrowserGuard(app, { devMode: !deps.auth.enabled, corsOrigins: options.corsOrigins ?? [] });
  // Bodies: see `checkBody` (mount-routes.ts), on every route whose method carries one.
  // The one pass every answer takes on its way out (JSON, problem+json, probes, `/metrics`):
  // a secret that reached a message, a URL or a label is masked here at the latest.
  app.addHook('onSend', (_request, _reply, payload, done) => {
    done(null, typeof payload === 'string' ? deps.redactor.text(payload) : payload);
  });
  const base = options.basePath;
  if (base !== undefined && base !== '') {
    // Mounted under a prefix: a `Location` the routes give (`/v1/runs/<id>`) is under it too.
    app.addHook('onSend', (_request, reply, payload, done) => {
      const location = reply.getHeader('location');
      if (typeof location === 'string' && location.startsWith('/')) reply.header('location', `${base}${location}`);
      done(null, payload);
    });
  }
  const requestLogs = options.requestLogs !== false;
  const accessLogger = accessLoggerOf(logger);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // The one line per request (Fastify's own request logging is off, see `logController`).
    if (requestLogs && accessLogger.isLevelEnabled('info')) {
      const record = accessRecord(request, reply, principalOf(request), deps.auth.tenant);
      accessLogger.info(traced ? { ...record, ...requestTraceFields(request) } : record, 'request');
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const e = toHttpError(error);
    // Refused before its body was read: the answer must not be lost to a reset (unread-body.ts).
    drainUnreadBody(request, reply);
    if (e.status >= 500) request.log.error({ err: error }, `request failed: ${e.message}`);
    const def = table.find(request.method, request.routeOptions.url);
    if (def?.anthropicErrors === true) return sendAnthropicError(reply, e);
    return sendProblem(reply, e, { openai: def?.openaiErrors === true });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    // OpenAI clients read `error.message`: give them one under OpenAI's paths.
    const openai = OPENAI_PATHS.test(path);
    const methods = table.methodsFor(path);
    // Anthropic's clients under /v1/messages read Anthropic's error shape.
    const send = (error: AgentryError) => (/^\/v1\/messages(\/|$)/.test(path) ? sendAnthropicError(reply, error) : sendProblem(reply, error, { openai }));
    if (methods.length > 0 && !methods.includes(request.method as RouteDef['method'])) {
      reply.header('allow', methods.join(', '));
      return send(new AgentryError('method_not_allowed', `${request.method} is not allowed on ${path}; allowed: ${methods.join(', ')}`));
    }
    return send(new AgentryError('not_found', `no route ${request.method} ${path}`));
  });

  if (groups.has('probes')) {
    healthRoutes(table, deps);
    metricsRoutes(table, deps);
    openapiRoutes(table);
    for (const def of table.routes) probes.add(def);
  }
  if (groups.has('api')) {
    workflowRoutes(table, deps);
    runRoutes(table, deps);
    runStreamRoutes(table, deps);
    checkpointRoutes(table, deps);
    eventRoutes(table, deps);
    itemRoutes(table, deps);
    journalRoutes(table, deps);
    memoryRoutes(table, deps);
    artifactRoutes(table, deps);
    scheduleRoutes(table, deps);
    signalRoutes(table, deps);
    taskRoutes(table, deps);
    specRoutes(table, deps);
    toolRoutes(table, deps);
    policyRoutes(table, deps);
    authRoutes(table);
    auditRoutes(table, deps);
    keyRoutes(table, deps);
    limitRoutes(table, deps);
    fleetRoutes(table, deps);
    pluginRoutes(table, deps);
    adminRoutes(table, deps);
    statusRoutes(table, deps);
    logRoutes(table, deps);
    routeListRoutes(table, deps);
    securityRoutes(table, deps);
    // The web console: static files on routes of their own (no hook, no sign-in; see console.ts).
    if (options.consoleDir !== false)
      registerConsole(app, { dir: options.consoleDir ?? consoleDir(), basePath: options.basePath, oidc: auth.oidc?.settings.console });
  }
  if (groups.has('gateway')) {
    gatewayRoutes(table, deps);
    gatewayMessagesRoutes(table, deps);
    gatewayOpenAIRoutes(table, deps);
    usageRoutes(table, deps);
  }
  mountRoutes(app, table, probes, deps, traced);
  return app;
}
