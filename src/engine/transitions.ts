/**
 * Every change of a run's state, each called inside one store transaction that holds the
 * run's lock (`RunTx`). These functions decide; the store records. Each appends the
 * events that tell what happened.
 *
 * Steps run by executors go queued → running (leased by a worker) → succeeded | failed.
 * Control steps (`human`, `wait`, `workflow`; see control.ts) are carried out here instead:
 * claiming one starts it (creates its task, child run, …) and parks it `waiting` without a
 * worker; a decision, a signal or a child's end settles it. A `for_each` step becomes one
 * step row per item (`<step>[<i>]`), queued `concurrency` at a time; the map step settles
 * when its items have.
 */
import { AgentryError, toAgentryError, type ErrorInfo } from '../lib/errors.js';
import { evaluateExpression, renderTemplate } from '../spec/index.js';
import { CONTROL_KINDS, type CompiledStep, type CompiledWorkflow } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { StepResult } from '../runtime/types.js';
import {
  DONE_STEP_STATUSES,
  TERMINAL_RUN_STATUSES,
  TERMINAL_STEP_STATUSES,
  type AttemptKey,
  type RunRecord,
  type RunStatus,
  type StepMeta,
  type StepRecord,
} from '../types.js';
import { retryDelayMs } from '../lib/backoff.js';
import { resumeControl, startControl, type ControlOps } from './control.js';
import { assertMatches, splitReserved } from '../spec/output.js';
import { buildScope, itemScope } from './scope.js';
import { cancelOpenTasks, createTask } from './tasks.js';

/**
 * A step whose worker died is re-run at once, even when its retry policy allows a single
 * attempt, up to this many attempts in all: a crash is not the step's fault, but a step
 * that takes its worker down every time must still end.
 */
export const LEASE_LOSS_ATTEMPTS = 3;

/** Waiting for a blocked run's turn (`concurrency:`) is re-checked this often even without a wake-up. */
export const BLOCKED_RECHECK_MS = 30_000;

export interface TransitionContext {
  wf: CompiledWorkflow;
  env: NodeJS.ProcessEnv;
  now: number;
  /** The project's workflow of that name (what a `workflow:` step starts), if loaded. */
  workflowNamed: (name: string) => CompiledWorkflow | undefined;
  /** The compiled workflow another run (a parent or child) was started with. */
  workflowOf: (run: RunRecord) => CompiledWorkflow;
}

/** What the caller should do after the transaction commits. */
export interface TransitionEffects {
  /** Steps were queued that are due now: wake the workers. */
  wake: boolean;
  /** Runs that ended (this one, children cancelled with it); their running work must be aborted. */
  finished: Map<string, RunStatus>;
  /** Single steps whose running attempts must be aborted (items of a map that failed). */
  aborted: { runId: string; stepId: string }[];
}

export function newEffects(): TransitionEffects {
  return { wake: false, finished: new Map(), aborted: [] };
}

/** The context of another run (a parent or a child) changed in the same transaction. */
export function contextFor(ctx: TransitionContext, run: RunRecord): TransitionContext {
  return run.specHash === ctx.wf.hash ? ctx : { ...ctx, wf: ctx.workflowOf(run) };
}

/** The compiled step a step row runs: its own, or its map step's for an item. */
export function specOf(ctx: TransitionContext, step: Pick<StepRecord, 'stepId' | 'parentStep'>): CompiledStep | undefined {
  return ctx.wf.steps.get(step.parentStep ?? step.stepId);
}

function isTerminalRun(tx: RunTx): boolean {
  return TERMINAL_RUN_STATUSES.has(tx.run.status);
}

