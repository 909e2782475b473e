/**
 * What the API returns for runs: typebox schemas (validation, serialisation, OpenAPI and
 * TypeScript types from one place) and the functions that turn store records into them. The
 * server renders these and the CLI prints them (its `--json` equals the API's answer). Field
 * names are snake_case; times are ISO 8601 strings.
 */
import { Type, type Static } from 'typebox';
import { AgentryError } from '../../lib/errors.js';
import { diffValues } from '../../engine/reruns.js';
import { ATTEMPT_STATUSES, RUN_STATUSES, STEP_STATUSES, type AttemptRecord, type EventRecord, type RunRecord } from '../../types.js';
import { Nullable, Time, iso } from './common.js';
import { traceIdOf } from '../../obs/run-trace.js';
import { LABEL_KEY_PATTERN, LABEL_VALUE_MAX_LENGTH, MAX_LABELS } from '../run-start.js';
import type { ListedRun, StepView } from '../../store/store.js';

export const ErrorInfoSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Optional(Type.Boolean()),
  details: Type.Optional(Type.Unknown()),
});

/** What a run may override of one step (where the step lists it under `overridable:`). */
export const StepOverridesSchema = Type.Object(
  {
    timeout: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: "The step's timeout (a duration, e.g. 30s)" })),
    retry: Type.Optional(
      Type.Object(
        {
          max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          backoff: Type.Optional(Type.Enum(['exponential', 'fixed'])),
          initial: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
          max: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
          jitter: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false, description: "The step's retry block, as in the spec (replaces the spec's)" },
      ),
    ),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Agent steps: the model group to call (gateway.yaml)' })),
  },
  { additionalProperties: false },
);

export const RunOverridesSchema = Type.Object(
  {
    steps: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), StepOverridesSchema, {
      description: 'By step id: the settings to override',
      maxProperties: 200,
    }),
  },
  { additionalProperties: false, description: 'Overrides of settings the workflow marks overridable: (docs/specs.md#overrides)' },
);

