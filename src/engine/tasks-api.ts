/**
 * What callers (API, CLI) pass to decide tasks and send signals. The decisions themselves
 * are transitions (`tasks.ts`).
 */
import type { TaskDecision, TaskRecord } from '../types.js';

/** How a decision was applied: `replayed` when an `Idempotency-Key` returned an earlier decision. */
export interface TaskDecisionResult {
  task: TaskRecord;
  replayed: boolean;
}

export interface TaskDecisionInput {
  decision: TaskDecision;
  /** Form data (`submit`; checked against the task's form schema), or a replacement output (`review`). */
  data?: unknown;
  comment?: string;
}

/** Who decides: the API key's name and the roles it holds. */
export interface Actor {
  name: string;
  /** Roles (and raw scopes) the key was given; a task with `role:` needs that role among them. */
  roles: readonly string[];
}

/** Roles that may decide any task, whatever its `role` or `assignees`. */
export const TASK_SUPERVISOR_ROLES: readonly string[] = ['admin', 'operator'];