/**
 * Queues every pending step whose dependencies are done (or skips it when its `when:` is
 * false, or expands it into items when it has `for_each:`), repeating until nothing
 * changes; then finishes the run when every step is done.
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
      if (spec.forEach) {
        await startMap(tx, ctx, step, spec, steps, effects);
        break; // the map may have finished at once (an empty list): read the steps again
      }
      await tx.updateStep(id, { status: 'queued', availableAt: ctx.now });
      await tx.appendEvent('step.queued', {}, id);
      effects.wake = true;
    }
    if (!changed) break;
  }
  const steps = await tx.steps();
  if (steps.every((s) => DONE_STEP_STATUSES.has(s.status))) await succeedRun(tx, ctx, steps, effects);
  else await syncRunStatus(tx, ctx);
}

/**
 * A started run is `waiting` while everything it has left waits on a person, a signal, a
 * child run or a timer, and `running` otherwise.
 */
export async function syncRunStatus(tx: RunTx, ctx: TransitionContext): Promise<void> {
  if (isTerminalRun(tx) || tx.run.status === 'queued') return;
  const steps = await tx.steps();
  const isMap = (s: StepRecord) => ctx.wf.steps.get(s.stepId)?.forEach !== undefined;
  let busy = steps.some((s) => s.status === 'queued' || (s.status === 'running' && !isMap(s)));
  let waits = steps.some((s) => s.status === 'waiting');
  // A running map step is busy while any of its items is.
  for (const map of steps.filter((s) => s.status === 'running' && isMap(s))) {
    if (busy) break;
    const counts = await tx.itemCounts(map.stepId);
    busy = (counts.queued ?? 0) + (counts.running ?? 0) > 0;
    waits ||= (counts.waiting ?? 0) > 0;
  }
  if (tx.run.status === 'running' && !busy && waits) {
    await tx.updateRun({ status: 'waiting' });
    await tx.appendEvent('run.waiting', {});
  } else if (tx.run.status === 'waiting' && busy) {
    await tx.updateRun({ status: 'running' });
    await tx.appendEvent('run.resumed', {});
  }
}