/** Labels of a run: string keys (letters, digits, `._/-`) to string values. */
export const RunMetadataSchema = Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), Type.String({ maxLength: LABEL_VALUE_MAX_LENGTH }), {
  maxProperties: MAX_LABELS,
  description: 'Labels of the run (string → string), filterable with GET /v1/runs?label=key:value',
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
    retry_of: Nullable(Type.String({ description: 'The run this one re-runs (POST /v1/runs/{id}/retry), if any' })),
    created_by: Nullable(
      Type.String({
        description:
          "Who started the run: the API key (or CLI user) that started or retried it, `schedule:<workflow>` for a scheduled run, the parent's for a child run; null for runs stored before owners were recorded",
      }),
    ),
    parent: Nullable(
      Type.Object({ run_id: Type.String(), step_id: Type.String() }, { description: 'The run and `workflow:` step that started this run as a child, if any' }),
    ),
    trace_id: Nullable(
      Type.String({
        description:
          'The OpenTelemetry trace id of the run (32 hex digits): every span of the run, on every process, is in this trace (docs/operations/tracing.md); null when the run was created while tracing was off and no tracing worker has started it',
      }),
    ),
    metadata: RunMetadataSchema,
    overrides: Nullable(RunOverridesSchema),
    adhoc: Type.Boolean({ description: "The run's spec was given inline (POST /v1/runs with spec), not taken from the project" }),
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

export const ChildRunSchema = Type.Object(
  {
    id: Type.String(),
    workflow: Type.String(),
    status: Type.Enum([...RUN_STATUSES]),
    step_id: Type.String({ description: 'The step of the parent run that started it' }),
  },
  { title: 'ChildRun' },
);

export const RunDetailSchema = Type.Object(
  {
    ...RunSchema.properties,
    steps: Type.Array(StepSchema),
    children: Type.Array(ChildRunSchema, { description: "Runs started by this run's `workflow:` steps, oldest first" }),
    usage: RunUsageSchema,
    artifacts: Type.Array(Type.String(), { description: 'Names of the files its steps wrote, by name: GET /v1/runs/{id}/artifacts lists them in full' }),
  },
  { title: 'RunDetail' },
);
export type RunDetailDto = Static<typeof RunDetailSchema>;
export type StepDto = Static<typeof StepSchema>;
export type ChildRunDto = Static<typeof ChildRunSchema>;

/** A run in a listing (`GET /v1/runs`, the run stream): the run with its LLM cost. */
export const RunListItemSchema = Type.Object(
  {
    ...RunSchema.properties,
    cost_usd: Type.Number({ description: "The run's LLM cost so far from the gateway's ledger (as usage.cost_usd of GET /v1/runs/{id})" }),
  },
  { title: 'RunListItem' },
);
export type RunListItemDto = Static<typeof RunListItemSchema>;

/** A change of a run (`GET /v1/runs/stream`): a run-level event with the run as it was read just after it. */
export const RunChangeSchema = Type.Object(
  {
    id: Type.String({ description: 'Position of the change (`<time>.<seq>.<run id>`): send it as Last-Event-ID (or ?after=) to resume after it' }),
    type: Type.String({ description: 'The run-level event: run.created, run.started, run.waiting, run.resumed, run.blocked, or how the run ended' }),
    seq: Type.Integer({ description: "The event's seq in its run" }),
    at: Time,
    run: RunListItemSchema,
  },
  { title: 'RunChange' },
);
export type RunChangeDto = Static<typeof RunChangeSchema>;

/** `GET /v1/runs/stream` as JSON: the changes up to now after a position. */
export const RunChangePageSchema = Type.Object(
  {
    items: Type.Array(RunChangeSchema),
    next_after: Nullable(Type.String({ description: 'Pass as ?after= (or Last-Event-ID) for the changes after these; null when there were none' })),
  },
  { title: 'RunChangePage' },
);
export type RunChangePageDto = Static<typeof RunChangePageSchema>;

/** `GET /v1/runs`: a page of runs, newest first. */
export const RunPageSchema = Type.Object({ items: Type.Array(RunListItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });
export type RunPageDto = Static<typeof RunPageSchema>;

/** `POST /v1/runs/{id}/retry`: the new run and the run it re-ran. */
export const RetriedRunSchema = Type.Object({ ...RunSchema.properties, retry_of: Type.String() }, { title: 'RetriedRun' });
export type RetriedRunDto = Static<typeof RetriedRunSchema>;

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

/** `GET /v1/runs/{id}/events` as JSON: a page of events. */
export const EventPageSchema = Type.Object({ items: Type.Array(EventSchema), next_after: Type.Integer({ description: 'Pass as ?after= for the next page' }) });
export type EventPageDto = Static<typeof EventPageSchema>;

/** An item of a `for_each` step: a step of its own, with its index and list element. */
export const MapItemSchema = Type.Intersect(
  [StepSchema, Type.Object({ index: Type.Integer(), item: Type.Unknown({ description: 'The list element this item ran with' }) })],
  {
    title: 'MapItem',
  },
);

/** `GET /v1/runs/{id}/steps/{step}/items`: a page of a `for_each` step's items, in input order. */
export const MapItemPageSchema = Type.Object({
  items: Type.Array(MapItemSchema),
  next_offset: Type.Union([Type.Integer(), Type.Null()], { description: 'Offset of the next page; null on the last' }),
});
export type MapItemPageDto = Static<typeof MapItemPageSchema>;

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
    created_at: iso(run.createdAt),
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    deadline_at: iso(run.deadlineAt),
    updated_at: iso(run.updatedAt),
    last_event_seq: run.eventSeq,
    retry_of: run.retryOf,
    created_by: run.createdBy,
    parent: run.parentRunId === null ? null : { run_id: run.parentRunId, step_id: run.parentStepId ?? '' },
    trace_id: traceIdOf(run.traceContext),
    metadata: run.metadata ?? {},
    overrides: run.overrides,
    adhoc: run.adhoc,
  };
}

