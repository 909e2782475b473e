/**
 * The route table mounted on Fastify: each route's schema as OpenAPI shows it (`?tenant=` on
 * every authenticated route, its security schemes and scope, and every error it can answer as
 * problem+json) and a handler that passes it the signed-in caller and times the handler alone.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { ErrorCode } from '../lib/errors.js';
import { jsonDepthError } from '../lib/limits.js';
import { ANTHROPIC_ERROR_SHAPE } from './anthropic-errors.js';
import { AUTHENTICATED, type Principal } from './auth.js';
import { problemResponses } from './problem.js';
import type { RouteDef, RouteTable, ServerDeps } from './route.js';
import { runAccessOf } from './scopes.js';
import { principalOf } from './sign-in.js';
import { withTenantParam } from './tenancy.js';
import { inRequestSpan } from './tracing.js';

/** Registers every route of `table` with `app`; `probes` are not rate-limited, `traced` runs each handler in the request's span. */
export function mountRoutes(app: FastifyInstance, table: RouteTable, probes: ReadonlySet<RouteDef>, deps: ServerDeps, traced: boolean): void {
  const { metrics } = deps;
  const nobody: Principal = {
    name: 'anonymous',
    scopes: new Set(),
    roles: [],
    runAccess: runAccessOf(new Set()),
    tenantId: deps.auth.tenant,
    systemAdmin: false,
  };
  for (const def of table.routes) {
    const security: Record<string, string[]>[] =
      def.scope === null ? [] : [{ bearerAuth: [] }, { apiKeyHeader: [] }, ...(def.internalTokens === true ? [{ internalToken: [] }] : [])];
    app.route({
      method: def.method,
      url: def.url,
      schema: {
        ...def.schema,
        // Every authenticated route takes `?tenant=` (see tenancy.ts); declared here, once.
        ...(def.scope === null ? {} : { querystring: withTenantParam(def.schema.querystring) }),
        summary: def.summary,
        tags: def.tags,
        security,
        ...(def.scope === null
          ? {}
          : { description: def.scope === AUTHENTICATED ? 'Requires any valid API key or token.' : `Requires scope \`${def.scope}\`.` }),
        response: {
          ...(def.schema.response as Record<string, unknown> | undefined),
          ...problemResponses(
            [...new Set([...commonErrors(def, !probes.has(def)), ...def.errors])],
            def.anthropicErrors === true ? ANTHROPIC_ERROR_SHAPE : undefined,
          ),
        },
      },
      // A GET has no body: Fastify does not read one.
      ...(def.method === 'GET' ? {} : { preValidation: checkBody }),
      // Timed apart from the request (OBS-06): the service call alone, without auth, parsing and serialisation.
      handler: async (request, reply) => {
        const started = performance.now();
        const principal = principalOf(request) ?? nobody;
        try {
          return await (traced ? inRequestSpan(request, () => def.handler(request as never, reply, principal)) : def.handler(request, reply, principal));
        } finally {
          metrics.httpHandler(def.method, def.url, (performance.now() - started) / 1000);
        }
      },
    });
  }
}

/**
 * The body of a request to a route whose method carries one, before validation: a bodiless POST
 * or PUT (`curl -X POST …/cancel`) validates as an empty object; a body nested past
 * `LIMITS.jsonDepth` is refused here, before schema validation or any service walks it. A route
 * hook rather than an app-wide one, so that a GET passes no hook for it.
 */
function checkBody(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if ((request.method === 'POST' || request.method === 'PUT') && request.body === undefined) request.body = {};
  done(jsonDepthError(request.body, 'the request body'));
}

/** Errors every route can answer, by what it has (`limited`: its requests are rate-limited). */
function commonErrors(def: RouteDef, limited: boolean): ErrorCode[] {
  const s = def.schema;
  const codes: ErrorCode[] = ['internal'];
  if (s.params || s.querystring || s.body || s.headers) codes.push('invalid_request');
  if (def.scope !== null) codes.push('unauthorized', 'auth_unavailable');
  if (def.scope !== null && def.scope !== AUTHENTICATED) codes.push('forbidden');
  if (def.scope !== null && limited) codes.push('rate_limited');
  if (s.body) codes.push('payload_too_large', 'unsupported_media_type', 'limit_exceeded');
  return codes;
}
