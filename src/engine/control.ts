/**
 * Control steps: kinds the engine carries out inside its own transactions instead of
 * handing them to a worker. Each starts (a task, a wait, a child run), parks its step
 * `waiting` with no lease, and is settled by what it waits on:
 * - `human`: a task; a decision settles it (tasks.ts), its deadline times it out here;
 * - `wait`: a signal (`deliverSignal`) or its timeout;
 * - `workflow`: a child run; the child's end makes the step due and it settles here.
 * A parked step whose `available_at` is reached is claimed like any due step and comes
 * back through `resumeControl`.
 */
import { AgentryError } from '../lib/errors.js';
import { parseDuration, specHash } from '../spec/index.js';
import type { CompiledStep } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type SignalRecord, type StepMeta, type StepRecord } from '../types.js';
import { newRunRecord, newSteps } from './new-run.js';
import { assertMatches } from '../spec/output.js';
import { createTask } from './tasks.js';
import type { RenderedStep, TransitionContext, TransitionEffects } from './transitions.js';

/** What control steps need from the transitions (passed in, so that the modules do not import each other). */
export interface ControlOps {
  effects: TransitionEffects;
  succeed(tx: RunTx, step: StepRecord, output: unknown, meta?: StepMeta | null): Promise<boolean>;
  fail(tx: RunTx, step: StepRecord, error: AgentryError, status?: 'failed' | 'expired'): Promise<boolean>;
  park(tx: RunTx, step: StepRecord, availableAt: number | null, state?: unknown): Promise<void>;
  insertAttempt(tx: RunTx, stepId: string, attempt: number, input: unknown): Promise<void>;
  render(tx: RunTx, step: StepRecord, spec: CompiledStep, steps: StepRecord[]): RenderedStep;
  startChild(tx: RunTx, childTx: RunTx): Promise<void>;
  cancelChild(childTx: RunTx, reason: string): Promise<void>;
  syncRunStatus(tx: RunTx): Promise<void>;
}

interface HumanConfig {
  title: string;
  instructions?: string;
  role?: string;
  assignees?: string[];
  form?: { schema: Record<string, unknown> };
  timeout?: string | number;
  on_timeout?: 'fail' | 'continue' | 'escalate';
  default?: unknown;
  escalate_to?: string;
  escalation_timeout?: string | number;
}

interface WaitConfig {
  signal: string;
  timeout?: string | number;
  on_timeout?: 'fail' | 'continue';
  default?: unknown;
}

interface ControlState {
  task_id?: string;
  signal?: string;
  child_run_id?: string;
  due_at?: number | null;
}

const after = (now: number, duration: string | number | undefined): number | null =>
  duration === undefined ? null : now + parseDuration(duration);

/** A queued control step is claimed: start it (a new attempt) and park it. */
export async function startControl(tx: RunTx, ctx: TransitionContext, queued: StepRecord, spec: CompiledStep, ops: ControlOps): Promise<void> {
  const attempt = queued.attempt + 1;
  const rendered = ops.render(tx, queued, spec, await tx.steps());
  const stored = 'error' in rendered ? null : rendered.stored;
  await tx.updateStep(queued.stepId, {
    status: 'waiting',
    attempt,
    availableAt: null,
    input: stored,
    state: null,
    startedAt: queued.startedAt ?? ctx.now,
  });
  await ops.insertAttempt(tx, queued.stepId, attempt, stored);
  await tx.appendEvent('step.started', { attempt, kind: spec.kind }, queued.stepId);
  const step: StepRecord = { ...queued, status: 'waiting', attempt, input: stored, availableAt: null, state: null };
  if ('error' in rendered) {
    await ops.fail(tx, step, new AgentryError(rendered.error.code, rendered.error.message, { details: rendered.error.details }));
    return;
  }
  if (spec.kind === 'human') await startHuman(tx, ctx, step, rendered.config as HumanConfig, rendered.input, ops);
  else if (spec.kind === 'wait') await startWait(tx, ctx, step, rendered.config as WaitConfig, ops);
  else await startChildRun(tx, ctx, step, spec, rendered.input, ops);
  await ops.syncRunStatus(tx);
}

/** A parked control step became due (a deadline passed, a child ended): settle it or park it again. */
export async function resumeControl(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStep, ops: ControlOps): Promise<void> {
  const state = (step.state ?? {}) as ControlState;
  if (spec.kind === 'human') await resumeHuman(tx, ctx, step, spec, state, ops);
  else if (spec.kind === 'wait') await resumeWait(tx, ctx, step, spec, state, ops);
  else await resumeChildRun(tx, ctx, step, state, ops);
  await ops.syncRunStatus(tx);
}

// ---- human ----

