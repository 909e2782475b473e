/**
 * `for_each` steps: a map step becomes one step row per item (`<step>[<i>]`), queued
 * `concurrency` at a time; it settles when its items have. Moving the run on after a map
 * step settled is the caller's (advance.ts), so that this module need not import it.
 */
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { evaluateExpression } from '../spec/index.js';
import type { CompiledStep } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { StepRecord } from '../types.js';
import { emit, type TransitionContext } from './context.js';
import { buildScope } from './scope.js';

/** A pending map step's dependencies are done: evaluate its list and insert its items. */
export async function startMap(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStep, steps: StepRecord[]): Promise<void> {
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
  await emit(tx, ctx, 'map.started', { items: list.length, concurrency: policy.concurrency, max_failures: policy.maxFailures }, step.stepId);
  await tx.insertItems(step.stepId, spec.kind, list);
  await settleMap(tx, ctx, step.stepId);
}

async function failMapStep(tx: RunTx, ctx: TransitionContext, stepId: string, error: AgentryError): Promise<void> {
  const info = error.toInfo();
  await tx.updateStep(stepId, { status: 'failed', error: info, finishedAt: ctx.now });
  await emit(tx, ctx, 'step.failed', { error: info }, stepId);
}

/**
 * After an item changed: fail the map step once more items failed than `max_failures`
 * allows (cancelling the rest), succeed it with the outputs in input order once every item
 * is done, else queue pending items up to `concurrency`. True when the map step settled
 * (the run must move on).
 */
export async function settleMap(tx: RunTx, ctx: TransitionContext, parent: string): Promise<boolean> {
  const spec = ctx.wf.steps.get(parent);
  const map = (await tx.steps()).find((s) => s.stepId === parent);
  if (!spec?.forEach || map?.status !== 'running') return false;
  const counts = await tx.itemCounts(parent);
  const n = (status: StepRecord['status']) => counts[status] ?? 0;
  const failed = n('failed') + n('expired') + n('cancelled');
  if (failed > spec.forEach.maxFailures) {
    for (const item of await tx.cancelItems(parent, ctx.now)) {
      await tx.updateAttempt(item.stepId, item.attempt, { status: 'cancelled', finishedAt: ctx.now });
      ctx.effects.aborted.push({ runId: tx.run.id, stepId: item.stepId });
    }
    const failedItems = (await tx.itemResults(parent)).filter((r) => r.status === 'failed' || r.status === 'expired');
    const first = failedItems[0]?.error;
    const error = new AgentryError(
      'map_failed',
      `${failedItems.length} items of step ${parent} failed (max_failures ${spec.forEach.maxFailures})${first ? `; first: ${first.message}` : ''}`,
      { details: { failed: failedItems.map((r) => r.index), first_error: first } },
    );
    await failMapStep(tx, ctx, parent, error);
    return true;
  }
  const active = n('queued') + n('running') + n('waiting');
  const pending = n('pending');
  if (active === 0 && pending === 0) {
    const results = await tx.itemResults(parent);
    const output = results.map((r) => (r.status === 'succeeded' ? r.output : null));
    const failedIndexes = results.filter((r) => r.status !== 'succeeded').map((r) => r.index);
    const meta = failedIndexes.length ? { flags: [`failed_items:${failedIndexes.join(',')}`] } : null;
    await tx.updateStep(parent, { status: 'succeeded', output, meta, finishedAt: ctx.now });
    await emit(tx, ctx, 'step.succeeded', { items: results.length, failed_items: failedIndexes }, parent);
    return true;
  }
  const next = await tx.pendingItems(parent, spec.forEach.concurrency - active);
  for (const item of next) {
    await tx.updateStep(item.stepId, { status: 'queued', availableAt: ctx.now });
    await emit(tx, ctx, 'step.queued', {}, item.stepId);
  }
  if (next.length > 0) ctx.effects.wake = true;
  return false;
}
