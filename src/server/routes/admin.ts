/**
 * The deployment's administration (`/v1/admin/info`, `/v1/admin/sweep`): which build, database
 * (no password) and schema this process runs on, with its roles and tenancy (scope
 * `workers:read`: admin, operator), and one pass of the scheduler's sweeps forced now (scope
 * `maintenance:admin`: admin; it may prune runs under the configured retention). Deployment-wide:
 * callers of another tenant than the deployment's are refused (see `app/admin.ts`).
 */
import { Type } from 'typebox';
import { AdminInfoSchema, SweepSchema } from '../../app/dto/admin.js';
import type { RouteTable, ServerDeps } from '../route.js';

const NoBody = Type.Object({}, { additionalProperties: false });

export function adminRoutes(table: RouteTable, deps: ServerDeps): void {
  const { admin } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/admin/info',
    scope: 'workers:read',
    deploymentWide: true,
    summary: 'The answering process: version, Node.js, the store (kind, location without password, schema version), roles, tenancy, uptime',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'getAdminInfo', response: { 200: AdminInfoSchema } },
    handler: (_request, _reply, principal) =>
      admin.info(principal, { roles: [...deps.roles], tenancy: deps.auth.multiTenant === true ? 'multi' : 'single', startedAt: deps.startedAt }),
  });

  table.add({
    method: 'POST',
    url: '/v1/admin/sweep',
    scope: 'maintenance:admin',
    deploymentWide: true,
    summary: 'One pass of the scheduler’s sweeps now: lapsed leases, runs and human tasks past their deadline, due schedules, retention',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'runSweep', body: NoBody, response: { 200: SweepSchema } },
    handler: (_request, _reply, principal) => admin.sweep(principal),
  });
}