/** A human step's task; its rendered `input:` is what the task shows the reviewer (`context`). */
async function startHuman(tx: RunTx, ctx: TransitionContext, step: StepRecord, config: HumanConfig, input: unknown, ops: ControlOps): Promise<void> {
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
  await ops.park(tx, step, dueAt, { task_id: task.id, due_at: dueAt } satisfies ControlState);
  await tx.appendEvent('step.waiting', { attempt: step.attempt, task_id: task.id, ...until(dueAt) }, step.stepId);
}

function until(at: number | null): { until?: string } {
  return at === null ? {} : { until: new Date(at).toISOString() };
}

async function resumeHuman(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  spec: CompiledStep,
  state: ControlState,
  ops: ControlOps,
): Promise<void> {
  const task = state.task_id === undefined ? undefined : await tx.task(state.task_id);
  if (!task || task.status !== 'open') return ops.park(tx, step, null);
  if (task.dueAt === null || task.dueAt > ctx.now) return ops.park(tx, step, task.dueAt);
  const rendered = ops.render(tx, step, spec, await tx.steps());
  const config = ('error' in rendered ? spec.config : rendered.config) as HumanConfig;
  const policy = config.on_timeout ?? 'fail';
  if (policy === 'escalate' && task.escalations === 0 && config.escalate_to !== undefined) {
    const dueAt = after(ctx.now, config.escalation_timeout ?? config.timeout);
    await tx.updateTask(task.id, { role: config.escalate_to, assignees: null, dueAt, escalations: 1 }, ['open']);
    await tx.appendEvent(
      'task.escalated',
      { task_id: task.id, from_role: task.role, role: config.escalate_to, ...until(dueAt) },
      step.stepId,
    );
    return ops.park(tx, step, dueAt);
  }
  await tx.updateTask(task.id, { status: 'expired', decision: 'timed_out', decidedAt: ctx.now }, ['open']);
  await tx.appendEvent('task.expired', { task_id: task.id, on_timeout: policy, escalations: task.escalations }, step.stepId);
  if (policy === 'continue') {
    await ops.succeed(tx, step, { decision: 'timed_out', data: config.default ?? null, comment: null, by: null });
    return;
  }
  const message =
    task.escalations > 0
      ? `task ${task.id} got no decision before its deadline, also after escalating to ${task.role ?? '?'}`
      : `task ${task.id} got no decision before its deadline`;
  await ops.fail(tx, step, new AgentryError('human_task_expired', message, { details: { task_id: task.id } }), 'expired');
}

// ---- wait for a signal ----

async function startWait(tx: RunTx, ctx: TransitionContext, step: StepRecord, config: WaitConfig, ops: ControlOps): Promise<void> {
  const received = await tx.signal(config.signal);
  if (received) {
    await ops.succeed(tx, step, received.payload);
    return;
  }
  const dueAt = after(ctx.now, config.timeout);
  await ops.park(tx, step, dueAt, { signal: config.signal, due_at: dueAt } satisfies ControlState);
  await tx.appendEvent('step.waiting', { attempt: step.attempt, signal: config.signal, ...until(dueAt) }, step.stepId);
}

async function resumeWait(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  spec: CompiledStep,
  state: ControlState,
  ops: ControlOps,
): Promise<void> {
  const config = spec.config as WaitConfig;
  const received = await tx.signal(state.signal ?? config.signal);
  if (received) {
    await ops.succeed(tx, step, received.payload);
    return;
  }
  const dueAt = state.due_at ?? null;
  if (dueAt === null || dueAt > ctx.now) return ops.park(tx, step, dueAt);
  if (config.on_timeout === 'continue') {
    const rendered = ops.render(tx, step, spec, await tx.steps());
    await ops.succeed(tx, step, ('error' in rendered ? config : (rendered.config as WaitConfig)).default ?? null);
    return;
  }
  await ops.fail(tx, step, new AgentryError('signal_timeout', `signal '${config.signal}' did not arrive before ${new Date(dueAt).toISOString()}`));
}

/** Signal names the workflow's `wait` steps listen for. */
export function signalNames(steps: Iterable<CompiledStep>): Set<string> {
  const names = new Set<string>();
  for (const step of steps) if (step.kind === 'wait') names.add((step.config as WaitConfig).signal);
  return names;
}

/**
 * Records signal `name` on this run and resumes the `wait` steps waiting for it. A repeat
 * with the same payload changes nothing; with another payload it is a `conflict`.
 */
