/**
 * The engine's spans (docs/operations/tracing.md): a worker's claims (`agentry.worker.lease`,
 * and `agentry.queue.dispatch` for one that got a step), each step attempt
 * (`agentry.step.attempt`, the parent of its model, tool and HTTP calls), and the resume lock
 * of a human task (`agentry.continuation.lock`). All in the run's trace when the run is known.
 * Every function returns at once, making nothing, while tracing is off.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { AgentryError } from '../lib/errors.js';
import { ATTR, runContext } from '../obs/run-trace.js';
import { isTracingOn, tracer } from '../obs/tracing.js';
import type { StepResult } from '../runtime/types.js';
import type { AttemptKey, RunRecord } from '../types.js';

export const ENGINE_SPANS = {
  attempt: 'agentry.step.attempt',
  dispatch: 'agentry.queue.dispatch',
  lease: 'agentry.worker.lease',
  lock: 'agentry.continuation.lock',
} as const;

const A = {
  ...ATTR,
  stepId: 'agentry.step.id',
  stepKind: 'agentry.step.kind',
  attempt: 'agentry.step.attempt',
  stepOutcome: 'agentry.step.outcome',
  workerId: 'agentry.worker.id',
  leaseSeconds: 'agentry.worker.lease_seconds',
  claimed: 'agentry.worker.claimed',
  continuationId: 'agentry.continuation.id',
  lockName: 'agentry.lock.name',
  lockTtl: 'agentry.lock.ttl_seconds',
  lockAcquired: 'agentry.lock.acquired',
  lockOutcome: 'agentry.lock.outcome',
} as const;

export interface ClaimTrace {
  workerId: string;
  leaseTtlMs: number;
  /** When the claim began (epoch ms). */
  startTime: number;
  /** The due step it tried (none: an idle poll found nothing due). */
  step?: { runId: string; stepId: string };
  /** The run as the claim's transaction saw it (none: it did not get that far). */
  run?: RunRecord;
  /** Whether the worker got the step (to execute, or carried out by the engine). */
  claimed: boolean;
}

/**
 * One claim attempt: `agentry.worker.lease` (in the run's trace when the run was read), and
 * for a successful claim `agentry.queue.dispatch` inside it: the queue handing the step to
 * this worker. An idle poll is a lease span with `claimed=false` and no run.
 */
export function traceClaim(claim: ClaimTrace): void {
  if (!isTracingOn()) return;
  const parent = runContext(claim.run?.traceContext) ?? ROOT_CONTEXT;
  const attributes: Attributes = { [A.workerId]: claim.workerId, [A.leaseSeconds]: claim.leaseTtlMs / 1000, [A.claimed]: claim.claimed };
  if (claim.step) {
    attributes[A.runId] = claim.step.runId;
    attributes[A.stepId] = claim.step.stepId;
  }
  const end = Date.now();
  const lease = tracer().startSpan(ENGINE_SPANS.lease, { kind: SpanKind.INTERNAL, startTime: claim.startTime, attributes }, parent);
  if (claim.claimed && claim.step) {
    const dispatch = tracer().startSpan(
      ENGINE_SPANS.dispatch,
      { kind: SpanKind.INTERNAL, startTime: claim.startTime, attributes: { [A.runId]: claim.step.runId, [A.stepId]: claim.step.stepId } },
      trace.setSpan(parent, lease),
    );
    dispatch.end(end);
  }
  lease.end(end);
}

/** What an attempt's span is made of (a worker's `Claim`). */
export interface AttemptTrace {
  key: AttemptKey;
  kind: string;
  workflow: string;
  tenantId: string;
  /** The run's stored trace context (`RunRecord.traceContext`). */
  traceContext: string | null;
  /** Set when a parked step runs again (a sleep that ended, a decided review). */
  state: unknown;
}

/** The span of one step attempt on this worker, a child of the run's span; undefined while tracing is off. */
export function startAttemptSpan(attempt: AttemptTrace): Span | undefined {
  if (!isTracingOn()) return undefined;
  const { key } = attempt;
  const attributes: Attributes = {
    [A.runId]: key.runId,
    [A.stepId]: key.stepId,
    [A.stepKind]: attempt.kind,
    [A.attempt]: key.attempt,
    [A.workflow]: attempt.workflow,
    [A.tenant]: attempt.tenantId,
  };
  if (attempt.state !== undefined) attributes['agentry.step.resumed'] = true;
  return tracer().startSpan(ENGINE_SPANS.attempt, { kind: SpanKind.INTERNAL, attributes }, runContext(attempt.traceContext) ?? ROOT_CONTEXT);
}

/** What became of an attempt: an output or a suspension, a failure, or an abort (with its reason's code). */
export interface AttemptOutcome {
  result?: StepResult | undefined;
  failure?: AgentryError | undefined;
  aborted?: string;
}

/** Ends an attempt's span with what became of the attempt. */
export function endAttemptSpan(span: Span, outcome: AttemptOutcome): void {
  if (outcome.aborted !== undefined) {
    span.setAttributes({ [A.stepOutcome]: 'aborted', [A.errorType]: outcome.aborted });
  } else if (outcome.failure) {
    span.setAttributes({ [A.stepOutcome]: 'failed', [A.errorType]: outcome.failure.code });
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure.message });
  } else if (outcome.result) {
    span.setAttribute(A.stepOutcome, outcome.result.kind === 'suspend' ? 'suspended' : 'succeeded');
  }
  span.end();
}

/**
 * The span of a human task's resume lock (`agentry.continuation.lock`), from asking for it to
 * releasing it; `acquired(outcome)` records whether it was taken. Undefined while tracing is off.
 */
export function startLockSpan(taskId: string, ttlMs: number): { acquired: (outcome: string) => void; end: () => void } | undefined {
  if (!isTracingOn()) return undefined;
  const span = tracer().startSpan(ENGINE_SPANS.lock, {
    kind: SpanKind.INTERNAL,
    attributes: { [A.continuationId]: taskId, [A.lockName]: `task:${taskId}`, [A.lockTtl]: ttlMs / 1000 },
  });
  return {
    acquired: (outcome) => span.setAttributes({ [A.lockAcquired]: outcome === 'acquired', [A.lockOutcome]: outcome }),
    end: () => span.end(),
  };
}