/** The run's first step is being started: the run starts (or waits for its turn under `concurrency:`). */
async function startRunOnce(tx: RunTx, ctx: TransitionContext): Promise<boolean> {
  if (tx.run.status !== 'queued') {
    if (tx.run.status === 'waiting') {
      await tx.updateRun({ status: 'running' });
      await tx.appendEvent('run.resumed', {});
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
  await tx.updateRun({ status: 'running', startedAt: ctx.now });
  await tx.appendEvent('run.started', {});
  return true;
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
  await releaseTurn(tx, ctx);
  await tx.updateRun({ status: 'succeeded', output, finishedAt: ctx.now });
  await tx.appendEvent('run.succeeded', { duration_ms: ctx.now - tx.run.createdAt });
  await notifyParent(tx, effects);
  effects.finished.set(tx.run.id, 'succeeded');
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
async function notifyParent(tx: RunTx, effects: TransitionEffects): Promise<void> {
  if (tx.run.parentRunId === null || tx.run.parentStepId === null) return;
  await tx.wakeStep(tx.run.parentRunId, tx.run.parentStepId);
  effects.wake = true;
}

/**
 * Ends the run (failed, cancelled or timed out): cancels its child runs first (locking a
 * child before touching any of this run's steps, the order every transaction keeps), then
 * every step, item and open task still active.
 */
export async function finishRun(
  tx: RunTx,
  ctx: TransitionContext,
  status: Exclude<RunStatus, 'queued' | 'running' | 'waiting' | 'succeeded'>,
  error: ErrorInfo,
  effects: TransitionEffects,
): Promise<void> {
  if (isTerminalRun(tx)) return;
  for (const child of await tx.childRuns()) {
    if (TERMINAL_RUN_STATUSES.has(child.status)) continue;
    const childTx = await tx.lockRun(child.id);
    if (!childTx) continue;
    const reason: ErrorInfo = { code: 'cancelled', message: `parent run ${tx.run.id} ended ${status}` };
    await finishRun(childTx, contextFor(ctx, childTx.run), 'cancelled', reason, effects);
  }
  await releaseTurn(tx, ctx);
  for (const item of await tx.cancelItems(undefined, ctx.now)) {
    await tx.updateAttempt(item.stepId, item.attempt, { status: 'cancelled', finishedAt: ctx.now });
  }
  for (const step of await tx.steps()) {
    if (TERMINAL_STEP_STATUSES.has(step.status)) continue;
    await tx.updateStep(step.stepId, { status: 'cancelled', leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now });
    if (step.status === 'running' || step.status === 'waiting') {
      await tx.updateAttempt(step.stepId, step.attempt, { status: 'cancelled', finishedAt: ctx.now });
    }
    await tx.appendEvent('step.cancelled', { reason: status }, step.stepId);
  }
  await cancelOpenTasks(tx, `run ended ${status}`);
  await tx.updateRun({ status, error, finishedAt: ctx.now });
  await tx.appendEvent(`run.${status}`, { error });
  await notifyParent(tx, effects);
  effects.finished.set(tx.run.id, status);
}

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
  effects: TransitionEffects,
): Promise<StartedStep | 'handled' | undefined> {
  if (isTerminalRun(tx)) return undefined;
  const step = await tx.step(stepId);
  const spec = step && specOf(ctx, step);
  if (!step || !spec) return undefined;
  if ((step.status !== 'queued' && step.status !== 'waiting') || (step.availableAt ?? Infinity) > ctx.now) return undefined;

  if (!(await startRunOnce(tx, ctx))) {
    // Its concurrency key is at its limit: park the step until a run of the key ends.
    const blocked = (step.state as { blocked?: boolean } | null)?.blocked === true;
    await tx.updateStep(stepId, { availableAt: ctx.now + BLOCKED_RECHECK_MS, state: { blocked: true } });
    if (!blocked) await tx.appendEvent('run.blocked', { concurrency_key: tx.run.concurrencyKey, limit: ctx.wf.concurrency?.limit });
    return 'handled';
  }
  const resuming = step.status === 'waiting';
  if (CONTROL_KINDS.has(spec.kind)) {
    const ops = controlOps(ctx, effects);
    if (resuming) await resumeControl(tx, ctx, step, spec, ops);
    else await startControl(tx, ctx, step, spec, ops);
    return 'handled';
  }

  const attempt = resuming ? step.attempt : step.attempt + 1;
  const rendered = renderStep(tx, ctx, step, spec, await tx.steps());
  if ('error' in rendered) {
    // Recorded as an attempt like any other failure, so the attempt history shows why.
    if (!resuming) await insertAttempt(tx, ctx, stepId, attempt, workerId, null);
    await tx.updateAttempt(stepId, attempt, { status: 'failed', error: rendered.error, finishedAt: ctx.now });
    await tx.updateStep(stepId, { status: 'failed', attempt, error: rendered.error, finishedAt: ctx.now });
    await tx.appendEvent('step.failed', { attempt, error: rendered.error }, stepId);
    await afterStepDone(tx, ctx, step, effects);
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
  await tx.appendEvent('step.started', { attempt, worker: workerId, ...(resuming ? { resumed: true } : {}) }, stepId);
  return {
    key: { runId: tx.run.id, stepId, attempt },
    config: rendered.config,
    input: rendered.input,
    state: resuming ? (step.state ?? undefined) : undefined,
    spec,
  };
}

export async function insertAttempt(
  tx: RunTx,
  ctx: TransitionContext,
  stepId: string,
  attempt: number,
  workerId: string | null,
  input: unknown,
  status: 'running' | 'suspended' = 'running',
): Promise<void> {
  await tx.insertAttempt({
    runId: tx.run.id,
    stepId,
    attempt,
    status,
    workerId,
    input,
    output: null,
    error: null,
    startedAt: ctx.now,
    finishedAt: null,
  });
}

export type RenderedStep = { config: unknown; input: unknown; stored: unknown } | { error: ErrorInfo };

/**
 * The step's config and `input:` rendered for this attempt, and the copy to store (secrets
 * masked). An item of a map sees `item` and `index`.
 */
export function renderStep(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStep, steps: StepRecord[]): RenderedStep {
  try {
    const withItem = (scope: ReturnType<typeof buildScope>) => (step.itemIndex === null ? scope : itemScope(scope, step.item, step.itemIndex));
    const scope = withItem(buildScope(ctx.wf, tx.run, steps, ctx.env));
    const config = renderTemplate(spec.config, scope);
    const input = spec.input === undefined ? undefined : renderTemplate(spec.input, scope);
    const masked = ctx.wf.secrets.length ? withItem(buildScope(ctx.wf, tx.run, steps, ctx.env, true)) : undefined;
    const storedConfig = masked ? renderTemplate(spec.config, masked) : config;
    const storedInput = masked && spec.input !== undefined ? renderTemplate(spec.input, masked) : input;
    const stored = spec.input === undefined ? storedConfig : { config: storedConfig, input: storedInput };
    return { config, input, stored };
  } catch (error) {
    return { error: toAgentryError(error, 'expression_error').toInfo() };
  }
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
    const state = result.task ? { ...(result.state as object | null), task_key: result.task.key } : result.state;
    const parked = await tx.updateStep(
      key.stepId,
      { status: 'waiting', availableAt: result.until, state, leaseOwner: null, leaseExpiresAt: null },
      holds(key, workerId),
    );
    if (!parked) return false;
    await tx.updateAttempt(key.stepId, key.attempt, { status: 'suspended' });
    const until = result.until === null ? {} : { until: new Date(result.until).toISOString() };
    await tx.appendEvent('step.waiting', { attempt: key.attempt, ...until }, key.stepId);
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
      return failStep(tx, ctx, key, workerId, toAgentryError(error), effects);
    }
  }
  if (result.review) {
    // Held for a person: the step waits with the output in its state until the review is decided.
    const held = await tx.updateStep(
      key.stepId,
      { status: 'waiting', availableAt: null, state: { review: { output, meta: merged } }, leaseOwner: null, leaseExpiresAt: null },
      holds(key, workerId),
    );
    if (!held) return false;
    await tx.updateAttempt(key.stepId, key.attempt, { status: 'suspended', output });
    await tx.appendEvent('step.waiting', { attempt: key.attempt, review: true }, key.stepId);
    await createTask(tx, ctx, key.stepId, { kind: 'review', key: 'review', ...result.review, dueAt: null });
    await syncRunStatus(tx, ctx);
    return true;
  }
  const done = await tx.updateStep(
    key.stepId,
    { status: 'succeeded', output, meta: merged, error: null, state: null, leaseOwner: null, leaseExpiresAt: null, finishedAt: ctx.now },
    holds(key, workerId),
  );
  if (!done) return false;
  await tx.updateAttempt(key.stepId, key.attempt, { status: 'succeeded', output, finishedAt: ctx.now });
  await tx.appendEvent('step.succeeded', { attempt: key.attempt, ...(merged ? { meta: merged } : {}) }, key.stepId);
  await afterStepDone(tx, ctx, step!, effects);
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
  const guard = workerId === null ? { status: ['running'] as const, attempt: key.attempt } : holds(key, workerId);
  return recordFailure(tx, ctx, key, error, effects, guard, attemptStatus);
}

/**
 * Fails an attempt under `guard`: queues the next attempt after its back-off when the error
 * is retryable and attempts remain, else fails the step (`expired` for a human task that
 * ran out of time) and moves the run on.
 */
async function recordFailure(
  tx: RunTx,
  ctx: TransitionContext,
  key: AttemptKey,
  error: AgentryError,
  effects: TransitionEffects,
  guard: { status: readonly StepRecord['status'][]; attempt: number; leaseOwner?: string },
  attemptStatus: 'failed' | 'lease_expired',
  stepStatus: 'failed' | 'expired' = 'failed',
): Promise<boolean> {
  const step = await tx.step(key.stepId);
  const spec = step && specOf(ctx, step);
  const info = error.toInfo();
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
    : { status: stepStatus, error: info, finishedAt: ctx.now };
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
    if (patch.availableAt! <= ctx.now) effects.wake = true;
    await syncRunStatus(tx, ctx);
    return true;
  }
  await tx.appendEvent('step.failed', { attempt: key.attempt, error: info }, key.stepId);
  await afterStepDone(tx, ctx, step!, effects);
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
  const step = await tx.step(key.stepId);
  if (!step || step.status !== 'running' || step.attempt !== key.attempt) return false;
  if (!force && (step.leaseExpiresAt ?? Infinity) >= ctx.now) return false;
  const error = new AgentryError('lease_expired', `worker ${step.leaseOwner ?? '?'} stopped renewing its lease`, {
    retryable: true,
  });
  return failStep(tx, ctx, key, null, error, effects, 'lease_expired');
}

