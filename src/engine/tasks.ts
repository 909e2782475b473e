/**
 * Human tasks as records: created by a `human` step, an agent's tool call that needs
 * approval, or an output held for review; cancelled when their run ends. Deciding one is
 * task-decisions.ts.
 */
import { newId } from '../lib/ids.js';
import type { TaskRequest } from '../runtime/types.js';
import type { RunTx } from '../store/store.js';
import type { TaskRecord } from '../types.js';
import { emit, type TransitionContext } from './context.js';

export interface NewTask extends Omit<TaskRequest, 'kind'> {
  kind: TaskRecord['kind'];
  assignees?: string[];
  formSchema?: Record<string, unknown>;
  dueAt: number | null;
}

export async function createTask(tx: RunTx, ctx: TransitionContext, stepId: string, r: NewTask): Promise<TaskRecord> {
  const task: TaskRecord = {
    id: newId('tsk', ctx.now),
    tenantId: tx.run.tenantId,
    runId: tx.run.id,
    stepId,
    workflow: tx.run.workflow,
    kind: r.kind,
    status: 'open',
    title: r.title,
    instructions: r.instructions ?? null,
    formSchema: r.formSchema ?? null,
    role: r.role ?? null,
    assignees: r.assignees?.length ? r.assignees : null,
    context: r.context ?? null,
    dueAt: r.dueAt,
    escalations: 0,
    decision: null,
    response: null,
    comment: null,
    decidedBy: null,
    decidedAt: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  await tx.insertTask(task);
  await emit(
    tx,
    ctx,
    'task.created',
    { task_id: task.id, kind: task.kind, title: task.title, role: task.role, ...(task.dueAt ? { due_at: new Date(task.dueAt).toISOString() } : {}) },
    stepId,
  );
  return task;
}

/** The run ended: its open tasks can no longer be decided. */
export async function cancelOpenTasks(tx: RunTx, ctx: TransitionContext, reason: string): Promise<void> {
  for (const task of await tx.openTasks()) {
    if (await tx.updateTask(task.id, { status: 'cancelled' }, ['open'])) {
      await emit(tx, ctx, 'task.cancelled', { task_id: task.id, reason }, task.stepId);
    }
  }
}
