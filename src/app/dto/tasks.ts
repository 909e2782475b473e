/**
 * What the API returns for human tasks and run signals: typebox schemas (validation,
 * serialisation, OpenAPI and the CLI's types from one place) and the functions that turn store
 * records into them. Like `runs.ts`: snake_case fields, ISO 8601 times.
 */
import { Type, type Static } from 'typebox';
import { TASK_DECISIONS, TASK_KINDS, TASK_STATUSES, type SignalRecord, type TaskRecord } from '../../types.js';
import { Nullable, Time, iso } from './common.js';

export const TaskSchema = Type.Object(
  {
    id: Type.String(),
    run_id: Type.String(),
    step_id: Type.String(),
    workflow: Type.String(),
    kind: Type.Enum([...TASK_KINDS], {
      description: 'human: a human step; tool_approval: an agent tool call waiting for approval; review: an agent output below its confidence threshold',
    }),
    status: Type.Enum([...TASK_STATUSES]),
    title: Type.String(),
    instructions: Nullable(Type.String()),
    form_schema: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema the data of a submit decision must match' })),
    role: Nullable(Type.String({ description: 'Keys holding this role may decide (admin and operator always may)' })),
    assignees: Nullable(Type.Array(Type.String(), { description: 'Names of the API keys that may decide' })),
    context: Type.Unknown({ description: 'What the reviewer needs to see (a tool call and its arguments, an agent output, …)' }),
    due_at: Nullable(Time),
    escalations: Type.Integer({ description: 'How many times the task was escalated after its timeout' }),
    decision: Nullable(Type.Enum([...TASK_DECISIONS, 'timed_out'])),
    response: Type.Unknown({ description: 'The data given with the decision (null without)' }),
    comment: Nullable(Type.String()),
    decided_by: Nullable(Type.String({ description: 'Name of the key (or CLI user) that decided' })),
    decided_at: Nullable(Time),
    created_at: Time,
    updated_at: Time,
  },
  { title: 'Task' },
);
export type TaskDto = Static<typeof TaskSchema>;

export const TaskPageSchema = Type.Object({ items: Type.Array(TaskSchema), next_cursor: Nullable(Type.String()) }, { title: 'TaskPage' });
export type TaskPageDto = Static<typeof TaskPageSchema>;

/** The answer to `POST /v1/runs/{id}/signals/{name}`. */
export const SignalReceiptSchema = Type.Object(
  {
    run_id: Type.String(),
    name: Type.String(),
    duplicate: Type.Boolean({ description: 'True when this signal had already been received with the same payload (nothing changed)' }),
    received_at: { ...Time, description: 'When the signal was first received' },
  },
  { title: 'SignalReceipt' },
);
export type SignalReceiptDto = Static<typeof SignalReceiptSchema>;

export function taskDto(task: TaskRecord): TaskDto {
  return {
    id: task.id,
    run_id: task.runId,
    step_id: task.stepId,
    workflow: task.workflow,
    kind: task.kind,
    status: task.status,
    title: task.title,
    instructions: task.instructions,
    form_schema: task.formSchema,
    role: task.role,
    assignees: task.assignees,
    context: task.context ?? null,
    due_at: iso(task.dueAt),
    escalations: task.escalations,
    decision: task.decision,
    response: task.response ?? null,
    comment: task.comment,
    decided_by: task.decidedBy,
    decided_at: iso(task.decidedAt),
    created_at: iso(task.createdAt),
    updated_at: iso(task.updatedAt),
  };
}

export function signalReceiptDto(signal: SignalRecord, duplicate: boolean): SignalReceiptDto {
  return { run_id: signal.runId, name: signal.name, duplicate, received_at: iso(signal.receivedAt) };
}
