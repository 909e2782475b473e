/**
 * The span of one MCP tool call (OpenTelemetry GenAI conventions: `execute_tool <tool>`),
 * active while the call runs, so an HTTP tool server gets its `traceparent`. The call's
 * arguments and result are left out unless `AGENTRY_OTEL_RECORD_ARGUMENTS` /
 * `AGENTRY_OTEL_RECORD_RESULTS` say otherwise; then they are redacted and truncated.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { toAgentryError } from '../lib/errors.js';
import { attributeText, isTracingOn, telemetrySettings, tracer } from '../obs/tracing.js';
import type { ToolCallResult } from './result.js';

/** How much of a tool's arguments or result a span keeps. */
const MAX_CHARS = 4096;

/** Runs one tool call inside its span (just the call while tracing is off). */
export async function traceToolCall(server: string, tool: string, args: Record<string, unknown>, call: () => Promise<ToolCallResult>): Promise<ToolCallResult> {
  if (!isTracingOn()) return call();
  const settings = telemetrySettings();
  const span = tracer().startSpan(`execute_tool ${tool}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.tool.type': 'extension',
      'agentry.tool.server': server,
      ...(settings.recordArguments ? { 'agentry.tool.arguments': attributeText(args, MAX_CHARS) } : {}),
    },
  });
  try {
    const result = await context.with(trace.setSpan(context.active(), span), call);
    span.setAttribute('agentry.tool.outcome', 'ok');
    if (settings.recordResults) span.setAttribute('agentry.tool.result', attributeText(result.structuredContent ?? result.content, MAX_CHARS));
    return result;
  } catch (error) {
    const code = toAgentryError(error).code;
    span.setAttributes({ 'agentry.tool.outcome': code, 'error.type': code });
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
