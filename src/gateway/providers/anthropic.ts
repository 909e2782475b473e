/**
 * `anthropic`: Anthropic's Messages API through the official SDK, translated to and from the
 * canonical (OpenAI) format:
 * - system messages → `system`; `tool` messages → `tool_result` blocks in a user turn;
 *   assistant `tool_calls` → `tool_use` blocks; consecutive turns of one role are merged.
 * - tools → `{ name, description, input_schema }`; `tool_choice` required → `any`.
 * - `tool_use` blocks → `tool_calls`; stop reasons → finish reasons;
 *   usage input (+ cache) / output tokens → prompt / completion tokens.
 * - stream events → `chat.completion.chunk`s, ending with a usage chunk.
 */
import Anthropic from '@anthropic-ai/sdk';
import { anthropicBodyOf, withNativeEvents } from '../anthropic-messages/native.js';
import type { ResolvedProvider } from '../config.js';
import type { ChatChunk, ChatRequest, ChatResponse, ContentPart, FinishReason, Provider, ProviderCallOptions, ToolCall, Usage } from '../types.js';

/** Anthropic's wire format, as much as the gateway writes and reads. */
type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string }
  | { type: string; [key: string]: unknown };
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}
interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}
interface WireMessage {
  id: string;
  model: string;
  content: Block[];
  stop_reason: string | null;
  usage: WireUsage;
}
type WireEvent =
  | { type: 'message_start'; message: WireMessage }
  | { type: 'content_block_start'; index: number; content_block: Block }
  | { type: 'content_block_delta'; index: number; delta: { type: string; text?: string; partial_json?: string } }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason?: string | null }; usage?: WireUsage | null }
  | { type: 'message_stop' }
  | { type: string };

export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export function createAnthropicProvider(config: ResolvedProvider): Provider {
  const client = new Anthropic({
    apiKey: config.apiKey ?? null,
    baseURL: config.baseUrl ?? null,
    maxRetries: 0,
    logLevel: 'off',
    openTelemetry: false,
    ...(config.timeoutMs === undefined ? {} : { timeout: config.timeoutMs }),
  });
  return {
    name: config.name,
    type: config.type,
    async chat(model: string, request: ChatRequest, options: ProviderCallOptions): Promise<ChatResponse> {
      // A Messages API caller's own body goes as it came, and gets Anthropic's own answer back (anthropic-messages/native.ts).
      const native = anthropicBodyOf(request);
      const body = { ...(native ?? toAnthropicBody(request)), model, stream: false } as unknown as Anthropic.MessageCreateParamsNonStreaming;
      const res = await client.messages.create(body, { signal: options.signal, timeout: options.timeoutMs });
      const response = fromAnthropicMessage(res as unknown as WireMessage);
      return native === undefined ? response : { ...response, native: res as unknown as Record<string, unknown> };
    },
    async *stream(model: string, request: ChatRequest, options: ProviderCallOptions): AsyncIterable<ChatChunk> {
      const native = anthropicBodyOf(request);
      const body = { ...(native ?? toAnthropicBody(request)), model, stream: true } as unknown as Anthropic.MessageCreateParamsStreaming;
      const events = await client.messages.create(body, { signal: options.signal, timeout: options.timeoutMs });
      const translate = streamTranslator();
      if (native !== undefined) yield* withNativeEvents(events, translate);
      else for await (const event of events) yield* translate(event);
    },
  };
}

function text(content: string | ContentPart[] | null): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

function blocks(content: string | ContentPart[] | null): Block[] {
  if (content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((part): Block => (part.type === 'text' ? { type: 'text', text: String(part['text']) } : { ...part }));
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args === '' ? '{}' : args) as unknown;
  } catch {
    return { _raw: args };
  }
}

export function toAnthropicBody(request: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], content: Block[]): void => {
    if (content.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
        system.push(text(message.content));
        break;
      case 'user':
        push('user', blocks(message.content));
        break;
      case 'assistant':
        push('assistant', [
          ...blocks(message.content),
          ...(message.tool_calls ?? []).map((call): Block => ({
            type: 'tool_use',
            id: call.id,
            name: call.function.name,
            input: parseArguments(call.function.arguments),
          })),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: text(message.content) }]);
        break;
    }
  }
  const body: Record<string, unknown> = {
    messages: turns,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
  };
  if (system.length > 0) body['system'] = system.join('\n\n');
  if (request.tools !== undefined && request.tools.length > 0) {
    body['tools'] = request.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
      input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  const choice = toolChoice(request);
  if (choice !== undefined) body['tool_choice'] = choice;
  if (request.temperature !== undefined) body['temperature'] = request.temperature;
  if (request.top_p !== undefined) body['top_p'] = request.top_p;
  if (request.stop !== undefined) body['stop_sequences'] = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (request.user !== undefined) body['metadata'] = { user_id: request.user };
  return body;
}

