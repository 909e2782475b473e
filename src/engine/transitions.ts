/**
 * Every change of a run's state, each called inside one store transaction that holds the
 * run's lock (`RunTx`). These functions decide; the store records. Each appends the
 * events that tell what happened.
 */
import { AgentryError, toAgentryError, type ErrorInfo } from '../errors.js';
import { evaluateExpression, renderTemplate } from '../spec/index.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { StepResult } from '../runtime/types.js';
import {
  DONE_STEP_STATUSES,
  TERMINAL_RUN_STATUSES,
  TERMINAL_STEP_STATUSES,
  type AttemptKey,
  type RunStatus,
  type StepRecord,
} from '../types.js';
import { retryDelayMs } from './backoff.js';
import { assertMatches, splitReserved } from './output.js';
import { buildScope } from './scope.js';

/**
 * A step whose worker died is re-run at once, even when its retry policy allows a single
 * attempt, up to this many attempts in all: a crash is not the step's fault, but a step
 * that takes its worker down every time must still end.
 */
export const LEASE_LOSS_ATTEMPTS = 3;

export interface TransitionContext {
  wf: CompiledWorkflow;
  env: NodeJS.ProcessEnv;
  now: number;
}

/** What the caller should do after the transaction commits. */
export interface TransitionEffects {
  /** Steps were queued that are due now: wake the workers. */
  wake: boolean;
  /** The run ended; running work of it must be aborted. */
  finished: RunStatus | undefined;
}

function isTerminalRun(tx: RunTx): boolean {
  return TERMINAL_RUN_STATUSES.has(tx.run.status);
}

/**
 * Queues every pending step whose dependencies are done (or skips it when its `when:` is
 * false), repeating until nothing changes; then finishes the run when every step is done.
 */
export async function advance(tx: RunTx, ctx: TransitionContext, effects: TransitionEffects): Promise<void> {
  if (isTerminalRun(tx)) return;
  for (;;) {
    const steps = await tx.steps();
    const byId = new Map(steps.map((s) => [s.stepId, s]));
    const failed = steps.find((s) => s.status === 'failed' || s.status === 'expired');
    if (failed) {
      await finishRun(tx, ctx, 'failed', failed.error ?? { code: 'step_failed', message: `step ${failed.stepId} failed` }, effects);
      return;
    }
    let changed = false;
    for (const id of ctx.wf.order) {
      const step = byId.get(id);
      const spec = ctx.wf.steps.get(id);
      if (!step || !spec || step.status !== 'pending') continue;
      if (!spec.needs.every((need) => DONE_STEP_STATUSES.has(byId.get(need)?.status ?? 'pending'))) continue;
      changed = true;
      if (spec.when !== undefined) {
        let go: unknown;
        try {
          go = evaluateExpression(spec.when, buildScope(ctx.wf, tx.run, steps, ctx.env));
        } catch (error) {
          const info = toAgentryError(error, 'expression_error').toInfo();
          await tx.updateStep(id, { status: 'failed', error: info, finishedAt: ctx.now });
          await tx.appendEvent('step.failed', { error: info }, id);
          break;
        }
        if (go !== true) {
          await tx.updateStep(id, { status: 'skipped', finishedAt: ctx.now });
          await tx.appendEvent('step.skipped', { when: spec.when }, id);
          continue;
        }
      }
      await tx.updateStep(id, { status: 'queued', availableAt: ctx.now });
      await tx.appendEvent('step.queued', {}, id);
      effects.wake = true;
    }
    if (!changed) break;
  }
  const steps = await tx.steps();
  if (steps.every((s) => DONE_STEP_STATUSES.has(s.status))) await succeedRun(tx, ctx, steps, effects);
}

async function succeedRun(tx: RunTx, ctx: TransitionContext, steps: StepRecord[], effects: TransitionEffects): Promise<void> {
  let output: unknown;
  try {
    output =
      ctx.wf.output === undefined
        ? Object.fromEntries(steps.filter((s) => s.status === 'succeeded').map((s) => [s.stepId, s.output]))
        : renderTemplate(ctx.wf.output, buildScope(ctx.wf, tx.run, steps, ctx.env, true));
  } catch (error) {
    await finishRun(tx, ctx, 'failed', toAgentryError(error, 'expression_error').toInfo(), effects);
    return;
  }
  await tx.updateRun({ status: 'succeeded', output, finishedAt: ctx.now });
  await tx.appendEvent('run.succeeded', { duration_ms: ctx.now - tx.run.createdAt });
  effects.finished = 'succeeded';
}

