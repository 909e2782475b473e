/**
 * A worker reports an attempt's result: the step succeeds, waits (the executor suspended
 * it, or its output is held for review), or fails when its output does not match its
 * `output:` schema. A result from a worker that lost the lease is dropped.
 */
import { toAgentryError } from '../lib/errors.js';
import type { StepResult } from '../runtime/types.js';
import { assertMatches, splitReserved } from '../spec/output.js';
import type { RunTx } from '../store/store.js';
import type { AttemptKey } from '../types.js';
import { afterStepDone, syncRunStatus } from './advance.js';
import { emit, endAttempt, isTerminalRun, specOf, type TransitionContext } from './context.js';
import { failStep, heldBy } from './failure.js';
import { withTaskKey } from './step-state.js';
import { createTask } from './tasks.js';

/** Records an attempt's result. Returns false when the lease was lost (the result is dropped). */
export async function completeStep(tx: RunTx, ctx: TransitionContext, key: AttemptKey, workerId: string, result: StepResult): Promise<boolean> {
  if (isTerminalRun(tx)) return false;
  if (result.kind === 'suspend') {
    const state = result.task ? withTaskKey(result.state, result.task.key) : result.state;
    const parked = await tx.updateStep(
      key.stepId,
      { status: 'waiting', availableAt: result.until, state, leaseOwner: null, leaseExpiresAt: null },
      heldBy(key, workerId),
    );
    if (!parked) return false;
    await tx.updateAttempt(key.stepId, key.attempt, { status: 'suspended' });
    const until = result.until === null ? {} : { until: new Date(result.until).toISOString() };
    await emit(tx, ctx, 'step.waiting', { attempt: key.attempt, ...until }, key.stepId);
    if (result.task) await createTask(tx, ctx, key.stepId, { ...result.task, dueAt: null });
    await syncRunStatus(tx, ctx);
    return true;
  }

  const step = await tx.step(key.stepId);
  const spec = step && specOf(ctx, step);
  const { output, meta } = splitReserved(result.output);
  const merged = meta || result.meta ? { ...result.meta, ...meta } : null;
  if (spec?.outputSchema) {
    try {
      assertMatches(spec.outputSchema, output, 'output_invalid', `output of step ${key.stepId}`);
    } catch (error) {
      return failStep(tx, ctx, key, workerId, toAgentryError(error));
    }
  }
  if (result.review) {
    // Held for a person: the step waits with the output in its state until the review is decided.
    const held = await tx.updateStep(
      key.stepId,
      { status: 'waiting', availableAt: null, state: { review: { output, meta: merged } }, leaseOwner: null, leaseExpiresAt: null },
      heldBy(key, workerId),
    );
    if (!held) return false;
    await tx.updateAttempt(key.stepId, key.attempt, { status: 'suspended', output });
    await emit(tx, ctx, 'step.waiting', { attempt: key.attempt, review: true }, key.stepId);
    await createTask(tx, ctx, key.stepId, { kind: 'review', key: 'review', ...result.review, dueAt: null });
    await syncRunStatus(tx, ctx);
    return true;
  }
  const done = await tx.updateStep(
    key.stepId,
    { status: 'succeeded', output, meta: merged, error: null, state: null, leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now },
    heldBy(key, workerId),
  );
  if (!done || !step) return false;
  const took = await endAttempt(tx, ctx, key.stepId, key.attempt, { status: 'succeeded', output, finishedAt: ctx.now });
  await emit(tx, ctx, 'step.succeeded', { attempt: key.attempt, ...took, ...(merged ? { meta: merged } : {}) }, key.stepId);
  await afterStepDone(tx, ctx, step);
  return true;
}
