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
  app.addHook('onRequest', async (request, reply) => {
    const def = table.find(request.method, request.routeOptions.url);
    if (!def?.scope) return;
    const source = { requestId: request.id, clientIp: request.ip };
    let principal: Principal;
    try {
      principal = await authorize(deps.auth, request.headers, def.scope, { internalTokens: def.internalTokens === true });
      // The tenant it acts in: its own, or one a system admin names (`?tenant=`, X-Agentry-Tenant).
      const named = requestedTenant(request);
      if (deps.auth.multiTenant === true) assertTenantNamed(principal, named, def);
      principal = { ...actIn(principal, named), ...source };
      principals.set(request, principal);
      noteTenant(principal.tenantId);
    } catch (error) {
      // A failed sign-in is an audit entry (at most one per client address a minute); the 401 stands either way.
      if (error instanceof AgentryError && error.code === 'unauthorized') {
        // Why a managed key was refused is for the log only; the client is told it is not valid.
        const refused = error.details as { key_id?: string | null; refused?: string } | undefined;
        if (refused?.refused !== undefined) request.log.warn({ key_id: refused.key_id, reason: refused.refused }, 'managed API key refused');
        await services.audit.signInFailed(source, error.message).catch((e: unknown) => request.log.error({ err: e }, 'recording a failed sign-in failed'));
      }
      throw error;
    }
    // Request rate limits, after authentication (the buckets are the key's and its tenant's); not on probes.
    // Without a limit for the caller, no await: each promise costs every request its async-context hooks.
    if (!probes.has(def) && services.limits.limitsRequests(principal)) await admit(principal, reply);
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
