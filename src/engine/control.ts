/**
 * Control steps: kinds the engine carries out inside its own transactions instead of
 * handing them to a worker. Each starts (a task, a wait, a child run), parks its step
 * `waiting` with no lease, and is settled by what it waits on:
 * - `human`: a task; a decision settles it (task-decisions.ts), its deadline times it out here;
 * - `wait`: a signal (signals.ts) or its timeout;
 * - `workflow`: a child run (child-runs.ts); the child's end makes the step due and it settles there.
 * A parked step whose `available_at` is reached is claimed like any due step and comes
 * back through `resumeControl`.
 */
import { AgentryError } from '../lib/errors.js';
import { parseDuration } from '../spec/index.js';
import type { CompiledStep, CompiledStepOf, StepConfigs } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { StepRecord } from '../types.js';
import { syncRunStatus } from './advance.js';
import { resumeChildRun, startChildRun } from './child-runs.js';
import { contextFor, emit, insertAttempt, type TransitionContext } from './context.js';
import { renderedConfig, renderStep } from './render-step.js';
import { humanState, waitState, type HumanState, type WaitState } from './step-state.js';
import { createTask } from './tasks.js';
import { failWaiting, parkWaiting, succeedWaiting } from './waiting.js';

const after = (now: number, duration: string | number | undefined): number | null => (duration === undefined ? null : now + parseDuration(duration));

/** `{ until }` for an event about a deadline, nothing without one. */
export function until(at: number | null): { until?: string } {
  return at === null ? {} : { until: new Date(at).toISOString() };
}

/** A queued control step is claimed: start it (a new attempt) and park it. */
export async function startControl(tx: RunTx, ctx: TransitionContext, queued: StepRecord, spec: CompiledStep): Promise<void> {
  const attempt = queued.attempt + 1;
  const rendered = renderStep(tx, ctx, queued, spec, await tx.steps());
  const stored = 'error' in rendered ? null : rendered.stored;
  await tx.updateStep(queued.stepId, {
    status: 'waiting',
    attempt,
    availableAt: null,
    input: stored,
    state: null,
    startedAt: queued.startedAt ?? ctx.now,
  });
  await insertAttempt(tx, ctx, queued.stepId, attempt, null, stored, 'suspended');
  await emit(tx, ctx, 'step.started', { attempt, kind: spec.kind }, queued.stepId);
  const step: StepRecord = { ...queued, status: 'waiting', attempt, input: stored, availableAt: null, state: null };
  if ('error' in rendered) {
    await failWaiting(tx, ctx, step, new AgentryError(rendered.error.code, rendered.error.message, { details: rendered.error.details }));
    return;
  }
  if (spec.kind === 'human') await startHuman(tx, ctx, step, renderedConfig(spec, rendered.config), rendered.input);
  else if (spec.kind === 'wait') await startWait(tx, ctx, step, renderedConfig(spec, rendered.config));
  else if (spec.kind === 'workflow') await startChildRun(tx, ctx, step, spec, rendered.input);
  await syncRunStatus(tx, contextFor(ctx, tx.run));
}

/** A parked control step became due (a deadline passed, a child ended): settle it or park it again. */
export async function resumeControl(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStep): Promise<void> {
  if (spec.kind === 'human') await resumeHuman(tx, ctx, step, spec, humanState(step.state));
  else if (spec.kind === 'wait') await resumeWait(tx, ctx, step, spec, waitState(step.state));
  else if (spec.kind === 'workflow') await resumeChildRun(tx, ctx, step);
  await syncRunStatus(tx, contextFor(ctx, tx.run));
}

// ---- human ----

