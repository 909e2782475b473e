/** Workflows loaded by this server. */
import { Type } from 'typebox';
import { WorkflowSchema } from '../../app/dto/workflows.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function workflowRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/workflows',
    scope: 'specs:read',
    deploymentWide: true,
    summary: 'List the workflows this server can start',
    tags: ['workflows'],
    errors: [],
    schema: { operationId: 'listWorkflows', response: { 200: Type.Object({ items: Type.Array(WorkflowSchema) }) } },
    handler: () => Promise.resolve({ items: deps.services.workflows.list() }),
  });
}