/** Ends the run (failed, cancelled or timed out) and cancels every step still active. */
export async function finishRun(
  tx: RunTx,
  ctx: TransitionContext,
  status: Exclude<RunStatus, 'queued' | 'running' | 'waiting' | 'succeeded'>,
  error: ErrorInfo,
  effects: TransitionEffects,
): Promise<void> {
  if (isTerminalRun(tx)) return;
  for (const step of await tx.steps()) {
    if (TERMINAL_STEP_STATUSES.has(step.status)) continue;
    await tx.updateStep(step.stepId, { status: 'cancelled', leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now });
    if (step.status === 'running' || step.status === 'waiting') {
      await tx.updateAttempt(step.stepId, step.attempt, { status: 'cancelled', finishedAt: ctx.now });
    }
    await tx.appendEvent('step.cancelled', { reason: status }, step.stepId);
  }
  await tx.updateRun({ status, error, finishedAt: ctx.now });
  await tx.appendEvent(`run.${status}`, { error });
  effects.finished = status;
}

/** A claim of a due step by a worker: returns the rendered config to execute, or undefined. */
export async function startStep(
  tx: RunTx,
  ctx: TransitionContext,
  stepId: string,
  workerId: string,
  leaseExpiresAt: number,
  effects: TransitionEffects,
): Promise<{ key: AttemptKey; config: unknown; input: unknown; state: unknown } | undefined> {
  if (isTerminalRun(tx)) return undefined;
  const steps = await tx.steps();
  const step = steps.find((s) => s.stepId === stepId);
  const spec = ctx.wf.steps.get(stepId);
  if (!step || !spec) return undefined;
  if ((step.status !== 'queued' && step.status !== 'waiting') || (step.availableAt ?? Infinity) > ctx.now) return undefined;

  const resuming = step.status === 'waiting';
  const attempt = resuming ? step.attempt : step.attempt + 1;
  let config: unknown;
  let input: unknown;
  let stored: unknown;
  try {
    const scope = buildScope(ctx.wf, tx.run, steps, ctx.env);
    config = renderTemplate(spec.config, scope);
    input = spec.input === undefined ? undefined : renderTemplate(spec.input, scope);
    const masked = ctx.wf.secrets.length ? buildScope(ctx.wf, tx.run, steps, ctx.env, true) : undefined;
    const storedConfig = masked ? renderTemplate(spec.config, masked) : config;
    const storedInput = masked && spec.input !== undefined ? renderTemplate(spec.input, masked) : input;
    stored = spec.input === undefined ? storedConfig : { config: storedConfig, input: storedInput };
  } catch (error) {
    const info = toAgentryError(error, 'expression_error').toInfo();
    await tx.updateStep(stepId, { status: 'failed', attempt, error: info, finishedAt: ctx.now });
    await tx.appendEvent('step.failed', { attempt, error: info }, stepId);
    await advance(tx, ctx, effects);
    return undefined;
  }
  await tx.updateStep(stepId, {
    status: 'running',
    attempt,
    leaseOwner: workerId,
    leaseExpiresAt,
    input: stored,
    startedAt: step.startedAt ?? ctx.now,
  });
  if (resuming) {
    await tx.updateAttempt(stepId, attempt, { status: 'running' });
  } else {
    await tx.insertAttempt({
      runId: tx.run.id,
      stepId,
      attempt,
      status: 'running',
      workerId,
      input: stored,
      output: null,
      error: null,
      startedAt: ctx.now,
      finishedAt: null,
    });
  }
  await tx.appendEvent('step.started', { attempt, worker: workerId, ...(resuming ? { resumed: true } : {}) }, stepId);
  if (tx.run.status === 'queued') {
    await tx.updateRun({ status: 'running', startedAt: ctx.now });
    await tx.appendEvent('run.started', {});
  } else if (tx.run.status === 'waiting') {
    await tx.updateRun({ status: 'running' });
    await tx.appendEvent('run.resumed', {});
  }
  return { key: { runId: tx.run.id, stepId, attempt }, config, input, state: step.state ?? undefined };
}

const holds = (key: AttemptKey, workerId: string) => ({
  status: ['running'] as const,
  attempt: key.attempt,
  leaseOwner: workerId,
});