/** A human step's task; its rendered `input:` is what the task shows the reviewer (`context`). */
async function startHuman(tx: RunTx, ctx: TransitionContext, step: StepRecord, config: StepConfigs['human'], input: unknown): Promise<void> {
  const dueAt = after(ctx.now, config.timeout);
  const task = await createTask(tx, ctx, step.stepId, {
    kind: 'human',
    key: 'human',
    title: config.title,
    ...(config.instructions !== undefined ? { instructions: config.instructions } : {}),
    ...(config.role !== undefined ? { role: config.role } : {}),
    ...(config.assignees !== undefined ? { assignees: config.assignees } : {}),
    ...(config.form !== undefined ? { formSchema: config.form.schema } : {}),
    context: input,
    dueAt,
  });
  await parkWaiting(tx, step, dueAt, { task_id: task.id, due_at: dueAt } satisfies HumanState);
  await emit(tx, ctx, 'step.waiting', { attempt: step.attempt, task_id: task.id, ...until(dueAt) }, step.stepId);
}

async function resumeHuman(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStepOf<'human'>, state: HumanState | undefined): Promise<void> {
  const task = state === undefined ? undefined : await tx.task(state.task_id);
  if (!task || task.status !== 'open') return parkWaiting(tx, step, null);
  if (task.dueAt === null || task.dueAt > ctx.now) return parkWaiting(tx, step, task.dueAt);
  const rendered = renderStep(tx, ctx, step, spec, await tx.steps());
  const config = 'error' in rendered ? spec.config : renderedConfig(spec, rendered.config);
  const policy = config.on_timeout ?? 'fail';
  if (policy === 'escalate' && task.escalations === 0 && config.escalate_to !== undefined) {
    const dueAt = after(ctx.now, config.escalation_timeout ?? config.timeout);
    await tx.updateTask(task.id, { role: config.escalate_to, assignees: null, dueAt, escalations: 1 }, ['open']);
    await emit(tx, ctx, 'task.escalated', { task_id: task.id, from_role: task.role, role: config.escalate_to, ...until(dueAt) }, step.stepId);
    return parkWaiting(tx, step, dueAt);
  }
  await tx.updateTask(task.id, { status: 'expired', decision: 'timed_out', decidedAt: ctx.now }, ['open']);
  await emit(tx, ctx, 'task.expired', { task_id: task.id, on_timeout: policy, escalations: task.escalations }, step.stepId);
  if (policy === 'continue') {
    await succeedWaiting(tx, ctx, step, { decision: 'timed_out', data: config.default ?? null, comment: null, by: null });
    return;
  }
  const message =
    task.escalations > 0
      ? `task ${task.id} got no decision before its deadline, also after escalating to ${task.role ?? '?'}`
      : `task ${task.id} got no decision before its deadline`;
  await failWaiting(tx, ctx, step, new AgentryError('human_task_expired', message, { details: { task_id: task.id } }), 'expired');
}

// ---- wait for a signal ----

async function startWait(tx: RunTx, ctx: TransitionContext, step: StepRecord, config: StepConfigs['wait']): Promise<void> {
  const received = await tx.signal(config.signal);
  if (received) {
    await succeedWaiting(tx, ctx, step, received.payload);
    return;
  }
  const dueAt = after(ctx.now, config.timeout);
  await parkWaiting(tx, step, dueAt, { signal: config.signal, due_at: dueAt } satisfies WaitState);
  await emit(tx, ctx, 'step.waiting', { attempt: step.attempt, signal: config.signal, ...until(dueAt) }, step.stepId);
}

async function resumeWait(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStepOf<'wait'>, state: WaitState | undefined): Promise<void> {
  const config = spec.config;
  const received = await tx.signal(state?.signal ?? config.signal);
  if (received) {
    await succeedWaiting(tx, ctx, step, received.payload);
    return;
  }
  const dueAt = state?.due_at ?? null;
  if (dueAt === null || dueAt > ctx.now) return parkWaiting(tx, step, dueAt);
  if (config.on_timeout === 'continue') {
    const rendered = renderStep(tx, ctx, step, spec, await tx.steps());
    await succeedWaiting(tx, ctx, step, ('error' in rendered ? config : renderedConfig(spec, rendered.config)).default ?? null);
    return;
  }
  await failWaiting(tx, ctx, step, new AgentryError('signal_timeout', `signal '${config.signal}' did not arrive before ${new Date(dueAt).toISOString()}`));
}
