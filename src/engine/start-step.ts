/**
 * A worker claims a due step. The run starts with its first claim (or waits for its turn
 * under `concurrency:`); an executor's step goes running under the worker's lease with its
 * config rendered; a control step is carried out here instead (control.ts) and parks
 * `waiting` without a worker.
 */
import { CONTROL_KINDS, type CompiledStep } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { AttemptKey } from '../types.js';
import { afterStepDone } from './advance.js';
import { emit, endAttempt, insertAttempt, isTerminalRun, specOf, type TransitionContext } from './context.js';
import { resumeControl, startControl } from './control.js';
import { renderStep } from './render-step.js';
import { isBlocked, type BlockedState } from './step-state.js';
import { newRunTraceContext } from '../obs/run-trace.js';

/** Waiting for a blocked run's turn (`concurrency:`) is re-checked this often even without a wake-up. */
export const BLOCKED_RECHECK_MS = 30_000;

export interface StartedStep {
  key: AttemptKey;
  config: unknown;
  input: unknown;
  state: unknown;
  spec: CompiledStep;
}

/**
 * A claim of a due step by a worker: returns the rendered config to execute; `handled` when
 * the engine carried the step out itself (a control step) or parked it (the run waits for
 * its turn); undefined when it is not due any more.
 */
export async function startStep(
  tx: RunTx,
  ctx: TransitionContext,
  stepId: string,
  workerId: string,
  leaseExpiresAt: number,
): Promise<StartedStep | 'handled' | undefined> {
  if (isTerminalRun(tx)) return undefined;
  const step = await tx.step(stepId);
  const spec = step && specOf(ctx, step);
  if (!step || !spec) return undefined;
  if ((step.status !== 'queued' && step.status !== 'waiting') || (step.availableAt ?? Infinity) > ctx.now) return undefined;

  if (!(await startRunOnce(tx, ctx))) {
    // Its concurrency key is at its limit: park the step until a run of the key ends.
    await tx.updateStep(stepId, { availableAt: ctx.now + BLOCKED_RECHECK_MS, state: { blocked: true } satisfies BlockedState });
    if (!isBlocked(step.state)) await emit(tx, ctx, 'run.blocked', { concurrency_key: tx.run.concurrencyKey, limit: ctx.wf.concurrency?.limit });
    return 'handled';
  }
  const resuming = step.status === 'waiting';
  if (CONTROL_KINDS.has(spec.kind)) {
    if (resuming) await resumeControl(tx, ctx, step, spec);
    else await startControl(tx, ctx, step, spec);
    return 'handled';
  }

  const attempt = resuming ? step.attempt : step.attempt + 1;
  const rendered = renderStep(tx, ctx, step, spec, await tx.steps());
  if ('error' in rendered) {
    // Recorded as an attempt like any other failure, so the attempt history shows why.
    if (!resuming) await insertAttempt(tx, ctx, stepId, attempt, workerId, null);
    const took = await endAttempt(tx, ctx, stepId, attempt, { status: 'failed', error: rendered.error, finishedAt: ctx.now });
    await tx.updateStep(stepId, { status: 'failed', attempt, error: rendered.error, finishedAt: ctx.now });
    await emit(tx, ctx, 'step.failed', { attempt, error: rendered.error, ...took }, stepId);
    await afterStepDone(tx, ctx, step);
    return 'handled';
  }
  await tx.updateStep(stepId, {
    status: 'running',
    attempt,
    leaseOwner: workerId,
    leaseExpiresAt,
    input: rendered.stored,
    startedAt: step.startedAt ?? ctx.now,
  });
  if (resuming) {
    await tx.updateAttempt(stepId, attempt, { status: 'running' });
  } else {
    await insertAttempt(tx, ctx, stepId, attempt, workerId, rendered.stored);
  }
  await emit(tx, ctx, 'step.started', { attempt, worker: workerId, ...(resuming ? { resumed: true } : {}) }, stepId);
  return {
    key: { runId: tx.run.id, stepId, attempt },
    config: rendered.config,
    input: rendered.input,
    state: resuming ? (step.state ?? undefined) : undefined,
    spec,
  };
}

/** The run's first step is being started: the run starts (or waits for its turn under `concurrency:`). */
async function startRunOnce(tx: RunTx, ctx: TransitionContext): Promise<boolean> {
  if (tx.run.status !== 'queued') {
    if (tx.run.status === 'waiting') {
      await tx.updateRun({ status: 'running' });
      await emit(tx, ctx, 'run.resumed', {});
    }
    return true;
  }
  const key = tx.run.concurrencyKey;
  const limit = ctx.wf.concurrency?.limit;
  if (key !== null && limit !== undefined) {
    await tx.lockKey(key);
    const active = await tx.countActive(key);
    if (active >= limit) return false;
  }
  // A run created while tracing was off gets its trace here, when a worker that traces starts it.
  const traceContext = tx.run.traceContext ?? newRunTraceContext('root');
  await tx.updateRun({ status: 'running', startedAt: ctx.now, ...(traceContext === tx.run.traceContext ? {} : { traceContext }) });
  await emit(tx, ctx, 'run.started', {});
  return true;
}
