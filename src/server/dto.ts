/**
 * What the API returns: typebox schemas (validation, serialisation, OpenAPI and TypeScript
 * types from one place) and the functions that turn store records into them. Field names are
 * snake_case; times are ISO 8601 strings.
 */
import { Type, type Static } from 'typebox';
import { RUN_STATUSES, STEP_STATUSES, type EventRecord, type RunRecord, type StepRecord } from '../types.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ format: 'date-time' });

export const ErrorInfoSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Optional(Type.Boolean()),
  details: Type.Optional(Type.Unknown()),
});

export const RunSchema = Type.Object(
  {
    id: Type.String(),
    workflow: Type.String(),
    status: Type.Enum([...RUN_STATUSES]),
    input: Type.Unknown(),
    output: Type.Unknown(),
    error: Nullable(ErrorInfoSchema),
    priority: Type.Integer(),
    tenant_id: Type.String(),
    spec_hash: Type.String(),
    created_at: Time,
    started_at: Nullable(Time),
    finished_at: Nullable(Time),
    deadline_at: Nullable(Time),
    updated_at: Time,
    last_event_seq: Type.Integer(),
  },
  { title: 'Run' },
);
export type RunDto = Static<typeof RunSchema>;

export const StepSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  status: Type.Enum([...STEP_STATUSES]),
  attempt: Type.Integer({ description: 'Number of the latest attempt (0 before the first)' }),
  started_at: Nullable(Time),
  finished_at: Nullable(Time),
  duration_ms: Nullable(Type.Integer()),
  available_at: Nullable(Time),
  output: Type.Unknown(),
  error: Nullable(ErrorInfoSchema),
  meta: Type.Unknown(),
});

export const RunUsageSchema = Type.Object(
  {
    calls: Type.Integer({ description: 'LLM call attempts recorded against the run' }),
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cost_usd: Type.Number(),
  },
  { title: 'RunUsage', description: "The run's LLM usage from the gateway's ledger" },
);

export const RunDetailSchema = Type.Object(
  {
    ...RunSchema.properties,
    steps: Type.Array(StepSchema),
    // Optional in the type because the CLI's local mode builds this shape too; the API always sends it.
    usage: Type.Optional(RunUsageSchema),
  },
  { title: 'RunDetail' },
);

export const EventSchema = Type.Object(
  {
    seq: Type.Integer(),
    type: Type.String(),
    step_id: Nullable(Type.String()),
    at: Time,
    data: Type.Unknown(),
  },
  { title: 'Event' },
);
export type EventDto = Static<typeof EventSchema>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function runDto(run: RunRecord): RunDto {
  return {
    id: run.id,
    workflow: run.workflow,
    status: run.status,
    input: run.input,
    output: run.output,
    error: run.error,
    priority: run.priority,
    tenant_id: run.tenantId,
    spec_hash: run.specHash,
    created_at: new Date(run.createdAt).toISOString(),
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    deadline_at: iso(run.deadlineAt),
    updated_at: new Date(run.updatedAt).toISOString(),
    last_event_seq: run.eventSeq,
  };
}

export function stepDto(step: StepRecord): Static<typeof StepSchema> {
  return {
    id: step.stepId,
    kind: step.kind,
    status: step.status,
    attempt: step.attempt,
    started_at: iso(step.startedAt),
    finished_at: iso(step.finishedAt),
    duration_ms: step.startedAt !== null && step.finishedAt !== null ? step.finishedAt - step.startedAt : null,
    available_at: iso(step.availableAt),
    output: step.output,
    error: step.error,
    meta: step.meta,
  };
}

export function eventDto(event: EventRecord): EventDto {
  return { seq: event.seq, type: event.type, step_id: event.stepId, at: new Date(event.at).toISOString(), data: event.data };
}