export async function deliverSignal(
  tx: RunTx,
  ctx: TransitionContext,
  name: string,
  payload: unknown,
  ops: ControlOps,
): Promise<{ signal: SignalRecord; duplicate: boolean }> {
  // A repeat of a signal already received is answered as such, even after the run ended: resending is always safe.
  const received = await tx.signal(name);
  if (received) {
    if (specHash(received.payload) !== specHash(payload ?? null)) {
      throw new AgentryError('conflict', `signal '${name}' was already sent to run ${tx.run.id} with another payload`, {
        details: { received_at: new Date(received.receivedAt).toISOString() },
      });
    }
    return { signal: received, duplicate: true };
  }
  if (TERMINAL_RUN_STATUSES.has(tx.run.status)) {
    throw new AgentryError('conflict', `run ${tx.run.id} already ended ${tx.run.status}; it takes no signals`, { details: { status: tx.run.status } });
  }
  if (!signalNames(ctx.wf.steps.values()).has(name)) {
    const known = [...signalNames(ctx.wf.steps.values())];
    throw new AgentryError('invalid_request', `no step of workflow ${ctx.wf.name} waits for signal '${name}'${known.length ? ` (it waits for: ${known.join(', ')})` : ''}`);
  }
  await tx.insertSignal(name, payload ?? null);
  const signal = (await tx.signal(name))!;
  await tx.appendEvent('signal.received', { name });
  for (const step of await tx.steps()) {
    if (step.status === 'waiting' && step.kind === 'wait' && (step.state as ControlState | null)?.signal === name) {
      await ops.succeed(tx, step, signal.payload);
    }
  }
  return { signal, duplicate: false };
}

// ---- sub-workflow ----

async function startChildRun(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  spec: CompiledStep,
  input: unknown,
  ops: ControlOps,
): Promise<void> {
  const name = spec.config as string;
  const child = ctx.workflowNamed(name);
  if (!child) {
    await ops.fail(tx, step, new AgentryError('not_found', `workflow '${name}' (of step ${step.stepId}) is not loaded`));
    return;
  }
  const childInput = input ?? {};
  if (child.inputSchema) {
    try {
      assertMatches(child.inputSchema, childInput, 'input_invalid', `input of sub-workflow ${name}`);
    } catch (error) {
      await ops.fail(tx, step, error as AgentryError);
      return;
    }
  }
  let run;
  try {
    run = newRunRecord(child, childInput, ctx.now, {
      tenantId: tx.run.tenantId,
      priority: tx.run.priority,
      parentRunId: tx.run.id,
      parentStepId: step.stepId,
    });
  } catch (error) {
    await ops.fail(tx, step, error as AgentryError); // e.g. the child's concurrency.key fails on this input
    return;
  }
  const dueAt = spec.timeoutMs === undefined ? null : ctx.now + spec.timeoutMs;
  // Parked before the child exists: a child that ends at once makes this step due again.
  await ops.park(tx, step, dueAt, { child_run_id: run.id, due_at: dueAt } satisfies ControlState);
  const childTx = await tx.createRun(run, newSteps(child, run.id));
  await childTx.appendEvent('run.created', {
    workflow: child.name,
    spec_hash: child.hash,
    priority: run.priority,
    parent_run_id: tx.run.id,
    parent_step_id: step.stepId,
  });
  await tx.appendEvent('child.started', { attempt: step.attempt, run_id: run.id, workflow: child.name }, step.stepId);
  await ops.startChild(tx, childTx);
}

async function resumeChildRun(tx: RunTx, ctx: TransitionContext, step: StepRecord, state: ControlState, ops: ControlOps): Promise<void> {
  const childTx = state.child_run_id === undefined ? undefined : await tx.lockRun(state.child_run_id);
  if (!childTx) {
    await ops.fail(tx, step, new AgentryError('child_failed', `the child run of step ${step.stepId} no longer exists`));
    return;
  }
  const child = childTx.run;
  if (!TERMINAL_RUN_STATUSES.has(child.status)) {
    const dueAt = state.due_at ?? null;
    if (dueAt === null || dueAt > ctx.now) return ops.park(tx, step, dueAt);
    await ops.cancelChild(childTx, `step ${step.stepId} of run ${tx.run.id} timed out`);
    await tx.appendEvent('child.finished', { run_id: child.id, status: 'cancelled' }, step.stepId);
    await ops.fail(tx, step, new AgentryError('step_timeout', `sub-workflow run ${child.id} did not end in time`, { retryable: true }));
    return;
  }
  await tx.appendEvent('child.finished', { run_id: child.id, status: child.status }, step.stepId);
  if (child.status === 'succeeded') {
    await ops.succeed(tx, step, child.output);
    return;
  }
  const error = new AgentryError('child_failed', `child run ${child.id} (${child.workflow}) ended ${child.status}${child.error ? `: ${child.error.message}` : ''}`, {
    retryable: child.status !== 'cancelled',
    details: { child_run_id: child.id, status: child.status, error: child.error },
  });
  await ops.fail(tx, step, error);
}
