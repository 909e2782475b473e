/**
 * A run ends: it succeeds once every step is done, or it is failed, cancelled or timed out
 * with everything still active in it (its child runs first). Either way the runs waiting
 * for a turn on its concurrency key may start, and its parent's `workflow` step is woken.
 */
import { toAgentryError, type ErrorInfo } from '../lib/errors.js';
import { renderTemplate } from '../spec/index.js';
import type { RunTx } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, TERMINAL_STEP_STATUSES, type RunStatus, type StepRecord } from '../types.js';
import { contextFor, emit, endAttempt, isTerminalRun, type TransitionContext } from './context.js';
import { buildScope } from './scope.js';
import { cancelOpenTasks } from './tasks.js';

/** The statuses a run is ended with from outside its steps' success. */
export type EndStatus = Exclude<RunStatus, 'queued' | 'running' | 'waiting' | 'succeeded'>;

/** Every step is done: the run succeeds with its `output:` (or every step's output). */
export async function succeedRun(tx: RunTx, ctx: TransitionContext, steps: StepRecord[]): Promise<void> {
  let output: unknown;
  try {
    output =
      ctx.wf.output === undefined
        ? Object.fromEntries(steps.filter((s) => s.status === 'succeeded').map((s) => [s.stepId, s.output]))
        : renderTemplate(ctx.wf.output, buildScope(ctx.wf, tx.run, steps, ctx.env, true));
  } catch (error) {
    await finishRun(tx, ctx, 'failed', toAgentryError(error, 'expression_error').toInfo());
    return;
  }
  await releaseTurn(tx, ctx);
  await tx.updateRun({ status: 'succeeded', output, finishedAt: ctx.now });
  await emit(tx, ctx, 'run.succeeded', { duration_ms: ctx.now - tx.run.createdAt });
  await notifyParent(tx, ctx);
  ctx.effects.finished.set(tx.run.id, 'succeeded');
}

/**
 * Ends the run (failed, cancelled or timed out): cancels its child runs first (locking a
 * child before touching any of this run's steps, the order every transaction keeps), then
 * every step, item and open task still active.
 */
export async function finishRun(tx: RunTx, ctx: TransitionContext, status: EndStatus, error: ErrorInfo): Promise<void> {
  if (isTerminalRun(tx)) return;
  for (const child of await tx.childRuns()) {
    if (TERMINAL_RUN_STATUSES.has(child.status)) continue;
    const childTx = await tx.lockRun(child.id);
    if (!childTx) continue;
    const reason: ErrorInfo = { code: 'cancelled', message: `parent run ${tx.run.id} ended ${status}` };
    await finishRun(childTx, contextFor(ctx, childTx.run), 'cancelled', reason);
  }
  await releaseTurn(tx, ctx);
  for (const item of await tx.cancelItems(undefined, ctx.now)) {
    await tx.updateAttempt(item.stepId, item.attempt, { status: 'cancelled', finishedAt: ctx.now });
  }
  for (const step of await tx.steps()) {
    if (TERMINAL_STEP_STATUSES.has(step.status)) continue;
    await tx.updateStep(step.stepId, { status: 'cancelled', leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now });
    const active = step.status === 'running' || step.status === 'waiting';
    const took = active ? await endAttempt(tx, ctx, step.stepId, step.attempt, { status: 'cancelled', finishedAt: ctx.now }) : {};
    await emit(tx, ctx, 'step.cancelled', { reason: status, ...(active ? { attempt: step.attempt } : {}), ...took }, step.stepId);
  }
  await cancelOpenTasks(tx, ctx, `run ended ${status}`);
  await tx.updateRun({ status, error, finishedAt: ctx.now });
  await emit(tx, ctx, `run.${status}`, { error });
  await notifyParent(tx, ctx);
  ctx.effects.finished.set(tx.run.id, status);
}

/** A run under `concurrency:` ends: the runs waiting for a turn on its key may start. */
async function releaseTurn(tx: RunTx, ctx: TransitionContext): Promise<void> {
  const key = tx.run.concurrencyKey;
  const limit = ctx.wf.concurrency?.limit;
  if (key === null || limit === undefined) return;
  // Taken before the run's status changes, so that a claim counting active runs under the
  // same lock sees this run ended (else it would park until the next re-check).
  await tx.lockKey(key);
  await tx.wakeBlocked(key, limit);
}

/** A child run ended: make its parent's `workflow` step due, so that a worker settles it. */
async function notifyParent(tx: RunTx, ctx: TransitionContext): Promise<void> {
  if (tx.run.parentRunId === null || tx.run.parentStepId === null) return;
  await tx.wakeStep(tx.run.parentRunId, tx.run.parentStepId);
  ctx.effects.wake = true;
}
