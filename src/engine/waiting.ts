/**
 * Steps that wait without a worker (control steps, outputs held for review, agents waiting
 * for a tool approval) are settled by what they wait on: they succeed, fail, or wait on.
 */
import type { AgentryError } from '../lib/errors.js';
import type { RunTx } from '../store/store.js';
import type { StepMeta, StepRecord } from '../types.js';
import { afterStepDone } from './advance.js';
import { emit, endAttempt, type TransitionContext } from './context.js';
import { recordFailure } from './failure.js';

/** A waiting step (a control step, or an output held for review) succeeds with `output`. */
export async function succeedWaiting(tx: RunTx, ctx: TransitionContext, step: StepRecord, output: unknown, meta: StepMeta | null = null): Promise<boolean> {
  const done = await tx.updateStep(
    step.stepId,
    { status: 'succeeded', output, meta, error: null, state: null, availableAt: null, finishedAt: ctx.now },
    { status: ['waiting'], attempt: step.attempt },
  );
  if (!done) return false;
  const took = await endAttempt(tx, ctx, step.stepId, step.attempt, { status: 'succeeded', output, finishedAt: ctx.now });
  await emit(tx, ctx, 'step.succeeded', { attempt: step.attempt, ...took, ...(meta ? { meta } : {}) }, step.stepId);
  await afterStepDone(tx, ctx, step);
  return true;
}

/** A waiting step fails (retried like any step when the error is retryable); `expired` for a lapsed task. */
export function failWaiting(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  error: AgentryError,
  stepStatus: 'failed' | 'expired' = 'failed',
): Promise<boolean> {
  const key = { runId: tx.run.id, stepId: step.stepId, attempt: step.attempt };
  return recordFailure(tx, ctx, key, error, { status: ['waiting'], attempt: step.attempt }, 'failed', stepStatus);
}

/** A waiting step waits on, until `availableAt` (null: until something makes it due), with its new state if given. */
export async function parkWaiting(tx: RunTx, step: StepRecord, availableAt: number | null, state?: unknown): Promise<void> {
  await tx.updateStep(step.stepId, { availableAt, ...(state === undefined ? {} : { state }) }, { status: ['waiting'] });
}
