/** What the API returns for the workflows a process can start (`/v1/workflows`). */
import { Type, type Static } from 'typebox';
import { isBuiltinWorkflow } from '../../spec/builtin.js';
import type { CompiledWorkflow } from '../../spec/model.js';

export const WorkflowSchema = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  file: Type.Union([Type.String(), Type.Null()]),
  builtin: Type.Boolean({
    description: 'True for a workflow of Agentry itself (`agentry-smoke`, `agentry-smoke-review`, which `agentry smoke` starts), present in every deployment',
  }),
  spec_hash: Type.String(),
  steps: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.String(),
      needs: Type.Array(Type.String()),
      for_each: Type.Boolean({ description: 'True for a step with `for_each`: its items are listed by `GET /v1/runs/{id}/steps/{step}/items`' }),
    }),
  ),
  input_schema: Type.Unknown({ description: 'JSON Schema of the run input, or null' }),
});
export type WorkflowDto = Static<typeof WorkflowSchema>;

export function workflowDto(wf: CompiledWorkflow): WorkflowDto {
  return {
    name: wf.name,
    description: wf.description ?? null,
    file: wf.file ?? null,
    builtin: isBuiltinWorkflow(wf.name),
    spec_hash: wf.hash,
    steps: wf.order.map((id) => {
      const step = wf.steps.get(id);
      return { id, kind: step?.kind ?? 'unknown', needs: step?.needs ?? [], for_each: step?.forEach !== undefined };
    }),
    input_schema: wf.inputSchema ?? null,
  };
}
