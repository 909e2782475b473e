/**
 * Moving a run on after something changed: queue the steps whose dependencies are done,
 * skip those whose `when:` is false, expand `for_each` steps into items, end the run when
 * every step is done or one failed, and keep the run's `running`/`waiting` status true.
 */
import { toAgentryError } from '../lib/errors.js';
import { evaluateExpression } from '../spec/index.js';
import type { RunTx } from '../store/store.js';
import { DONE_STEP_STATUSES, type StepRecord } from '../types.js';
import { emit, isTerminalRun, type TransitionContext } from './context.js';
import { settleMap, startMap } from './map-steps.js';
import { finishRun, succeedRun } from './run-end.js';
import { buildScope } from './scope.js';

/**
 * Queues every pending step whose dependencies are done (or skips it when its `when:` is
 * false, or expands it into items when it has `for_each:`), repeating until nothing
 * changes; then finishes the run when every step is done.
 */
export async function advance(tx: RunTx, ctx: TransitionContext): Promise<void> {
  if (isTerminalRun(tx)) return;
  for (;;) {
    const steps = await tx.steps();
    const byId = new Map(steps.map((s) => [s.stepId, s]));
    const failed = steps.find((s) => s.status === 'failed' || s.status === 'expired');
    if (failed) {
      await finishRun(tx, ctx, 'failed', failed.error ?? { code: 'step_failed', message: `step ${failed.stepId} failed` });
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
          await emit(tx, ctx, 'step.failed', { error: info }, id);
          break;
        }
        if (go !== true) {
          await tx.updateStep(id, { status: 'skipped', finishedAt: ctx.now });
          await emit(tx, ctx, 'step.skipped', { when: spec.when }, id);
          continue;
        }
      }
      if (spec.forEach) {
        await startMap(tx, ctx, step, spec, steps);
        break; // the map may have settled at once (an empty list, a bad one): read the steps again
      }
      await tx.updateStep(id, { status: 'queued', availableAt: ctx.now });
      await emit(tx, ctx, 'step.queued', {}, id);
      ctx.effects.wake = true;
    }
    if (!changed) break;
  }
  const steps = await tx.steps();
  if (steps.every((s) => DONE_STEP_STATUSES.has(s.status))) await succeedRun(tx, ctx, steps);
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
    await emit(tx, ctx, 'run.waiting', {});
  } else if (tx.run.status === 'waiting' && busy) {
    await tx.updateRun({ status: 'running' });
    await emit(tx, ctx, 'run.resumed', {});
  }
}

/** A step reached a terminal status: settle its map (an item) or move the run on. */
export async function afterStepDone(tx: RunTx, ctx: TransitionContext, step: Pick<StepRecord, 'parentStep'>): Promise<void> {
  if (step.parentStep === null || (await settleMap(tx, ctx, step.parentStep))) await advance(tx, ctx);
}