// ---- steps that wait without a worker (control steps, held outputs) ----

/** A waiting step (a control step, or an output held for review) succeeds with `output`. */
export async function succeedWaiting(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  output: unknown,
  effects: TransitionEffects,
  meta: StepMeta | null = null,
): Promise<boolean> {
  const done = await tx.updateStep(
    step.stepId,
    { status: 'succeeded', output, meta, error: null, state: null, availableAt: null, finishedAt: ctx.now },
    { status: ['waiting'], attempt: step.attempt },
  );
  if (!done) return false;
  await tx.updateAttempt(step.stepId, step.attempt, { status: 'succeeded', output, finishedAt: ctx.now });
  await tx.appendEvent('step.succeeded', { attempt: step.attempt, ...(meta ? { meta } : {}) }, step.stepId);
  await afterStepDone(tx, ctx, step, effects);
  return true;
}

/** A waiting step fails (retried like any step when the error is retryable); `expired` for a lapsed task. */
export function failWaiting(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  error: AgentryError,
  effects: TransitionEffects,
  stepStatus: 'failed' | 'expired' = 'failed',
): Promise<boolean> {
  const key = { runId: tx.run.id, stepId: step.stepId, attempt: step.attempt };
  return recordFailure(tx, ctx, key, error, effects, { status: ['waiting'], attempt: step.attempt }, 'failed', stepStatus);
}

