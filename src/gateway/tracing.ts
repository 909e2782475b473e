/**
 * The span of one LLM call attempt (one request to one target), by the OpenTelemetry GenAI
 * semantic conventions: `chat <model>`, kind CLIENT, `gen_ai.*` request and response
 * attributes and token usage, plus the model group and cost. Prompts and completions only with
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, redacted and truncated.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { attributeText, isTracingOn, telemetrySettings, tracer } from '../obs/tracing.js';
import type { ResolvedGroup, ResolvedTarget } from './config.js';
import type { ChatMessage, ChatRequest, ChatResponse, FinishReason, Usage } from './types.js';

/** What a finished attempt tells its span. */
export interface LlmOutcome {
  outcome: string;
  usage: Usage;
  costUsd: number;
  callId: string;
  errorCode: string | undefined;
}

/** What the provider answered (a whole response, or what a stream delivered). */
export interface LlmResponse {
  id?: string | undefined;
  model?: string | undefined;
  finishReasons: FinishReason[];
  /** The assistant's message, for content capture only. */
  message?: ChatResponse['choices'][number]['message'] | { role: 'assistant'; content: string };
}

export class LlmSpan {
  private constructor(private readonly span: Span) {}

  /** The span of an attempt about to be sent; undefined while tracing is off. */
  static start(group: ResolvedGroup, target: ResolvedTarget, providerType: string, request: ChatRequest): LlmSpan | undefined {
    if (!isTracingOn()) return undefined;
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': providerType,
      'gen_ai.system': providerType,
      'gen_ai.request.model': target.model,
      'agentry.model_group': group.name,
      'agentry.llm.provider': target.provider,
    };
    const maxTokens = request.max_completion_tokens ?? request.max_tokens;
    if (maxTokens !== undefined) attributes['gen_ai.request.max_tokens'] = maxTokens;
    if (request.temperature !== undefined) attributes['gen_ai.request.temperature'] = request.temperature;
    if (request.top_p !== undefined) attributes['gen_ai.request.top_p'] = request.top_p;
    if (request.seed !== undefined) attributes['gen_ai.request.seed'] = request.seed;
    if (telemetrySettings().captureMessageContent) attributes['gen_ai.input.messages'] = attributeText(inputMessages(request.messages), 16_384);
    return new LlmSpan(tracer().startSpan(`chat ${target.model}`, { kind: SpanKind.CLIENT, attributes }));
  }

  response(response: LlmResponse): void {
    const attributes: Attributes = { 'gen_ai.response.finish_reasons': response.finishReasons };
    if (response.id !== undefined) attributes['gen_ai.response.id'] = response.id;
    if (response.model !== undefined) attributes['gen_ai.response.model'] = response.model;
    if (response.message !== undefined && telemetrySettings().captureMessageContent) {
      attributes['gen_ai.output.messages'] = attributeText([response.message], 16_384);
    }
    this.span.setAttributes(attributes);
  }

  end(outcome: LlmOutcome): void {
    this.span.setAttributes({
      'gen_ai.usage.input_tokens': outcome.usage.prompt_tokens,
      'gen_ai.usage.output_tokens': outcome.usage.completion_tokens,
      'agentry.llm.cost_usd': outcome.costUsd,
      'agentry.llm.call_id': outcome.callId,
      'agentry.llm.outcome': outcome.outcome,
    });
    if (outcome.errorCode !== undefined) {
      this.span.setAttribute('error.type', outcome.errorCode);
      if (outcome.errorCode !== 'cancelled') this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.end();
  }
}

/** The request's messages as the conventions list them (role and content; tool calls and results by id). */
function inputMessages(messages: readonly ChatMessage[]): unknown[] {
  return messages.map((m) => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    if (m.role === 'assistant') return { role: 'assistant', content: m.content, ...(m.tool_calls ? { tool_calls: m.tool_calls } : {}) };
    return { role: m.role, content: m.content };
  });
}
