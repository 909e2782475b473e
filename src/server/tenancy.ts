/**
 * Which tenant a request acts in. A principal acts in its own tenant (`Principal.tenantId`)
 * unless it names one with `?tenant=<id>` or `X-Agentry-Tenant: <id>`: naming its own tenant
 * changes nothing, naming another is allowed to system admins only (403 `forbidden` for anyone
 * else), and a value that is no tenant id is 400. Every authenticated route declares the
 * `tenant` query parameter (added once, when routes are registered: `withTenantParam`).
 */
import { Type, type TObject } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { AgentryError } from '../lib/errors.js';
import { checkTenantId, TENANT_HEADER, TENANT_ID_PATTERN } from '../lib/tenant.js';
import type { Principal } from './auth.js';

/** The `tenant` query parameter as the OpenAPI document shows it on every authenticated route. */
const TenantParam = Type.Optional(
  Type.String({
    pattern: TENANT_ID_PATTERN,
    description: 'Act in this tenant (system admins only; naming your own tenant changes nothing, another is 403). Same as the header `X-Agentry-Tenant`.',
  }),
);

/** A route's querystring schema with the `tenant` parameter added (a new object schema when it had none). */
export function withTenantParam(querystring: unknown): TObject {
  if (querystring === undefined) return Type.Object({ tenant: TenantParam });
  const schema = querystring as TObject;
  return { ...schema, properties: { ...schema.properties, tenant: TenantParam } };
}

/** The tenant the request names (`?tenant=` or `X-Agentry-Tenant`), checked; undefined when it names none. */
export function requestedTenant(request: Pick<FastifyRequest, 'query' | 'headers'>): string | undefined {
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.tenant;
  const fromHeader = request.headers[TENANT_HEADER];
  if (Array.isArray(fromQuery) || Array.isArray(fromHeader)) throw new AgentryError('invalid_request', 'name one tenant, not several');
  if (fromQuery !== undefined && typeof fromQuery !== 'string') throw new AgentryError('invalid_request', 'the tenant parameter is not a string');
  const query = fromQuery === undefined ? undefined : checkTenantId(fromQuery, 'the tenant parameter');
  const header = fromHeader === undefined ? undefined : checkTenantId(fromHeader.trim(), `the ${TENANT_HEADER} header`);
  if (query !== undefined && header !== undefined && query !== header) {
    throw new AgentryError('invalid_request', `?tenant=${query} and ${TENANT_HEADER}: ${header} name different tenants; name one`);
  }
  return query ?? header;
}

/**
 * Multi-tenant mode has no fallback tenant: a system admin (whose own tenant is only the
 * deployment's) names the tenant of every request that is not deployment-wide; `invalid_request` otherwise.
 */
export function assertTenantNamed(principal: Principal, tenant: string | undefined, route: { deploymentWide?: true }): void {
  if (tenant !== undefined || !principal.systemAdmin || route.deploymentWide === true) return;
  throw new AgentryError(
    'invalid_request',
    `multi-tenant mode: ${principal.name} is a system admin and must name the tenant this request acts in (?tenant=<id> or ${TENANT_HEADER})`,
  );
}

/**
 * The principal acting in `tenant`: itself when it names none or its own; a system admin in the
 * named tenant; `forbidden` for anyone else (a tenant's key never reaches into another).
 */
export function actIn(principal: Principal, tenant: string | undefined): Principal {
  if (tenant === undefined || tenant === principal.tenantId) return principal;
  if (!principal.systemAdmin) {
    throw new AgentryError('forbidden', `${principal.name} acts in tenant ${principal.tenantId} only; only a system admin may act in another tenant`, {
      details: { tenant: principal.tenantId },
    });
  }
  return { ...principal, tenantId: tenant };
}
