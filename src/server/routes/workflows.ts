/** Workflows loaded by this server. */
import { Type } from 'typebox';
import type { RouteTable, ServerDeps } from '../route.js';

const WorkflowSchema = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  file: Type.Union([Type.String(), Type.Null()]),
  spec_hash: Type.String(),
  steps: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), needs: Type.Array(Type.String()) })),
  input_schema: Type.Unknown({ description: 'JSON Schema of the run input, or null' }),
});

export function workflowRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/workflows',
    scope: 'specs:read',
    summary: 'List the workflows this server can start',
    tags: ['workflows'],
    errors: [],
    schema: { response: { 200: Type.Object({ items: Type.Array(WorkflowSchema) }) } },
    async handler() {
      const items = [...deps.engine.workflows.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((wf) => ({
          name: wf.name,
          description: wf.description ?? null,
          file: wf.file ?? null,
          spec_hash: wf.hash,
          steps: wf.order.map((id) => {
            const step = wf.steps.get(id);
            return { id, kind: step?.kind ?? 'unknown', needs: step?.needs ?? [] };
          }),
          input_schema: wf.inputSchema ?? null,
        }));
      return Promise.resolve({ items });
    },
  });
}
