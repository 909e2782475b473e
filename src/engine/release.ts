/**
 * A worker that shuts down hands back the attempts it could not finish within its grace
 * period: each step is queued again at once, so another worker (or this process, restarted)
 * claims it now instead of after the lease TTL. The attempt ends `released`: the step did not
 * fail, so a released attempt does not count against its retries (`recordFailure`).
 */
import type { RunTx } from '../store/store.js';
import type { AttemptKey } from '../types.js';
import { syncRunStatus } from './advance.js';
import { emit, endAttempt, isTerminalRun, type TransitionContext } from './context.js';
import { heldBy } from './failure.js';

/** Releases `workerId`'s lease on the attempt; false when the worker no longer holds it. */
export async function releaseStep(tx: RunTx, ctx: TransitionContext, key: AttemptKey, workerId: string): Promise<boolean> {
  if (isTerminalRun(tx)) return false;
  const applied = await tx.updateStep(
    key.stepId,
    { status: 'queued', availableAt: ctx.now, leaseOwner: null, leaseExpiresAt: null, state: null },
    heldBy(key, workerId),
  );
  if (!applied) return false;
  const took = await endAttempt(tx, ctx, key.stepId, key.attempt, { status: 'released', finishedAt: ctx.now });
  await emit(tx, ctx, 'step.released', { attempt: key.attempt, worker: workerId, ...took }, key.stepId);
  ctx.effects.wake = true;
  await syncRunStatus(tx, ctx);
  return true;
}
