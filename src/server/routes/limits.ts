/**
 * `GET /v1/admin/quotas`: the request rate limits and run quotas in force (`limits:` of
 * agentry.yaml) and the run usage of the caller's tenant — every tenant's for a caller that
 * reads every tenant. Needs `usage:read` (admin, operator, viewer), like LLM usage.
 */
import { QuotasSchema } from '../../app/dto/limits.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function limitRoutes(table: RouteTable, deps: ServerDeps): void {
  const { limits } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/admin/quotas',
    scope: 'usage:read',
    deploymentWide: true,
    summary: 'Rate limits and run quotas in force, with run usage per tenant',
    tags: ['limits'],
    errors: [],
    schema: { operationId: 'getQuotas', response: { 200: QuotasSchema } },
    handler: (_request, _reply, principal) => limits.quotas(principal),
  });
}
