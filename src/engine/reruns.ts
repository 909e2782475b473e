/**
 * Re-runs and attempt history.
 *
 * A re-run is a new run of an ended run's spec snapshot and input, linked to it by `retry_of`,
 * that takes over ("reuses") the steps that need not run again: their output is copied and no
 * attempt is made. `assertRerunnable` says whether a run can be re-run, `planReuse` decides
 * which steps those are; `attemptHistory` follows the
 * `retry_of` chain back so that a step's attempts can be read across every run that tried it;
 * `diffValues` says what changed between two attempts' inputs or outputs.
 */
import { AgentryError } from '../lib/errors.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { didYouMean } from '../spec/diagnostics.js';
import type { Store } from '../store/store.js';
import { DONE_STEP_STATUSES, TERMINAL_RUN_STATUSES, type AttemptRecord, type RunRecord, type RunStatus, type StepRecord } from '../types.js';

/** One attempt of a step, in the run that made it (`runId`). */
export type StepAttempt = AttemptRecord;

/** Run statuses a run can be retried from. */
export const RETRYABLE_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['failed', 'cancelled', 'timed_out']);

/** Longest `retry_of` chain followed: a guard against a cycle in damaged data, not a product limit. */
const MAX_CHAIN = 1_000;

/**
 * Throws unless `run` (of workflow `wf`) can be re-run. Without `fromStep` (retry from the
 * failed step): only a failed, cancelled or timed-out run. With `fromStep` (re-run from a
 * step): any run that has ended, a succeeded one too. Otherwise a `conflict`; an unknown
 * `fromStep` is `invalid_request`.
 */
export function assertRerunnable(wf: CompiledWorkflow, run: RunRecord, fromStep?: string): void {
  if (fromStep !== undefined) assertWorkflowStep(wf, fromStep, 'invalid_request');
  if (fromStep === undefined && !RETRYABLE_RUN_STATUSES.has(run.status)) {
    throw new AgentryError(
      'conflict',
      `run ${run.id} is ${run.status}; only failed, cancelled or timed_out runs can be retried from their failed step; re-run it from a step instead`,
      {
        details: { status: run.status },
      },
    );
  }
  if (fromStep !== undefined && !TERMINAL_RUN_STATUSES.has(run.status)) {
    throw new AgentryError('conflict', `run ${run.id} is ${run.status}; only a run that has ended can be re-run from a step`, {
      details: { status: run.status },
    });
  }
}

/**
 * The steps a re-run takes over from the old run, by step id.
 *
 * Without `fromStep` (retry from the failed step): every step that succeeded or was skipped.
 * With `fromStep` (re-run from a step): the same, except `fromStep` and every step downstream
 * of it (transitively, through `needs`), which run again. Either way a step is only reused when
 * every step it needs is reused too: its output was computed from theirs, so once one of them
 * runs again it must run again as well.
 *
 * Throws `invalid_request` when `fromStep` is not a step of the workflow.
 */
export function planReuse(wf: CompiledWorkflow, oldSteps: readonly StepRecord[], fromStep?: string): Map<string, StepRecord> {
  if (fromStep !== undefined) assertWorkflowStep(wf, fromStep, 'invalid_request');
  const old = new Map(oldSteps.filter((s) => s.parentStep === null).map((s) => [s.stepId, s]));
  const rerun = fromStep === undefined ? new Set<string>() : downstreamOf(wf, fromStep);
  const reuse = new Map<string, StepRecord>();
  // `order` is topological: a step's needs are decided before the step.
  for (const stepId of wf.order) {
    const step = old.get(stepId);
    if (!step || !DONE_STEP_STATUSES.has(step.status) || rerun.has(stepId)) continue;
    const needs = wf.steps.get(stepId)?.needs ?? [];
    if (needs.every((dep) => reuse.has(dep))) reuse.set(stepId, step);
  }
  return reuse;
}

/** `stepId` and every step that needs it, directly or through others. */
function downstreamOf(wf: CompiledWorkflow, stepId: string): Set<string> {
  const dependants = new Map<string, string[]>();
  for (const [id, step] of wf.steps) {
    for (const dep of step.needs) dependants.set(dep, [...(dependants.get(dep) ?? []), id]);
  }
  const seen = new Set<string>([stepId]);
  const queue = [stepId];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const dependant of dependants.get(next) ?? []) {
      if (seen.has(dependant)) continue;
      seen.add(dependant);
      queue.push(dependant);
    }
  }
  return seen;
}

