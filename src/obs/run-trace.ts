/**
 * One trace per run, across processes and restarts. When a run is created (in the API process,
 * inside the request's span; in a scheduler, as a new trace; by a `workflow` step, in its
 * parent's trace) its span's ids are chosen and stored with the run (`runs.trace_context`):
 *
 *   {"traceparent":"00-<trace id>-<run span id>-<flags>","parent":"<parent span id>","tracestate":"…"}
 *
 * Every step attempt, on whichever worker, is a child of that span (`runContext`); whichever
 * process ends the run exports the `agentry.run` span itself (`endRunSpan`), from the run's
 * creation to its end, with the stored ids. A run stored without one (created while tracing
 * was off) gets one when a worker that traces starts it.
 */
import { context, createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';
import type { RunRecord } from '../types.js';
import { isTracingOn, startSpanWithIds, tracer } from './tracing.js';

export const RUN_SPAN = 'agentry.run';

/** The attributes Agentry's spans share (also used by the engine's spans). */
export const ATTR = {
  runId: 'agentry.run.id',
  workflow: 'agentry.workflow',
  tenant: 'agentry.tenant',
  runStatus: 'agentry.run.status',
  parentRunId: 'agentry.run.parent_id',
  errorType: 'error.type',
} as const;

interface StoredContext {
  traceparent: string;
  tracestate?: string;
  /** The span the run span is a child of (the request that created it), if any. */
  parent?: string;
}

interface Parsed {
  traceId: string;
  spanId: string;
  flags: number;
  tracestate: string | undefined;
  parent: string | undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function parse(stored: string | null | undefined): Parsed | undefined {
  if (stored === null || stored === undefined) return undefined;
  let value: Partial<StoredContext>;
  try {
    value = JSON.parse(stored) as Partial<StoredContext>;
  } catch {
    return undefined;
  }
  const match = typeof value.traceparent === 'string' ? TRACEPARENT.exec(value.traceparent) : null;
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return {
    traceId: match[1]!,
    spanId: match[2]!,
    flags: parseInt(match[3]!, 16),
    tracestate: typeof value.tracestate === 'string' && value.tracestate !== '' ? value.tracestate : undefined,
    parent: typeof value.parent === 'string' && SPAN_ID.test(value.parent) ? value.parent : undefined,
  };
}

/** The trace id of a stored trace context (`GET /v1/runs/{id}`'s `trace_id`); null without one. */
export function traceIdOf(stored: string | null | undefined): string | null {
  return parse(stored)?.traceId ?? null;
}

function remote(traceId: string, spanId: string, flags: number, tracestate: string | undefined): SpanContext {
  // The span of another process, or of this one not yet exported: to the SDK, a remote parent.
  return { traceId, spanId, traceFlags: flags, isRemote: true, ...(tracestate === undefined ? {} : { traceState: createTraceState(tracestate) }) };
}

/**
 * The trace context of a new run, or null while tracing is off. `parent`: the active span
 * (a request's; default), the run span of a parent run (`workflow` steps continue their
 * parent's trace), or `root` (a schedule's tick starts a trace of its own).
 */
export function newRunTraceContext(parent: 'active' | 'root' | { traceContext: string | null } = 'active'): string | null {
  if (!isTracingOn()) return null;
  let ctx: Context;
  if (parent === 'root') ctx = ROOT_CONTEXT;
  else if (parent === 'active') ctx = context.active();
  else ctx = runContext(parent.traceContext) ?? ROOT_CONTEXT;
  // A span started and never ended: the SDK picks its ids and its sampling decision (which
  // the run span repeats when it is exported, being started with the same parent and trace id).
  const probe = tracer().startSpan(RUN_SPAN, { kind: SpanKind.INTERNAL }, ctx);
  const sc = probe.spanContext();
  const parentSpan = trace.getSpanContext(ctx);
  const stored: StoredContext = { traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0')}` };
  const tracestate = sc.traceState?.serialize();
  if (tracestate) stored.tracestate = tracestate;
  if (parentSpan !== undefined && trace.isSpanContextValid(parentSpan)) stored.parent = parentSpan.spanId;
  return JSON.stringify(stored);
}

/** A context whose active span is the run's span (the parent of its step attempts); undefined without a stored context. */
export function runContext(stored: string | null | undefined): Context | undefined {
  const p = parse(stored);
  if (!p) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, remote(p.traceId, p.spanId, p.flags, p.tracestate));
}

const ERROR_STATUSES = new Set(['failed', 'timed_out']);

/**
 * Exports the `agentry.run` span of a run that has ended: started at the run's creation, ended
 * at its end, with the ids stored with the run and the request that created it as its parent.
 */
export function endRunSpan(run: RunRecord): void {
  if (!isTracingOn()) return;
  const p = parse(run.traceContext);
  if (!p) return;
  const parent = p.parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote(p.traceId, p.parent, p.flags, p.tracestate));
  const attributes: Record<string, string> = {
    [ATTR.runId]: run.id,
    [ATTR.workflow]: run.workflow,
    [ATTR.tenant]: run.tenantId,
    [ATTR.runStatus]: run.status,
  };
  if (run.parentRunId !== null) attributes[ATTR.parentRunId] = run.parentRunId;
  if (run.error) attributes[ATTR.errorType] = run.error.code;
  const span = startSpanWithIds({ traceId: p.traceId, spanId: p.spanId }, () =>
    tracer().startSpan(RUN_SPAN, { kind: SpanKind.INTERNAL, startTime: run.createdAt, attributes }, parent),
  );
  if (ERROR_STATUSES.has(run.status)) span.setStatus({ code: SpanStatusCode.ERROR, ...(run.error ? { message: run.error.message } : {}) });
  span.end(run.finishedAt ?? Date.now());
}
