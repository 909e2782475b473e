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
  /**
   * Roles (and raw scopes) the key was given, task roles written `role:<name>`; a task with
   * `role: <name>` needs the built-in role `<name>` or the task role `role:<name>` among them.
   */
  roles: readonly string[];
}

/** How a key's grants name a task role (`role:finance`), apart from the built-in roles. */
export const TASK_ROLE_PREFIX = 'role:';

/** Roles that may decide any task, whatever its `role` or `assignees`. */
export const TASK_SUPERVISOR_ROLES: readonly string[] = ['admin', 'operator'];
