/** The items of a `for_each` step: each a step of its own, with its item, status and output. */
import { Type } from 'typebox';
import { AgentryError } from '../../lib/errors.js';
import { StepSchema, stepDto } from '../dto.js';
import type { RouteTable, ServerDeps } from '../route.js';

const ItemSchema = Type.Intersect([StepSchema, Type.Object({ index: Type.Integer(), item: Type.Unknown({ description: 'The list element this item ran with' }) })], {
  title: 'MapItem',
});

export function itemRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/runs/:id/steps/:step/items',
    scope: 'runs:read',
    summary: 'List the items of a for_each step, in input order',
    tags: ['runs'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      params: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }),
        step: Type.String({ minLength: 1, maxLength: 128, description: 'Id of a step with for_each' }),
      }),
      querystring: Type.Object({
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Index of the first item' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page (at most 1000)' })),
      }),
      response: {
        200: Type.Object({
          items: Type.Array(ItemSchema),
          next_offset: Type.Union([Type.Integer(), Type.Null()], { description: 'Offset of the next page; null on the last' }),
        }),
      },
    },
    async handler(request) {
      const { id, step } = request.params;
      const run = await deps.engine.getRun(id);
      const spec = deps.engine.transitions.workflowOf(run).steps.get(step);
      if (!spec) throw new AgentryError('not_found', `run ${id} has no step '${step}'`);
      if (!spec.forEach) throw new AgentryError('invalid_request', `step '${step}' has no for_each; it has no items`);
      const offset = request.query.offset ?? 0;
      const limit = request.query.limit ?? 100;
      const rows = await deps.store.listItems(id, step, { offset, limit: limit + 1 });
      const items = rows.slice(0, limit).map((row) => ({ ...stepDto(row), index: row.itemIndex ?? 0, item: row.item }));
      return { items, next_offset: rows.length > limit ? offset + limit : null };
    },
  });
}
