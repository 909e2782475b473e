/** The items of a `for_each` step: each a step of its own, with its item, status and output. */
import { Type } from 'typebox';
import { MapItemPageSchema } from '../../app/dto/runs.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function itemRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/runs/:id/steps/:step/items',
    scope: 'runs:read',
    summary: 'List the items of a for_each step, in input order',
    tags: ['runs'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'listStepItems',
      params: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }),
        step: Type.String({ minLength: 1, maxLength: 128, description: 'Id of a step with for_each' }),
      }),
      querystring: Type.Object({
        offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Index of the first item' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page (at most 1000)' })),
      }),
      response: { 200: MapItemPageSchema },
    },
    handler: (request, _reply, principal) =>
      deps.services.runs.items(principal, request.params.id, request.params.step, { offset: request.query.offset ?? 0, limit: request.query.limit ?? 100 }),
  });
}
