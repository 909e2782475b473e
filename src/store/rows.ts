/** Mapping between database rows (snake_case, JSON as text) and records. */
import type { ErrorInfo } from '../lib/errors.js';
import type { AttemptRecord, EventRecord, RunRecord, ScheduleRecord, SignalRecord, StepMeta, StepRecord, TaskRecord } from '../types.js';
import type { WorkerInfo } from './store.js';

export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T = unknown>(text: unknown): T {
  if (text === null || text === undefined) return null as T;
  return (typeof text === 'string' ? JSON.parse(text) : text) as T;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

export type Row = Record<string, unknown>;

export function runFromRow(r: Row): RunRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    workflow: r.workflow as string,
    specHash: r.spec_hash as string,
    spec: fromJson(r.spec),
    status: r.status as RunRecord['status'],
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    priority: num(r.priority),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    deadlineAt: numOrNull(r.deadline_at),
    parentRunId: (r.parent_run_id as string | null) ?? null,
    parentStepId: (r.parent_step_id as string | null) ?? null,
    retryOf: (r.retry_of as string | null) ?? null,
    concurrencyKey: (r.concurrency_key as string | null) ?? null,
    updatedAt: num(r.updated_at),
    eventSeq: num(r.event_seq),
  };
}

export function stepFromRow(r: Row): StepRecord {
  return {
    runId: r.run_id as string,
    stepId: r.step_id as string,
    kind: r.kind as string,
    status: r.status as StepRecord['status'],
    attempt: num(r.attempt),
    availableAt: numOrNull(r.available_at),
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    state: fromJson(r.state),
    meta: fromJson<StepMeta | null>(r.meta),
    parentStep: (r.parent_step as string | null) ?? null,
    itemIndex: numOrNull(r.item_index),
    item: fromJson(r.item),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    updatedAt: num(r.updated_at),
  };
}

export function attemptFromRow(r: Row): AttemptRecord {
  return {
    runId: r.run_id as string,
    stepId: r.step_id as string,
    attempt: num(r.attempt),
    status: r.status as AttemptRecord['status'],
    workerId: (r.worker_id as string | null) ?? null,
    input: fromJson(r.input),
    output: fromJson(r.output),
    error: fromJson<ErrorInfo | null>(r.error),
    startedAt: num(r.started_at),
    finishedAt: numOrNull(r.finished_at),
  };
}

export function eventFromRow(r: Row): EventRecord {
  return {
    runId: r.run_id as string,
    seq: num(r.seq),
    type: r.type as EventRecord['type'],
    stepId: (r.step_id as string | null) ?? null,
    data: fromJson<Record<string, unknown>>(r.data),
    at: num(r.at),
  };
}

export function workerFromRow(r: Row): WorkerInfo {
  return {
    id: r.id as string,
    host: r.host as string,
    pid: num(r.pid),
    roles: fromJson<string[]>(r.roles),
    concurrency: num(r.concurrency),
    startedAt: num(r.started_at),
    heartbeatAt: num(r.heartbeat_at),
  };
}

export function taskFromRow(r: Row): TaskRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    runId: r.run_id as string,
    stepId: r.step_id as string,
    workflow: r.workflow as string,
    kind: r.kind as TaskRecord['kind'],
    status: r.status as TaskRecord['status'],
    title: r.title as string,
    instructions: (r.instructions as string | null) ?? null,
    formSchema: fromJson<Record<string, unknown> | null>(r.form_schema),
    role: (r.role as string | null) ?? null,
    assignees: fromJson<string[] | null>(r.assignees),
    context: fromJson(r.context),
    dueAt: numOrNull(r.due_at),
    escalations: num(r.escalations),
    decision: (r.decision as TaskRecord['decision']) ?? null,
    response: fromJson(r.response),
    comment: (r.comment as string | null) ?? null,
    decidedBy: (r.decided_by as string | null) ?? null,
    decidedAt: numOrNull(r.decided_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function signalFromRow(r: Row): SignalRecord {
  return { runId: r.run_id as string, name: r.name as string, payload: fromJson(r.payload), receivedAt: num(r.received_at) };
}

export function scheduleFromRow(r: Row): ScheduleRecord {
  return {
    workflow: r.workflow as string,
    tenantId: r.tenant_id as string,
    cron: r.cron as string,
    timezone: r.timezone as string,
    input: fromJson(r.input),
    overlap: r.overlap as ScheduleRecord['overlap'],
    catchUp: r.catch_up as ScheduleRecord['catchUp'],
    paused: Boolean(num(r.paused)),
    nextAt: numOrNull(r.next_at),
    lastTickAt: numOrNull(r.last_tick_at),
    lastRunId: (r.last_run_id as string | null) ?? null,
    updatedAt: num(r.updated_at),
  };
}

export const TASK_COLUMNS = {
  status: ['status', false],
  role: ['role', false],
  assignees: ['assignees', true],
  dueAt: ['due_at', false],
  escalations: ['escalations', false],
  decision: ['decision', false],
  response: ['response', true],
  comment: ['comment', false],
  decidedBy: ['decided_by', false],
  decidedAt: ['decided_at', false],
} as const;

/** Column names of the patchable fields, and whether each holds JSON. */
export const RUN_COLUMNS = {
  status: ['status', false],
  output: ['output', true],
  error: ['error', true],
  startedAt: ['started_at', false],
  finishedAt: ['finished_at', false],
  deadlineAt: ['deadline_at', false],
  priority: ['priority', false],
} as const;

export const STEP_COLUMNS = {
  status: ['status', false],
  attempt: ['attempt', false],
  availableAt: ['available_at', false],
  leaseOwner: ['lease_owner', false],
  leaseExpiresAt: ['lease_expires_at', false],
  input: ['input', true],
  output: ['output', true],
  error: ['error', true],
  state: ['state', true],
  meta: ['meta', true],
  startedAt: ['started_at', false],
  finishedAt: ['finished_at', false],
} as const;

export const ATTEMPT_COLUMNS = {
  status: ['status', false],
  output: ['output', true],
  error: ['error', true],
  finishedAt: ['finished_at', false],
} as const;
