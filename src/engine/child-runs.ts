/**
 * `workflow` steps: the step starts a child run of the named workflow in the same
 * transaction and parks; the child's end makes the step due again (run-end.ts), and it
 * settles here with the child's output or error.
 */
import { AgentryError, toAgentryError } from '../lib/errors.js';
import type { CompiledStepOf } from '../spec/model.js';
import { assertMatches } from '../spec/output.js';
import type { NewRun, RunTx } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type StepRecord } from '../types.js';
import { newRunTraceContext } from '../obs/run-trace.js';
import { advance } from './advance.js';
import { contextFor, emit, type TransitionContext } from './context.js';
import { newRunRecord, newSteps } from './new-run.js';
import { finishRun } from './run-end.js';
import { childRunState, type ChildRunState } from './step-state.js';
import { failWaiting, parkWaiting, succeedWaiting } from './waiting.js';

export async function startChildRun(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStepOf<'workflow'>, input: unknown): Promise<void> {
  const name = spec.config;
  const child = ctx.workflowNamed(name);
  if (!child) {
    await failWaiting(tx, ctx, step, new AgentryError('not_found', `workflow '${name}' (of step ${step.stepId}) is not loaded`));
    return;
  }
  const childInput = input ?? {};
  let run: NewRun;
  try {
    // The child is a run start like any other: the active environment's policy judges it (`policy_violation` names the rule).
    ctx.policy?.(child, { adHoc: false });
    if (child.inputSchema) assertMatches(child.inputSchema, childInput, 'input_invalid', `input of sub-workflow ${name}`);
    run = newRunRecord(child, childInput, ctx.now, {
      tenantId: tx.run.tenantId,
      priority: tx.run.priority,
      // The parent's starter owns the child too: it may follow and act on the runs it caused.
      createdBy: tx.run.createdBy,
      parentRunId: tx.run.id,
      parentStepId: step.stepId,
      // The child's run span is a child of its parent's: one trace for the whole tree of runs.
      traceContext: newRunTraceContext({ traceContext: tx.run.traceContext }),
    });
  } catch (error) {
    // The child breaks the policy, its input does not match its schema, or its concurrency.key fails on it.
    await failWaiting(tx, ctx, step, toAgentryError(error));
    return;
  }
  const dueAt = spec.timeoutMs === undefined ? null : ctx.now + spec.timeoutMs;
  // Parked before the child exists: a child that ends at once makes this step due again.
  await parkWaiting(tx, step, dueAt, { child_run_id: run.id, due_at: dueAt } satisfies ChildRunState);
  const childTx = await tx.createRun(run, newSteps(child, run.id));
  const childCtx = contextFor(ctx, childTx.run);
  await emit(childTx, childCtx, 'run.created', {
    workflow: child.name,
    spec_hash: child.hash,
    priority: run.priority,
    parent_run_id: tx.run.id,
    parent_step_id: step.stepId,
  });
  await emit(tx, ctx, 'child.started', { attempt: step.attempt, run_id: run.id, workflow: child.name }, step.stepId);
  await advance(childTx, childCtx);
}

export async function resumeChildRun(tx: RunTx, ctx: TransitionContext, step: StepRecord): Promise<void> {
  const state = childRunState(step.state);
  const childTx = state === undefined ? undefined : await tx.lockRun(state.child_run_id);
  if (!state || !childTx) {
    await failWaiting(tx, ctx, step, new AgentryError('child_failed', `the child run of step ${step.stepId} no longer exists`));
    return;
  }
  const child = childTx.run;
  if (!TERMINAL_RUN_STATUSES.has(child.status)) {
    const dueAt = state.due_at;
    if (dueAt === null || dueAt > ctx.now) return parkWaiting(tx, step, dueAt);
    const reason = `step ${step.stepId} of run ${tx.run.id} timed out`;
    await finishRun(childTx, contextFor(ctx, childTx.run), 'cancelled', { code: 'cancelled', message: reason });
    await emit(tx, ctx, 'child.finished', { run_id: child.id, status: 'cancelled' }, step.stepId);
    await failWaiting(tx, ctx, step, new AgentryError('step_timeout', `sub-workflow run ${child.id} did not end in time`, { retryable: true }));
    return;
  }
  await emit(tx, ctx, 'child.finished', { run_id: child.id, status: child.status }, step.stepId);
  if (child.status === 'succeeded') {
    await succeedWaiting(tx, ctx, step, child.output);
    return;
  }
  const error = new AgentryError(
    'child_failed',
    `child run ${child.id} (${child.workflow}) ended ${child.status}${child.error ? `: ${child.error.message}` : ''}`,
    {
      retryable: child.status !== 'cancelled',
      details: { child_run_id: child.id, status: child.status, error: child.error },
    },
  );
  await failWaiting(tx, ctx, step, error);
}
