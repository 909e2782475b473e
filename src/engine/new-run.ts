/** The records of a new run and its steps, before they are stored. */
import { AgentryError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { evaluateExpression } from '../spec/index.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { NewRun, NewStep } from '../store/store.js';
import type { RunOverrides, StepRecord } from '../types.js';

/** A new run's record (not yet stored); `concurrency.key` is evaluated over the input here. */
export function newRunRecord(
  wf: CompiledWorkflow,
  input: unknown,
  now: number,
  links: {
    tenantId: string;
    priority: number;
    createdBy: string | null;
    retryOf?: string | null;
    parentRunId?: string;
    parentStepId?: string;
    /** The run span's trace context (`obs/run-trace.ts` `newRunTraceContext`); null while tracing is off. */
    traceContext?: string | null;
    /** The run's own deadline (epoch ms), instead of the workflow's. */
    deadlineAt?: number;
    metadata?: Record<string, string> | null;
    overrides?: RunOverrides | null;
    adhoc?: boolean;
  },
): NewRun {
  return {
    id: newId('run', now),
    tenantId: links.tenantId,
    workflow: wf.name,
    specHash: wf.hash,
    spec: wf.spec,
    status: 'queued',
    input: input ?? null,
    output: null,
    error: null,
    priority: links.priority,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    deadlineAt: links.deadlineAt ?? (wf.deadlineMs === undefined ? null : now + wf.deadlineMs),
    parentRunId: links.parentRunId ?? null,
    parentStepId: links.parentStepId ?? null,
    retryOf: links.retryOf ?? null,
    concurrencyKey: concurrencyKeyOf(wf, input),
    createdBy: links.createdBy,
    traceContext: links.traceContext ?? null,
    metadata: links.metadata ?? null,
    overrides: links.overrides ?? null,
    adhoc: links.adhoc ?? false,
  };
}

/** `<workflow>:<value of concurrency.key>`, or null when the workflow has no `concurrency:`. */
function concurrencyKeyOf(wf: CompiledWorkflow, input: unknown): string | null {
  if (!wf.concurrency) return null;
  let value: unknown;
  try {
    value = evaluateExpression(wf.concurrency.key, { input: input ?? null, steps: {}, run: { id: '', workflow: wf.name }, env: {} });
  } catch (error) {
    throw new AgentryError('input_invalid', `concurrency.key '${wf.concurrency.key}' failed on this input: ${(error as Error).message}`);
  }
  return `${wf.name}:${typeof value === 'string' ? value : JSON.stringify(value ?? null)}`;
}

/** The steps of a new run: all `pending`, except those taken over from an earlier run. */
export function newSteps(wf: CompiledWorkflow, runId: string, reuse?: ReadonlyMap<string, StepRecord>): NewStep[] {
  return wf.order.map((stepId) => {
    const kind = wf.steps.get(stepId)!.kind;
    const old = reuse?.get(stepId);
    if (!old) return { runId, stepId, kind, status: 'pending' as const };
    return {
      runId,
      stepId,
      kind,
      status: old.status === 'skipped' ? ('skipped' as const) : ('succeeded' as const),
      output: old.output,
      meta: old.meta,
      startedAt: old.startedAt,
      finishedAt: old.finishedAt,
    };
  });
}
