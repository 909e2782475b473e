/**
 * The route table: each route declares its method, path, schemas, the scope it needs and the
 * error codes it can answer, next to its handler. The table drives registration, the auth
 * check, the OpenAPI document and the route × role test matrix.
 */
import type { Redactor } from '../lib/redact.js';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest, FastifySchema, RawServerDefault, RouteGenericInterface } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ReadyzDetail } from '../app/config-schema.js';
import type { ReadinessRole } from '../app/readiness.js';
import type { Services } from '../app/services.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RemoteGatewayOptions } from '../gateway/remote.js';
import type { ErrorCode } from '../lib/errors.js';
import type { Metrics } from '../obs/metrics.js';
import type { AuthSettings, Principal, RouteScope } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Route groups a process can serve: `probes` (health, metrics, the API description), `api`
 * (runs, workflows, specs, tools), `gateway` (the OpenAI-compatible endpoint and usage).
 * `agentry serve` and `start api` serve all; `start gateway` serves `probes` and `gateway`.
 */
export const ROUTE_GROUPS = ['probes', 'api', 'gateway'] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** Where `/v1/chat/completions` goes: this process's gateway, or a gateway process it forwards to. */
export type GatewayBackend = { kind: 'local'; gateway: Gateway } | ({ kind: 'remote' } & RemoteGatewayOptions);

export type TypedRequest<S extends FastifySchema> = FastifyRequest<RouteGenericInterface, RawServerDefault, IncomingMessage, S, TypeBoxTypeProvider>;

export interface RouteDef<S extends FastifySchema = FastifySchema> {
  method: Method;
  /** Fastify path syntax (`/v1/runs/:id`). */
  url: string;
  /** Scope the caller needs; `authenticated` for any valid credential; `null` for open routes (probes, the API description). */
  scope: RouteScope;
  /**
   * The route reads or changes only what is the deployment's, no tenant's data (the project's
   * workflows, tool servers, the caller itself): in multi-tenant mode a system admin need not
   * name a tenant for it.
   */
  deploymentWide?: true;
  summary: string;
  tags: string[];
  /** Error codes this route answers besides the ones every route can (see `mount-routes.ts`). */
  errors: ErrorCode[];
  schema: S;
  /** Errors also carry OpenAI's `error` member (routes that speak OpenAI's wire format). */
  openaiErrors?: boolean;
  /** Errors are Anthropic's `{ type: "error", error: { type, message } }` instead of problem+json (`anthropic-errors.ts`). */
  anthropicErrors?: boolean;
  /**
   * Also accepts internal service tokens (`X-Agentry-Internal-Token`) of workers and API
   * processes: the gateway's routes only. Every other route answers 401 to a request carrying one.
   */
  internalTokens?: boolean;
  handler: (request: TypedRequest<S>, reply: FastifyReply, principal: Principal) => Promise<unknown>;
}

/**
 * What route handlers share. Handlers reach runs, tasks and the rest only through `services`
 * (the application layer, `src/app`), never the engine or the store.
 */
export interface ServerDeps {
  services: Services;
  metrics: Metrics;
  auth: AuthSettings;
  version: string;
  startedAt: number;
  /** Longest `?wait=` honoured. */
  maxWaitMs: number;
  sseHeartbeatMs: number;
  /** A worker heartbeat younger than this counts as a live worker (readiness, metrics). */
  workerTtlMs: number;
  /** How often an event stream looks for new events when nothing wakes it. */
  ssePollMs: number;
  /** How far the run stream looks back for changes committed late (`src/app/run-changes.ts`). */
  runStreamSettleMs: number;
  /** How often an open event stream checks its credential again: a revoked key's or expired token's stream ends. */
  sseAuthRecheckMs: number;
  /** Aborted when the server starts closing: long waits and event streams end. */
  closing: AbortSignal;
  /** Undefined when the project has no gateway.yaml and no remote gateway is configured. */
  gateway: GatewayBackend | undefined;
  /** The route groups this process serves. */
  groups: ReadonlySet<RouteGroup>;
  /** What this process does, as readiness sees it (`/readyz` and `/health` run these roles' checks). */
  roles: ReadonlySet<ReadinessRole>;
  /** Masks known secrets and URL credentials in every answer, event-stream frame and probe detail. */
  redactor: Redactor;
  /** Who sees `/readyz`'s checks: everyone (`full`), or trusted client addresses and admin/operator keys (`internal`). */
  readyz: { detail: ReadyzDetail; isTrusted: (address: string | undefined) => boolean };
}

export class RouteTable {
  readonly routes: RouteDef[] = [];
  /** url → method → the first route added for it: `find` runs on every request (sign-in), a scan of every route did not. */
  private readonly byUrl = new Map<string, Map<string, RouteDef>>();

  add<S extends FastifySchema>(def: RouteDef<S>): void {
    const route = def as unknown as RouteDef;
    this.routes.push(route);
    let methods = this.byUrl.get(route.url);
    if (methods === undefined) this.byUrl.set(route.url, (methods = new Map<string, RouteDef>()));
    if (!methods.has(route.method)) methods.set(route.method, route);
  }

  find(method: string, url: string | undefined): RouteDef | undefined {
    return url === undefined ? undefined : this.byUrl.get(url)?.get(method);
  }

  /** Methods the table has for a concrete path (for 405 and `Allow`). */
  methodsFor(path: string): Method[] {
    const methods = new Set<Method>();
    for (const r of this.routes) if (patternOf(r.url).test(path)) methods.add(r.method);
    return [...methods];
  }
}

const patterns = new Map<string, RegExp>();

function patternOf(url: string): RegExp {
  let re = patterns.get(url);
  if (!re) {
    const body = url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    re = new RegExp(`^${body}/?$`);
    patterns.set(url, re);
  }
  return re;
}
