/**
 * Deciding a human task: who may, which decisions a task takes, and applying one. Each
 * decision is one transaction on the task's run that also settles the step waiting on it.
 */
import { AgentryError } from '../lib/errors.js';
import type { TaskDecisionRecord } from '../runtime/types.js';
import { assertMatches } from '../spec/output.js';
import type { RunTx } from '../store/store.js';
import type { TaskRecord } from '../types.js';
import { emit, specOf, type TransitionContext } from './context.js';
import { reviewState, withDecision } from './step-state.js';
import { TASK_ROLE_PREFIX, TASK_SUPERVISOR_ROLES, type Actor, type TaskDecisionInput } from './tasks-api.js';
import { failWaiting, parkWaiting, succeedWaiting } from './waiting.js';

/** How long a decision holds a task's resume lock at most (a crashed decider's lock lapses). */
export const TASK_LOCK_TTL_MS = 30_000;

/**
 * Supervisors decide any task; otherwise an assignee, or a holder of the task's role: the
 * built-in role of that name, or the task role granted as `role:<name>`. Only a built-in role
 * supervises: the task role `role:admin` decides the tasks for role `admin`, nothing more.
 */
export function mayDecide(task: TaskRecord, actor: Actor): boolean {
  if (actor.roles.some((role) => TASK_SUPERVISOR_ROLES.includes(role))) return true;
  if (task.assignees?.includes(actor.name)) return true;
  if (task.role !== null) return actor.roles.includes(task.role) || actor.roles.includes(`${TASK_ROLE_PREFIX}${task.role}`);
  return task.assignees === null;
}

const DECISIONS_BY_KIND: Record<TaskRecord['kind'], readonly TaskDecisionInput['decision'][]> = {
  human: ['approve', 'reject', 'submit'],
  tool_approval: ['approve', 'reject'],
  review: ['approve', 'reject', 'submit'],
};

/** Checks a decision against the task before anything changes (`invalid_request`). */
export function checkDecision(task: TaskRecord, input: TaskDecisionInput): void {
  if (!DECISIONS_BY_KIND[task.kind].includes(input.decision)) {
    throw new AgentryError('invalid_request', `a ${task.kind} task takes ${DECISIONS_BY_KIND[task.kind].join(', ')}, not ${input.decision}`);
  }
  if (task.kind === 'review' && input.decision === 'submit') {
    const data = input.data as { output?: unknown } | undefined;
    if (data === null || typeof data !== 'object' || !('output' in data)) {
      throw new AgentryError('invalid_request', 'submit on a review task needs data: { output: <the corrected output> }');
    }
  }
  if (task.kind === 'human' && task.formSchema !== null && input.decision !== 'reject') {
    if (input.decision === 'submit' && input.data === undefined) {
      throw new AgentryError('invalid_request', 'this task has a form: submit needs data matching its schema', {
        details: { form_schema: task.formSchema },
      });
    }
    if (input.data !== undefined) assertMatches(task.formSchema, input.data, 'invalid_request', 'form data');
  }
}

/**
 * Applies a decision to an open task of this run and settles the step waiting on it:
 * a human step succeeds with `{decision, data, comment, by}` (a reject fails it unless
 * `on_reject: continue`); a tool approval hands the decision back to the agent, which runs
 * again; a review keeps, replaces or rejects the held output.
 */
export async function decideTask(tx: RunTx, ctx: TransitionContext, taskId: string, input: TaskDecisionInput, actor: Actor): Promise<TaskRecord> {
  const task = await tx.task(taskId);
  if (!task) throw new AgentryError('not_found', `task ${taskId} not found`);
  if (task.status !== 'open') {
    throw new AgentryError('conflict', `task ${taskId} is ${task.status}; it cannot be decided again`, { details: { status: task.status } });
  }
  const step = await tx.step(task.stepId);
  if (!step || step.status !== 'waiting') {
    throw new AgentryError('conflict', `step ${task.stepId} of task ${taskId} is not waiting for it`, { details: { step_status: step?.status } });
  }
  const record: TaskDecisionRecord = {
    decision: input.decision,
    ...(input.data !== undefined ? { data: input.data } : {}),
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
    by: actor.name,
  };
  if (task.kind === 'review' && input.decision === 'submit') {
    const spec = specOf(ctx, step);
    const output = (input.data as { output: unknown }).output;
    if (spec?.outputSchema) assertMatches(spec.outputSchema, output, 'invalid_request', 'submitted output');
  }
  const patch = {
    status: 'completed' as const,
    decision: input.decision,
    response: input.data ?? null,
    comment: input.comment ?? null,
    decidedBy: actor.name,
    decidedAt: ctx.now,
  };
  if (!(await tx.updateTask(taskId, patch, ['open']))) throw new AgentryError('conflict', `task ${taskId} was decided meanwhile`);
  await emit(tx, ctx, 'task.completed', { task_id: taskId, decision: input.decision, by: actor.name }, task.stepId);

  switch (task.kind) {
    case 'human': {
      const spec = specOf(ctx, step);
      const onReject = spec?.kind === 'human' ? spec.config.on_reject : undefined;
      if (input.decision === 'reject' && onReject !== 'continue') {
        const reason = input.comment ? `: ${input.comment}` : '';
        await failWaiting(tx, ctx, step, new AgentryError('task_rejected', `${actor.name} rejected task ${taskId}${reason}`, { details: { task_id: taskId } }));
      } else {
        await succeedWaiting(tx, ctx, step, { decision: input.decision, data: input.data ?? null, comment: input.comment ?? null, by: actor.name });
      }
      break;
    }
    case 'tool_approval': {
      // The agent runs again: it replays its journal and finds the decision under the task's key.
      await parkWaiting(tx, step, ctx.now, withDecision(step.state, taskId, record));
      ctx.effects.wake = true;
      break;
    }
    case 'review': {
      const held = reviewState(step.state);
      if (input.decision === 'reject') {
        await failWaiting(
          tx,
          ctx,
          step,
          new AgentryError('output_rejected', `${actor.name} rejected the output of step ${step.stepId}`, { details: { task_id: taskId } }),
        );
      } else {
        const output = input.decision === 'submit' ? (input.data as { output: unknown }).output : held?.output;
        await succeedWaiting(tx, ctx, step, output, held?.meta ?? null);
      }
      break;
    }
  }
  return (await tx.task(taskId))!;
}
