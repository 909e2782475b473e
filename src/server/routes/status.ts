/**
 * The deployment at a glance (`GET /v1/admin/status`, what `agentry status` shows): the answering
 * process, the readiness checks of its roles, the worker processes and the queue, in one answer
 * (scope `workers:read`: admin, operator). Deployment-wide, like `/v1/admin/info`.
 */
import { StatusSchema } from '../../app/dto/status.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function statusRoutes(table: RouteTable, deps: ServerDeps): void {
  const { status } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/admin/status',
    scope: 'workers:read',
    deploymentWide: true,
    summary:
      'The deployment at a glance: the answering process (version, roles, store), its readiness checks, the worker processes, and the queue (due steps, runs and steps by status)',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'getStatus', response: { 200: StatusSchema } },
    handler: (_request, _reply, principal) =>
      status.status(principal, { roles: [...deps.roles], tenancy: deps.auth.multiTenant === true ? 'multi' : 'single', startedAt: deps.startedAt }, deps.roles),
  });
}
