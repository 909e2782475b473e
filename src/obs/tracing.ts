/**
 * OpenTelemetry tracing of this process. `startTracing` (the CLI, for every role, before the
 * app opens) decides from the standard `OTEL_*` variables (`tracing-env.ts`) and, only when an
 * exporter is configured, loads and starts the Node SDK (`tracing-sdk.ts`, a dynamic import).
 * Off, nothing but `@opentelemetry/api` is loaded and every helper here is a no-op after one
 * `isTracingOn()` check: the API's tracer hands out non-recording spans, and callers skip
 * building attributes altogether.
 *
 * Spans are made where the work happens, named `agentry.<area>.<operation>` for the platform's
 * own (run, step attempt, queue dispatch, worker lease, continuation lock) and by the GenAI
 * semantic conventions for model and tool calls. See docs/operations/tracing.md.
 */
import { context, isSpanContextValid, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from '../lib/redact.js';
import { VERSION } from '../lib/version.js';
import type { SpanIds } from './span-ids.js';
import { tracingPlan } from './tracing-env.js';

/** What telemetry may carry besides timings and ids (all off by default). */
export interface TelemetrySettings {
  /** `AGENTRY_OTEL_RECORD_ARGUMENTS`: tool spans carry the call's arguments (redacted, truncated). */
  recordArguments: boolean;
  /** `AGENTRY_OTEL_RECORD_RESULTS`: tool spans carry the call's result (redacted, truncated). */
  recordResults: boolean;
  /** `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: LLM spans carry prompts and completions (redacted, truncated). */
  captureMessageContent: boolean;
  /** Masks every secret the process knows in what the settings above let through. */
  redactor: Redactor | undefined;
}

export interface StartTracingOptions {
  /** The role of this process (`agentry.role` on every span): `serve`, `api`, `worker`, `scheduler`, `gateway`, `run`. */
  role: string;
  logger: Logger;
  /** Where the `OTEL_*` variables are read (the SDK reads `process.env` itself). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  recordArguments?: boolean;
  recordResults?: boolean;
  /** Tests: export to this exporter (synchronously, span by span) instead of what `OTEL_*` configures. */
  exporter?: SpanExporter;
}

interface Active {
  tracer: Tracer;
  ids: SpanIds;
  settings: TelemetrySettings;
  shutdown: () => Promise<void>;
}

let active: Active | undefined;

/** True when this process exports spans; everything else here is a no-op otherwise. */
export function isTracingOn(): boolean {
  return active !== undefined;
}

/**
 * Starts tracing when the `OTEL_*` variables configure an exporter (or `exporter` is given);
 * logs why not when they ask for tracing but cannot have it. Returns whether it is on.
 */
export async function startTracing(options: StartTracingOptions): Promise<boolean> {
  if (active) return true;
  const env = options.env ?? process.env;
  const plan = options.exporter ? { on: true, destination: 'a test exporter', warnings: [] } : tracingPlan(env);
  for (const warning of plan.warnings) options.logger.warn({ component: 'tracing' }, warning);
  if (!plan.on) return false;
  const { startSdk } = await import('./tracing-sdk.js');
  const started = startSdk({ role: options.role, logger: options.logger, version: VERSION, ...(options.exporter ? { exporter: options.exporter } : {}) });
  active = {
    tracer: trace.getTracer('agentry', VERSION),
    ids: started.ids,
    settings: {
      recordArguments: options.recordArguments === true,
      recordResults: options.recordResults === true,
      captureMessageContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true',
      redactor: options.redactor,
    },
    shutdown: started.shutdown,
  };
  options.logger.info({ component: 'tracing', exporter: plan.destination, role: options.role }, `tracing on: spans go to ${plan.destination}`);
  return true;
}

/** Exports what is buffered and stops tracing (a process stopping). Safe to call when off, and twice. */
export async function stopTracing(): Promise<void> {
  const stopping = active;
  active = undefined;
  await stopping?.shutdown();
}

/** The tracer of Agentry's spans (the API's no-op tracer while tracing is off). */
export function tracer(): Tracer {
  return active?.tracer ?? trace.getTracer('agentry');
}

/** What spans may carry (everything off while tracing is off). */
export function telemetrySettings(): TelemetrySettings {
  return active?.settings ?? { recordArguments: false, recordResults: false, captureMessageContent: false, redactor: undefined };
}

/** Starts a span with the given ids (see `SpanIds.withIds`); a plain span while tracing is off. */
export function startSpanWithIds(ids: { traceId: string; spanId: string }, start: () => Span): Span {
  return active ? active.ids.withIds(ids, start) : start();
}

/** Runs `fn` with `span` as the active span (log lines, child spans, `traceparent` downstream). */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  return span === undefined ? fn() : context.with(trace.setSpan(context.active(), span), fn);
}

/** Runs `fn` in `ctx` (a request's or a run's context). */
export function withContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx === undefined ? fn() : context.with(ctx, fn);
}

/** `traceparent` (and `tracestate`) of the active span added to `headers`, for a call downstream. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (active) propagation.inject(context.active(), headers);
  return headers;
}

const NO_FIELDS = Object.freeze({});

/**
 * `trace_id` and `span_id` of the active span, for the logger's mixin: every line written
 * inside a span carries them. The same frozen empty object when there is none (the logger
 * then adds nothing).
 */
export function traceLogFields(): Readonly<Record<string, string>> {
  if (!active) return NO_FIELDS;
  const span = trace.getSpan(context.active());
  if (span === undefined) return NO_FIELDS;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : NO_FIELDS;
}

/** True for `traceLogFields()`'s answer when it has nothing to add. */
export function isNoFields(fields: object): boolean {
  return fields === NO_FIELDS;
}

/** Text for a span attribute: redacted by the process redactor, cut to `max` characters. */
export function attributeText(value: unknown, max = 4096): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const clean = active?.settings.redactor?.text(text) ?? text;
  return clean.length > max ? `${clean.slice(0, max)}…[truncated ${clean.length - max} characters]` : clean;
}
