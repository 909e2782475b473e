/**
 * Each request signed in, by `buildApp`'s `onRequest` hook: who it is (`auth.ts`) and the
 * tenant it acts in (`tenancy.ts`); a failed sign-in is an audit entry; then the request rate
 * limits of its key and tenant (not on probes). `principalOf` gives a handler its caller.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../lib/errors.js';
import { authorize, type Principal } from './auth.js';
import { noteTenant } from './request-context.js';
import type { RouteDef, RouteTable, ServerDeps } from './route.js';
import { actIn, assertTenantNamed, requestedTenant } from './tenancy.js';

const principals = new WeakMap<FastifyRequest, Principal>();

/** The caller a request was signed in as; undefined on open routes and before sign-in. */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}

/** Signs in every request to a route of `table` that needs a scope, and takes its rate-limit tokens unless it is one of `probes`. */
export function registerSignIn(app: FastifyInstance, table: RouteTable, probes: ReadonlySet<RouteDef>, deps: ServerDeps): void {
  const { services, metrics } = deps;
  // A callback hook, not an async one: signed in with a configured key and not rate-limited, a
  // request passes without a promise (each costs it the log context's async hooks).
  app.addHook('onRequest', (request, reply, done) => {
    const def = table.find(request.method, request.routeOptions.url);
    if (!def?.scope) {
      done();
      return;
    }
    const source = { requestId: request.id, clientIp: request.ip };
    const refused = (error: unknown): void => {
      // A failed sign-in is an audit entry (at most one per client address a minute); the 401 stands either way.
      if (!(error instanceof AgentryError && error.code === 'unauthorized')) {
        done(error as Error);
        return;
      }
      // Why a managed key was refused is for the log only; the client is told it is not valid.
      const why = error.details as { key_id?: string | null; refused?: string } | undefined;
      if (why?.refused !== undefined) request.log.warn({ key_id: why.key_id, reason: why.refused }, 'managed API key refused');
      void services.audit
        .signInFailed(source, error.message)
        .catch((e: unknown) => request.log.error({ err: e }, 'recording a failed sign-in failed'))
        .then(() => done(error));
    };
    const signedIn = (principal: Principal): void => {
      let acting: Principal;
      try {
        // The tenant it acts in: its own, or one a system admin names (`?tenant=`, X-Agentry-Tenant).
        const named = requestedTenant(request);
        if (deps.auth.multiTenant === true) assertTenantNamed(principal, named, def);
        acting = { ...actIn(principal, named), ...source };
      } catch (error) {
        refused(error);
        return;
      }
      principals.set(request, acting);
      noteTenant(acting.tenantId);
      // Request rate limits, after authentication (the buckets are the key's and its tenant's); not on probes.
      if (!probes.has(def) && services.limits.limitsRequests(acting)) admit(acting, reply).then(() => done(), done);
      else done();
    };
    let principal: Principal | Promise<Principal>;
    try {
      principal = authorize(deps.auth, request.headers, def.scope, { internalTokens: def.internalTokens === true });
    } catch (error) {
      refused(error);
      return;
    }
    if (principal instanceof Promise) principal.then(signedIn, refused);
    else signedIn(principal);
  });

  /** Takes the request's rate-limit tokens: sets the `RateLimit-*` headers, throws `rate_limited` when refused. */
  async function admit(principal: Principal, reply: FastifyReply): Promise<void> {
    const admission = await services.limits.admitRequest(principal);
    if (admission.state) {
      reply.header('ratelimit-limit', admission.state.limit);
      reply.header('ratelimit-remaining', admission.state.remaining);
      reply.header('ratelimit-reset', admission.state.resetSeconds);
    }
    if (admission.refused) {
      metrics.rateLimited(admission.tenantId, admission.reason ?? 'tenant');
      throw admission.refused;
    }
  }
}