function toolChoice(request: ChatRequest): Record<string, unknown> | undefined {
  if (request.tools === undefined || request.tools.length === 0) return undefined;
  const noParallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  const choice = request.tool_choice;
  if (choice === undefined) return request.parallel_tool_calls === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  return { type: 'tool', name: choice.function.name, ...noParallel };
}

export function stopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

function inputTokens(usage: WireUsage | null | undefined): number {
  return (usage?.input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0) + (usage?.cache_read_input_tokens ?? 0);
}

/** Usage in OpenAI's terms; input read from the prompt cache is `prompt_tokens_details.cached_tokens`. */
function usage(prompt: number, completion: number, cached = 0): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

export function fromAnthropicMessage(message: WireMessage): ChatResponse {
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text') texts.push((block as { text: string }).text);
    if (block.type === 'tool_use') {
      const use = block as { id: string; name: string; input: unknown };
      toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    }
  }
  return {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: stopReason(message.stop_reason),
      },
    ],
    usage: usage(inputTokens(message.usage), message.usage.output_tokens ?? 0, message.usage.cache_read_input_tokens ?? 0),
  };
}

/** A stateful translator of one stream's events into chunks. */
export function streamTranslator(): (event: WireEvent) => ChatChunk[] {
  let id = 'msg-unknown';
  let model = '';
  const created = Math.floor(Date.now() / 1000);
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  let finish: FinishReason = 'stop';
  /** Anthropic block index → tool call index. */
  const toolIndex = new Map<number, number>();
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finishReason: FinishReason | null = null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
  return (event) => {
    switch (event.type) {
      case 'message_start': {
        const { message } = event as Extract<WireEvent, { type: 'message_start' }>;
        id = message.id;
        model = message.model;
        prompt = inputTokens(message.usage);
        cached = message.usage.cache_read_input_tokens ?? 0;
        completion = message.usage.output_tokens ?? 0;
        return [chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const { index, content_block: block } = event as Extract<WireEvent, { type: 'content_block_start' }>;
        if (block.type === 'tool_use') {
          const use = block as { id: string; name: string };
          const n = toolIndex.size;
          toolIndex.set(index, n);
          return [chunk({ tool_calls: [{ index: n, id: use.id, type: 'function', function: { name: use.name, arguments: '' } }] })];
        }
        if (block.type === 'text' && typeof (block as { text?: unknown }).text === 'string' && (block as { text: string }).text !== '') {
          return [chunk({ content: (block as { text: string }).text })];
        }
        return [];
      }
      case 'content_block_delta': {
        const { index, delta } = event as Extract<WireEvent, { type: 'content_block_delta' }>;
        if (delta.type === 'text_delta' && delta.text !== undefined) return [chunk({ content: delta.text })];
        const n = toolIndex.get(index);
        if (delta.type === 'input_json_delta' && n !== undefined && delta.partial_json !== undefined) {
          return [chunk({ tool_calls: [{ index: n, function: { arguments: delta.partial_json } }] })];
        }
        return [];
      }
      case 'message_delta': {
        const e = event as Extract<WireEvent, { type: 'message_delta' }>;
        if (e.delta.stop_reason !== undefined && e.delta.stop_reason !== null) finish = stopReason(e.delta.stop_reason);
        if (typeof e.usage?.output_tokens === 'number') completion = e.usage.output_tokens;
        if (typeof e.usage?.input_tokens === 'number') prompt = inputTokens(e.usage);
        if (typeof e.usage?.cache_read_input_tokens === 'number') cached = e.usage.cache_read_input_tokens;
        return [];
      }
      case 'message_stop': {
        const last = chunk({}, finish);
        const final: ChatChunk = { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(prompt, completion, cached) };
        return [last, final];
      }
      default:
        return [];
    }
  };
}