/** Records an attempt's result. Returns false when the lease was lost (the result is dropped). */
export async function completeStep(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  workerId: string,
  result: StepResult,
  effects: TransitionEffects,
): Promise<boolean> {
  if (isTerminalRun(tx)) return false;
  if (result.kind === 'suspend') {
    const parked = await tx.updateStep(
      key.stepId,
      { status: 'waiting', availableAt: result.until, state: result.state, leaseOwner: null, leaseExpiresAt: null },
      holds(key, workerId),
    );
    if (!parked) return false;
    await tx.updateAttempt(key.stepId, key.attempt, { status: 'suspended' });
    await tx.appendEvent('step.waiting', { attempt: key.attempt, until: new Date(result.until).toISOString() }, key.stepId);
    const steps = await tx.steps();
    if (!steps.some((s) => s.status === 'running' || s.status === 'queued')) {
      await tx.updateRun({ status: 'waiting' });
      await tx.appendEvent('run.waiting', {});
    }
    return true;
  }

  const spec = ctx.wf.steps.get(key.stepId);
  const { output, meta } = splitReserved(result.output);
  const merged = meta || result.meta ? { ...result.meta, ...meta } : null;
  if (spec?.outputSchema) {
    try {
      assertMatches(spec.outputSchema, output, 'output_invalid', `output of step ${key.stepId}`);
    } catch (error) {
      return failStep(tx, ctx, key, workerId, toAgentryError(error), effects);
    }
  }
  const done = await tx.updateStep(
    key.stepId,
    { status: 'succeeded', output, meta: merged, error: null, state: null, leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now },
    holds(key, workerId),
  );
  if (!done) return false;
  await tx.updateAttempt(key.stepId, key.attempt, { status: 'succeeded', output, finishedAt: ctx.now });
  await tx.appendEvent('step.succeeded', { attempt: key.attempt, ...(merged ? { meta: merged } : {}) }, key.stepId);
  await advance(tx, ctx, effects);
  return true;
}

/** Records a failed attempt: schedules a retry (a durable timer) or fails the step and the run. */
export async function failStep(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  workerId: string | null,
  error: AgentryError,
  effects: TransitionEffects,
  attemptStatus: 'failed' | 'lease_expired' = 'failed',
): Promise<boolean> {
  if (isTerminalRun(tx)) return false;
  const spec = ctx.wf.steps.get(key.stepId);
  const info = error.toInfo();
  const guard = workerId === null ? { status: ['running'] as const, attempt: key.attempt } : holds(key, workerId);
  const lost = attemptStatus === 'lease_expired';
  const limit = spec === undefined ? 0 : lost ? Math.max(spec.retry.maxAttempts, LEASE_LOSS_ATTEMPTS) : spec.retry.maxAttempts;
  const retry = error.retryable && key.attempt < limit;
  const patch = retry
    ? {
        status: 'queued' as const,
        availableAt: ctx.now + (lost ? 0 : retryDelayMs(spec!.retry, key.attempt, error.retryAfterMs)),
        error: info,
        state: null,
      }
    : { status: 'failed' as const, error: info, finishedAt: ctx.now };
  const applied = await tx.updateStep(key.stepId, { ...patch, leaseOwner: null, leaseExpiresAt: null }, guard);
  if (!applied) return false;
  await tx.updateAttempt(key.stepId, key.attempt, { status: attemptStatus, error: info, finishedAt: ctx.now });
  if (attemptStatus === 'lease_expired') await tx.appendEvent('step.lease_expired', { attempt: key.attempt }, key.stepId);
  if (retry) {
    await tx.appendEvent(
      'step.retry_scheduled',
      { attempt: key.attempt, next_attempt: key.attempt + 1, at: new Date(patch.availableAt!).toISOString(), error: info },
      key.stepId,
    );
    return true;
  }
  await tx.appendEvent('step.failed', { attempt: key.attempt, error: info }, key.stepId);
  await advance(tx, ctx, effects);
  return true;
}

/** The lease of a running attempt lapsed (its worker died or hung). */
export async function expireLease(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  effects: TransitionEffects,
  /** Expire even before the lease's time is up (its worker is known to be dead). */
  force = false,
): Promise<boolean> {
  const step = (await tx.steps()).find((s) => s.stepId === key.stepId);
  if (!step || step.status !== 'running' || step.attempt !== key.attempt) return false;
  if (!force && (step.leaseExpiresAt ?? Infinity) >= ctx.now) return false;
  const error = new AgentryError('lease_expired', `worker ${step.leaseOwner ?? '?'} stopped renewing its lease`, {
    retryable: true,
  });
  return failStep(tx, ctx, key, null, error, effects, 'lease_expired');
}

export function newEffects(): TransitionEffects {
  return { wake: false, finished: undefined };
}
