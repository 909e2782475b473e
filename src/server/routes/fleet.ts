/**
 * The fleet (`/v1/admin/workers`, `/v1/admin/maintenance`): the worker processes and a drain of
 * one (scopes `workers:read` / `workers:write`: admin, operator), and the maintenance mode that
 * pauses claiming fleet-wide while the API keeps answering, or quiesces the deployment (new runs
 * refused, accepted ones finish) (scope `maintenance:admin`: admin).
 * They are the deployment's, no tenant's: callers of another tenant than the deployment's are
 * refused (see `app/fleet.ts`).
 */
import { Type } from 'typebox';
import { MAX_REASON_LENGTH } from '../../app/fleet.js';
import { MaintenanceSchema, WorkerListSchema, WorkerSchema } from '../../app/dto/fleet.js';
import type { RouteTable, ServerDeps } from '../route.js';

const WorkerRef = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'A worker id (`wrk_…`), as `GET /v1/admin/workers` lists it' }) });
const NoBody = Type.Object({}, { additionalProperties: false });

export function fleetRoutes(table: RouteTable, deps: ServerDeps): void {
  const { fleet } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/admin/workers',
    scope: 'workers:read',
    deploymentWide: true,
    summary: 'The worker processes: host, pid, roles, concurrency, the steps each holds, heartbeat age and state (active, draining, stale)',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'listWorkers', response: { 200: WorkerListSchema } },
    handler: (_request, _reply, principal) => fleet.list(principal),
  });

  table.add({
    method: 'POST',
    url: '/v1/admin/workers/:id/drain',
    scope: 'workers:write',
    deploymentWide: true,
    summary: 'Drain a worker: it claims no more steps, finishes its running ones (hands back the rest after its shutdown grace) and exits',
    tags: ['fleet'],
    errors: ['not_found'],
    schema: { operationId: 'drainWorker', params: WorkerRef, body: NoBody, response: { 200: WorkerSchema } },
    handler: (request, _reply, principal) => fleet.drain(principal, request.params.id),
  });

  table.add({
    method: 'GET',
    url: '/v1/admin/maintenance',
    scope: 'maintenance:admin',
    deploymentWide: true,
    summary: 'Whether the deployment is in maintenance mode (no worker claims a step), since when, by whom and why',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'getMaintenance', response: { 200: MaintenanceSchema } },
    handler: (_request, _reply, principal) => fleet.maintenance(principal),
  });

  // PUT before DELETE: the route × role test calls them in this order, so maintenance mode is on only between the two.
  table.add({
    method: 'PUT',
    url: '/v1/admin/maintenance',
    scope: 'maintenance:admin',
    deploymentWide: true,
    summary:
      'Turn maintenance mode on: no worker claims a step (running ones finish); the API keeps answering and new runs queue. ' +
      'With `quiesce`: the API refuses new runs (503 `maintenance_quiesced`) and its `/readyz` answers 503, while workers finish the accepted runs',
    tags: ['fleet'],
    errors: [],
    schema: {
      operationId: 'enterMaintenance',
      body: Type.Object(
        {
          reason: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH, description: 'Why, for whoever looks (`GET`, /readyz, the audit log)' })),
          quiesce: Type.Optional(
            Type.Boolean({ description: 'Quiesce rather than pause claiming: refuse new runs, let workers finish the accepted ones (default false)' }),
          ),
        },
        { additionalProperties: false },
      ),
      response: { 200: MaintenanceSchema },
    },
    handler: (request, _reply, principal) => fleet.startMaintenance(principal, request.body.reason, request.body.quiesce === true),
  });

  table.add({
    method: 'DELETE',
    url: '/v1/admin/maintenance',
    scope: 'maintenance:admin',
    deploymentWide: true,
    summary: 'Turn maintenance mode off: workers claim again at their next poll',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'exitMaintenance', response: { 200: MaintenanceSchema } },
    handler: (_request, _reply, principal) => fleet.endMaintenance(principal),
  });
}