/** A waiting step waits on, until `availableAt` (null: until something makes it due). */
export async function parkWaiting(tx: RunTx, step: StepRecord, availableAt: number | null, state?: unknown): Promise<void> {
  await tx.updateStep(step.stepId, { availableAt, ...(state === undefined ? {} : { state }) }, { status: ['waiting'] });
}

export function controlOps(ctx: TransitionContext, effects: TransitionEffects): ControlOps {
  return {
    effects,
    succeed: (tx, step, output, meta) => succeedWaiting(tx, ctx, step, output, effects, meta ?? null),
    fail: (tx, step, error, status) => failWaiting(tx, ctx, step, error, effects, status),
    park: parkWaiting,
    insertAttempt: (tx, stepId, attempt, input) => insertAttempt(tx, ctx, stepId, attempt, null, input, 'suspended'),
    render: (tx, step, spec, steps) => renderStep(tx, ctx, step, spec, steps),
    startChild: async (tx, childTx) => {
      await advance(childTx, contextFor(ctx, childTx.run), effects);
    },
    cancelChild: async (childTx, reason) => {
      await finishRun(childTx, contextFor(ctx, childTx.run), 'cancelled', { code: 'cancelled', message: reason }, effects);
    },
    syncRunStatus: (tx) => syncRunStatus(tx, contextFor(ctx, tx.run)),
  };
}

/** A step reached a terminal status: settle its map (an item) or move the run on. */
async function afterStepDone(tx: RunTx, ctx: TransitionContext, step: StepRecord, effects: TransitionEffects): Promise<void> {
  if (step.parentStep !== null) await settleMap(tx, ctx, step.parentStep, effects);
  else await advance(tx, ctx, effects);
}

// ---- for_each ----

