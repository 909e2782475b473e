/**
 * Tenant ids: what a tenant may be called, the one name no data lives in, and the header that
 * names the tenant a request acts in. Every layer that takes a tenant id (configuration, API
 * keys, OIDC claims, a schedule's `tenant:`, `?tenant=`) checks it with `tenantIdProblem`.
 */
import { AgentryError } from './errors.js';

/** 1–64 letters, digits or `_.@-` (the characters of an API key's name). */
export const TENANT_ID_PATTERN = '^[A-Za-z0-9_.@-]{1,64}$';
const TENANT_ID = new RegExp(TENANT_ID_PATTERN);

/** Reserved: the name of the installation itself, never a tenant data can live in. */
export const SYSTEM_TENANT = 'system';

/** The deployment's tenant when `AGENTRY_TENANT` is not set. */
export const DEFAULT_TENANT = 'default';

/** The header naming the tenant a request acts in (like `?tenant=`); system admins only may name another tenant than their own. */
export const TENANT_HEADER = 'x-agentry-tenant';

/** Why `id` is no tenant id, or undefined when it is one. */
export function tenantIdProblem(id: string): string | undefined {
  if (!TENANT_ID.test(id)) return `'${id.slice(0, 80)}' is not a tenant id (1–64 letters, digits or _.@-)`;
  if (id === SYSTEM_TENANT) return `'${SYSTEM_TENANT}' is reserved for the installation itself; it is not a tenant`;
  return undefined;
}

/** `id` when it is a tenant id; `invalid_request` naming `what` otherwise. */
export function checkTenantId(id: string, what: string): string {
  const problem = tenantIdProblem(id);
  if (problem !== undefined) throw new AgentryError('invalid_request', `${what}: ${problem}`, { details: { tenant: id.slice(0, 80) } });
  return id;
}