/** A listed run: `runDto` with its cost, rounded like the detail's `usage.cost_usd`. */
export function runListItemDto(run: ListedRun): RunListItemDto {
  return { ...runDto(run), cost_usd: Math.round(run.costUsd * 1e8) / 1e8 };
}

export function childRunDto(run: RunRecord): ChildRunDto {
  return { id: run.id, workflow: run.workflow, status: run.status, step_id: run.parentStepId ?? '' };
}

export function stepDto(step: StepView): StepDto {
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
  return { seq: event.seq, type: event.type, step_id: event.stepId, at: iso(event.at), data: event.data };
}

export const AttemptSchema = Type.Object(
  {
    run_id: Type.String({ description: 'The run that made the attempt (this run or one it re-ran)' }),
    attempt: Type.Integer({ description: 'Number of the attempt within its run, from 1' }),
    status: Type.Enum([...ATTEMPT_STATUSES]),
    worker_id: Nullable(Type.String()),
    input: Type.Unknown({ description: "The step's rendered configuration (and input) as the attempt ran it; secrets masked" }),
    output: Type.Unknown(),
    error: Nullable(ErrorInfoSchema),
    started_at: Time,
    finished_at: Nullable(Time),
  },
  { title: 'Attempt' },
);
export type AttemptDto = Static<typeof AttemptSchema>;

export const ValueChangeSchema = Type.Object(
  {
    path: Type.String({ description: "JSON Pointer of the changed value ('' for the whole value)" }),
    before: Type.Optional(Type.Unknown({ description: 'Absent when the value was added' })),
    after: Type.Optional(Type.Unknown({ description: 'Absent when the value was removed' })),
  },
  { title: 'ValueChange' },
);

export const AttemptHistorySchema = Type.Object(
  {
    items: Type.Array(AttemptSchema, { description: 'Oldest first, across the run and the runs it re-ran' }),
    diff: Type.Optional(
      Type.Object(
        {
          from: Type.Integer({ description: '1-based position in items' }),
          to: Type.Integer({ description: '1-based position in items' }),
          input: Type.Array(ValueChangeSchema),
          output: Type.Array(ValueChangeSchema),
        },
        { description: 'With ?diff=a,b: what changed from attempt a to attempt b' },
      ),
    ),
  },
  { title: 'AttemptHistory' },
);
export type AttemptHistoryDto = Static<typeof AttemptHistorySchema>;

export function attemptDto(attempt: AttemptRecord): AttemptDto {
  return {
    run_id: attempt.runId,
    attempt: attempt.attempt,
    status: attempt.status,
    worker_id: attempt.workerId,
    input: attempt.input,
    output: attempt.output,
    error: attempt.error,
    started_at: iso(attempt.startedAt),
    finished_at: iso(attempt.finishedAt),
  };
}

/**
 * A step's attempt history, and with `diff` (1-based positions in it) what changed in input and
 * output between the two attempts. A position outside the history is `invalid_request`.
 */
export function attemptHistoryDto(attempts: readonly AttemptRecord[], diff?: readonly [number, number]): AttemptHistoryDto {
  const items = attempts.map(attemptDto);
  if (diff === undefined) return { items };
  const [from, to] = diff;
  const a = items[from - 1];
  const b = items[to - 1];
  if (from < 1 || to < 1 || !a || !b) {
    throw new AgentryError(
      'invalid_request',
      `diff=${from},${to}: positions must be from 1 to ${items.length} (the step has ${items.length} attempt${items.length === 1 ? '' : 's'})`,
      {
        details: { attempts: items.length },
      },
    );
  }
  return { items, diff: { from, to, input: diffValues(a.input, b.input), output: diffValues(a.output, b.output) } };
}
