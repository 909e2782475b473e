/**
 * The gateway's answer (OpenAI's format) as a Messages API `message`: content blocks (text, then
 * one `tool_use` per tool call), `stop_reason` from the finish reason, and usage with cached
 * input apart (`cache_read_input_tokens`), as Anthropic counts it. An Anthropic target's own
 * message (`native`) is returned as it came.
 */
import type { ChatResponse, FinishReason, Usage } from '../types.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

export interface MessagesUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
}

export type MessageBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface MessagesMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: MessageBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: MessagesUsage;
}

export function stopReasonOf(finish: FinishReason | null | undefined): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Cached prompt tokens, where the provider reports them (OpenAI's `prompt_tokens_details.cached_tokens`). */
function cachedTokens(usage: Usage): number {
  const details = (usage as { prompt_tokens_details?: { cached_tokens?: unknown } | null }).prompt_tokens_details;
  const cached = details?.cached_tokens;
  return typeof cached === 'number' && cached > 0 ? Math.min(cached, usage.prompt_tokens) : 0;
}

/** OpenAI's usage as Anthropic's: `input_tokens` excludes the cached part, which is `cache_read_input_tokens`. */
export function usageOf(usage: Usage): MessagesUsage {
  const cached = cachedTokens(usage);
  return {
    input_tokens: usage.prompt_tokens - cached,
    output_tokens: usage.completion_tokens,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: cached > 0 ? cached : null,
  };
}

/** A tool call's arguments as the `input` object Anthropic's clients expect (unparseable text kept under `_raw`). */
export function inputOf(args: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(args);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { _raw: args };
  } catch {
    return { _raw: args };
  }
}

/** A Messages API id for a translated answer (Anthropic's start with `msg_`). */
export function messageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id.replace(/^chatcmpl-/, '')}`;
}

export function toMessagesMessage(response: ChatResponse): MessagesMessage {
  if (response.native?.['type'] === 'message') return response.native as unknown as MessagesMessage;
  const choice = response.choices[0];
  const content: MessageBlock[] = [];
  const text = choice?.message.content;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: inputOf(call.function.arguments) });
  }
  return {
    id: messageId(response.id),
    type: 'message',
    role: 'assistant',
    model: response.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: usageOf(response.usage),
  };
}
