/**
 * An attempt failed (its executor threw, its output was invalid, its lease lapsed, or the
 * step it parked on gave up): queue the next attempt after its back-off when the error is
 * retryable and attempts remain, else fail the step and move the run on.
 */
import { AgentryError } from '../lib/errors.js';
import { retryDelayMs } from '../lib/backoff.js';
import type { RunTx, StepGuard } from '../store/store.js';
import type { AttemptKey } from '../types.js';
import { afterStepDone, syncRunStatus } from './advance.js';
import { emit, endAttempt, isTerminalRun, specOf, type TransitionContext } from './context.js';

/**
 * A step whose worker died is re-run at once, even when its retry policy allows a single
 * attempt, up to this many attempts in all: a crash is not the step's fault, but a step
 * that takes its worker down every time must still end.
 */
export const LEASE_LOSS_ATTEMPTS = 3;

/** The guard of a change only the worker holding the attempt's lease may make. */
export const heldBy = (key: AttemptKey, workerId: string) => ({
  status: ['running'] as const,
  attempt: key.attempt,
  leaseOwner: workerId,
});

/** Records a failed attempt: schedules a retry (a durable timer) or fails the step and the run. */
export async function failStep(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  workerId: string | null,
  error: AgentryError,
  attemptStatus: 'failed' | 'lease_expired' = 'failed',
): Promise<boolean> {
  if (isTerminalRun(tx)) return false;
  const guard = workerId === null ? { status: ['running'] as const, attempt: key.attempt } : heldBy(key, workerId);
  return recordFailure(tx, ctx, key, error, guard, attemptStatus);
}

/** The lease of a running attempt lapsed (its worker died or hung). */
export async function expireLease(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  /** Expire even before the lease's time is up (its worker is known to be dead). */
  force = false,
): Promise<boolean> {
  const step = await tx.step(key.stepId);
  if (!step || step.status !== 'running' || step.attempt !== key.attempt) return false;
  if (!force && (step.leaseExpiresAt ?? Infinity) >= ctx.now) return false;
  const error = new AgentryError('lease_expired', `worker ${step.leaseOwner ?? '?'} stopped renewing its lease`, {
    retryable: true,
  });
  return failStep(tx, ctx, key, null, error, 'lease_expired');
}

/**
 * Fails an attempt under `guard`: queues the next attempt after its back-off when the error
 * is retryable and attempts remain, else fails the step (`expired` for a human task that
 * ran out of time) and moves the run on.
 */
export async function recordFailure(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  error: AgentryError,
  guard: StepGuard,
  attemptStatus: 'failed' | 'lease_expired',
  stepStatus: 'failed' | 'expired' = 'failed',
): Promise<boolean> {
  const step = await tx.step(key.stepId);
  const spec = step && specOf(ctx, step);
  const info = error.toInfo();
  const lost = attemptStatus === 'lease_expired';
  const limit = spec === undefined ? 0 : lost ? Math.max(spec.retry.maxAttempts, LEASE_LOSS_ATTEMPTS) : spec.retry.maxAttempts;
  // Attempts a stopping worker handed back (release.ts) were no failure of the step: not counted.
  const tries = key.attempt - (await tx.releasedAttempts(key.stepId));
  const retryAt =
    spec !== undefined && error.retryable && tries < limit ? ctx.now + (lost ? 0 : retryDelayMs(spec.retry, tries, error.retryAfterMs)) : undefined;
  const patch =
    retryAt === undefined
      ? { status: stepStatus, error: info, finishedAt: ctx.now }
      : { status: 'queued' as const, availableAt: retryAt, error: info, state: null };
  const applied = await tx.updateStep(key.stepId, { ...patch, leaseOwner: null, leaseExpiresAt: null }, guard);
  if (!applied || !step) return false;
  const took = await endAttempt(tx, ctx, key.stepId, key.attempt, { status: attemptStatus, error: info, finishedAt: ctx.now });
  if (attemptStatus === 'lease_expired') await emit(tx, ctx, 'step.lease_expired', { attempt: key.attempt, worker: step.leaseOwner, ...took }, key.stepId);
  if (retryAt !== undefined) {
    await emit(
      tx,
      ctx,
      'step.retry_scheduled',
      { attempt: key.attempt, next_attempt: key.attempt + 1, at: new Date(retryAt).toISOString(), error: info, ...took },
      key.stepId,
    );
    if (retryAt <= ctx.now) ctx.effects.wake = true;
    await syncRunStatus(tx, ctx);
    return true;
  }
  await emit(tx, ctx, 'step.failed', { attempt: key.attempt, error: info, ...took }, key.stepId);
  await afterStepDone(tx, ctx, step);
  return true;
}