async function startMap(
  tx: RunTx,
  ctx: TransitionContext,
  step: StepRecord,
  spec: CompiledStep,
  steps: StepRecord[],
  effects: TransitionEffects,
): Promise<void> {
  const policy = spec.forEach!;
  let list: unknown;
  try {
    list = evaluateExpression(policy.from, buildScope(ctx.wf, tx.run, steps, ctx.env));
  } catch (error) {
    await failMapStep(tx, ctx, step.stepId, toAgentryError(error, 'expression_error'));
    return;
  }
  if (!Array.isArray(list) || list.length > policy.maxItems) {
    const why = Array.isArray(list) ? `${list.length} items, more than max_items ${policy.maxItems}` : 'not a list';
    await failMapStep(tx, ctx, step.stepId, new AgentryError('too_many_items', `for_each of step ${step.stepId}: '${policy.from}' gave ${why}`));
    return;
  }
  await tx.updateStep(step.stepId, { status: 'running', attempt: 1, startedAt: ctx.now });
  await tx.appendEvent('map.started', { items: list.length, concurrency: policy.concurrency, max_failures: policy.maxFailures }, step.stepId);
  await tx.insertItems(step.stepId, spec.kind, list);
  await settleMap(tx, ctx, step.stepId, effects);
}

async function failMapStep(tx: RunTx, ctx: TransitionContext, stepId: string, error: AgentryError): Promise<void> {
  const info = error.toInfo();
  await tx.updateStep(stepId, { status: 'failed', error: info, finishedAt: ctx.now });
  await tx.appendEvent('step.failed', { error: info }, stepId);
}

/**
 * After an item changed: fail the map step once more items failed than `max_failures`
 * allows (cancelling the rest), succeed it with the outputs in input order once every item
 * is done, else queue pending items up to `concurrency`.
 */
async function settleMap(tx: RunTx, ctx: TransitionContext, parent: string, effects: TransitionEffects): Promise<void> {
  const spec = ctx.wf.steps.get(parent);
  const map = (await tx.steps()).find((s) => s.stepId === parent);
  if (!spec?.forEach || map?.status !== 'running') return;
  const counts = await tx.itemCounts(parent);
  const n = (status: StepRecord['status']) => counts[status] ?? 0;
  const failed = n('failed') + n('expired') + n('cancelled');
  if (failed > spec.forEach.maxFailures) {
    for (const item of await tx.cancelItems(parent, ctx.now)) {
      await tx.updateAttempt(item.stepId, item.attempt, { status: 'cancelled', finishedAt: ctx.now });
      effects.aborted.push({ runId: tx.run.id, stepId: item.stepId });
    }
    const failedItems = (await tx.itemResults(parent)).filter((r) => r.status === 'failed' || r.status === 'expired');
    const first = failedItems[0]?.error;
    const error = new AgentryError(
      'map_failed',
      `${failedItems.length} items of step ${parent} failed (max_failures ${spec.forEach.maxFailures})${first ? `; first: ${first.message}` : ''}`,
      { details: { failed: failedItems.map((r) => r.index), first_error: first } },
    );
    await failMapStep(tx, ctx, parent, error);
    await advance(tx, ctx, effects);
    return;
  }
  const active = n('queued') + n('running') + n('waiting');
  const pending = n('pending');
  if (active === 0 && pending === 0) {
    const results = await tx.itemResults(parent);
    const output = results.map((r) => (r.status === 'succeeded' ? r.output : null));
    const failedIndexes = results.filter((r) => r.status !== 'succeeded').map((r) => r.index);
    const meta = failedIndexes.length ? { flags: [`failed_items:${failedIndexes.join(',')}`] } : null;
    await tx.updateStep(parent, { status: 'succeeded', output, meta, finishedAt: ctx.now });
    await tx.appendEvent('step.succeeded', { items: results.length, failed_items: failedIndexes }, parent);
    await advance(tx, ctx, effects);
    return;
  }
  const next = await tx.pendingItems(parent, spec.forEach.concurrency - active);
  for (const item of next) {
    await tx.updateStep(item.stepId, { status: 'queued', availableAt: ctx.now });
    await tx.appendEvent('step.queued', {}, item.stepId);
  }
  if (next.length > 0) effects.wake = true;
}