/** Throws `code` (with a "did you mean" hint) unless `stepId` is a step of the workflow. */
export function assertWorkflowStep(wf: CompiledWorkflow, stepId: string, code: 'invalid_request' | 'not_found'): void {
  if (wf.steps.has(stepId)) return;
  throw new AgentryError(code, `workflow '${wf.name}' has no step '${stepId}'${didYouMean(stepId, wf.steps.keys())}`, {
    details: { step: stepId, steps: [...wf.steps.keys()] },
  });
}

/** `fetch[3]` → `fetch`: the map step a `for_each` item belongs to (the id itself otherwise). */
function baseStepId(stepId: string): string {
  return /^(.+)\[\d+\]$/.exec(stepId)?.[1] ?? stepId;
}

/**
 * Every attempt of `stepId` in `run` and in the runs it re-ran (following `retry_of` back),
 * oldest run first and by attempt number within a run. A step that a re-run reused has no
 * attempt of its own there: its attempts are those of the earlier run it was taken from.
 * Item ids of a `for_each` step (`fetch[3]`) are accepted too.
 *
 * The step is checked against the run's step rows, not its compiled spec, so that reading
 * history needs no executor for the workflow's step kinds. Throws `not_found` for a step the
 * run does not have.
 */
export async function attemptHistory(store: Pick<Store, 'getRun' | 'getSteps' | 'listAttempts'>, run: RunRecord, stepId: string): Promise<StepAttempt[]> {
  const steps = await store.getSteps(run.id);
  const base = baseStepId(stepId);
  if (!steps.some((s) => s.stepId === base)) {
    const ids = steps.map((s) => s.stepId);
    throw new AgentryError('not_found', `run ${run.id} (workflow '${run.workflow}') has no step '${stepId}'${didYouMean(stepId, ids)}`, {
      details: { step: stepId, steps: ids },
    });
  }
  const chain = await retryChain(store, run);
  const perRun = await Promise.all(chain.map((r) => store.listAttempts(r.id, stepId)));
  return perRun.flatMap((attempts) => [...attempts].sort((a, b) => a.attempt - b.attempt));
}

/** `run` and the runs it re-ran, oldest first; stops at a run that no longer exists. */
async function retryChain(store: Pick<Store, 'getRun'>, run: RunRecord): Promise<RunRecord[]> {
  const chain = [run];
  const seen = new Set([run.id]);
  for (let previous = run.retryOf; previous !== null && chain.length < MAX_CHAIN && !seen.has(previous);) {
    const earlier = await store.getRun(previous);
    if (!earlier) break;
    chain.push(earlier);
    seen.add(earlier.id);
    previous = earlier.retryOf;
  }
  return chain.reverse();
}

/**
 * One difference between two JSON values at `path` (a JSON Pointer, RFC 6901: `/a/b/0`, `''`
 * for the whole value). `before` is absent for an added member, `after` for a removed one.
 */
export interface ValueChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

/**
 * A small structural diff of two JSON values: objects member by member (keys in sorted order,
 * so the result is stable), arrays index by index, anything else compared as a whole. A
 * member that is `undefined` counts as absent, as in JSON.
 */
export function diffValues(before: unknown, after: unknown): ValueChange[] {
  const changes: ValueChange[] = [];
  walk(before, after, '', changes);
  return changes;
}

function walk(before: unknown, after: unknown, path: string, changes: ValueChange[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) {
    changes.push({ path, after });
    return;
  }
  if (after === undefined) {
    changes.push({ path, before });
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) walk(before[i], after[i], `${path}/${i}`, changes);
    return;
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(before[key], after[key], `${path}/${escapePointer(key)}`, changes);
    return;
  }
  if (!sameScalar(before, after)) changes.push({ path, before, after });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Equal leaves; an object against an array (or a scalar) is a change of the whole value. */
function sameScalar(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null) return false;
  if (typeof b === 'object' && b !== null) return false;
  return Object.is(a, b) || a === b;
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
