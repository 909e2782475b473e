/**
 * What the engine keeps in `StepRecord.state` while a step is parked, one shape per reason,
 * and readers that take the stored JSON back without trusting it (a row written by an
 * older version, or by an executor, may lack a field; a reader then says so).
 */
import type { TaskDecisionRecord } from '../runtime/types.js';
import type { StepMeta } from '../types.js';

/** A step parked because its run waits for a turn on its concurrency key. */
export interface BlockedState {
  blocked: true;
}

/** A `human` step waiting for a decision on its task, until `due_at` (ms) if it has a timeout. */
export interface HumanState {
  task_id: string;
  due_at: number | null;
}

/** A `wait` step waiting for `signal`, until `due_at` if it has a timeout. */
export interface WaitState {
  signal: string;
  due_at: number | null;
}

/** A `workflow` step waiting for its child run, until `due_at` if it has a timeout. */
export interface ChildRunState {
  child_run_id: string;
  due_at: number | null;
}

/** An output held for review: what the step succeeds with unless the reviewer replaces it. */
export interface ReviewState {
  review: { output: unknown; meta: StepMeta | null };
}

/**
 * An executor's own state (an agent's journal) while a tool call waits for approval: the
 * engine adds the task's key and, once decided, the decision under it.
 */
export interface ApprovalState {
  [field: string]: unknown;
  task_key?: string;
  decisions?: Record<string, TaskDecisionRecord>;
}

type Fields = Partial<Record<string, unknown>>;

function fields(state: unknown): Fields {
  return typeof state === 'object' && state !== null && !Array.isArray(state) ? { ...state } : {};
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const time = (value: unknown): number | null => (typeof value === 'number' ? value : null);

export function isBlocked(state: unknown): boolean {
  return fields(state).blocked === true;
}

export function humanState(state: unknown): HumanState | undefined {
  const f = fields(state);
  const taskId = text(f.task_id);
  return taskId === undefined ? undefined : { task_id: taskId, due_at: time(f.due_at) };
}

export function waitState(state: unknown): WaitState | undefined {
  const f = fields(state);
  const signal = text(f.signal);
  return signal === undefined ? undefined : { signal, due_at: time(f.due_at) };
}

export function childRunState(state: unknown): ChildRunState | undefined {
  const f = fields(state);
  const childRunId = text(f.child_run_id);
  return childRunId === undefined ? undefined : { child_run_id: childRunId, due_at: time(f.due_at) };
}

export function reviewState(state: unknown): ReviewState['review'] | undefined {
  const review = fields(fields(state).review);
  if (!('output' in review)) return undefined;
  return { output: review.output, meta: stepMeta(review.meta) };
}

function stepMeta(value: unknown): StepMeta | null {
  if (typeof value !== 'object' || value === null) return null;
  const f = fields(value);
  const flags = Array.isArray(f.flags) ? f.flags.filter((flag) => typeof flag === 'string') : undefined;
  const rationale = text(f.rationale);
  const confidence = typeof f.confidence === 'number' ? f.confidence : undefined;
  return {
    ...(rationale === undefined ? {} : { rationale }),
    ...(flags === undefined ? {} : { flags }),
    ...(confidence === undefined ? {} : { confidence }),
  };
}

/** An executor's state as it parks for a tool approval: its own fields, and the task's key. */
export function withTaskKey(state: unknown, taskKey: string): ApprovalState {
  return { ...fields(state), task_key: taskKey };
}

/** The state with `decision` recorded under the key the waiting executor looks it up by (`task_key`, else the task's id). */
export function withDecision(state: unknown, taskId: string, decision: TaskDecisionRecord): ApprovalState {
  const f = fields(state);
  const key = text(f.task_key) ?? taskId;
  return { ...f, decisions: { ...decisionsOf(f.decisions), [key]: decision } };
}

function decisionsOf(value: unknown): Record<string, TaskDecisionRecord> {
  const out: Record<string, TaskDecisionRecord> = {};
  for (const [key, record] of Object.entries(fields(value))) {
    const f = fields(record);
    const decision = f.decision;
    const by = text(f.by);
    if ((decision !== 'approve' && decision !== 'reject' && decision !== 'submit') || by === undefined) continue;
    out[key] = { decision, by, ...('data' in f ? { data: f.data } : {}), ...(text(f.comment) === undefined ? {} : { comment: text(f.comment) }) };
  }
  return out;
}
