/**
 * `openai`: OpenAI's API through the official SDK. The canonical format is OpenAI's own, so
 * requests go through nearly as they are; responses are copied field by field so nothing
 * provider-specific leaks out. The SDK's own retries are off: the gateway retries.
 */
import OpenAI from 'openai';
import { estimateTokens, estimatePromptTokens } from '../budget.js';
import type { ResolvedProvider } from '../config.js';
import { OPTIONAL_PARAMS } from '../params.js';
import { providerFetch } from './http-fetch.js';
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  FinishReason,
  Provider,
  ProviderCallOptions,
  ToolCall,
  ToolCallDelta,
  Usage,
} from '../types.js';

export interface OpenAIFlavour {
  /** `openai-compatible` servers (vLLM, Ollama, LM Studio) take `max_tokens`; OpenAI wants `max_completion_tokens`. */
  compatible: boolean;
}

export function createOpenAIProvider(config: ResolvedProvider, flavour: OpenAIFlavour = { compatible: false }): Provider {
  const clientWith = (fetch?: typeof globalThis.fetch) =>
    new OpenAI({
      // openai-compatible servers often need no key; the SDK insists on one.
      apiKey: config.apiKey ?? 'no-key',
      baseURL: config.baseUrl ?? null,
      organization: null,
      project: null,
      maxRetries: 0,
      logLevel: 'off',
      ...(fetch ? { fetch } : {}),
      ...(config.timeoutMs === undefined ? {} : { timeout: config.timeoutMs }),
    });
  // Whole answers through the lighter transport (http-fetch.ts); streams through the SDK's own `fetch`.
  const client = clientWith(providerFetch());
  const streamClient = clientWith();
  return {
    name: config.name,
    type: config.type,
    async chat(model: string, request: ChatRequest, options: ProviderCallOptions): Promise<ChatResponse> {
      const body = { ...toOpenAIBody(request, flavour), model, stream: false } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
      const res = await client.chat.completions.create(body, { signal: options.signal, timeout: options.timeoutMs });
      return fromOpenAIResponse(res, request);
    },
    async *stream(model: string, request: ChatRequest, options: ProviderCallOptions): AsyncIterable<ChatChunk> {
      const body = {
        ...toOpenAIBody(request, flavour),
        model,
        stream: true,
        stream_options: { include_usage: true },
      } as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming;
      const events = await streamClient.chat.completions.create(body, { signal: options.signal, timeout: options.timeoutMs });
      for await (const chunk of events) yield fromOpenAIChunk(chunk);
    },
    async embed(model: string, request: EmbeddingRequest, options: ProviderCallOptions): Promise<EmbeddingResponse> {
      const body = { ...request, model };
      // Without encoding_format the SDK asks for base64 and hands back floats; with one, what was asked.
      const res = await client.embeddings.create(body, { signal: options.signal, timeout: options.timeoutMs });
      const prompt = res.usage?.prompt_tokens ?? estimateTokens(JSON.stringify(request.input));
      return {
        object: 'list',
        data: res.data.map((d, i) => ({ object: 'embedding' as const, index: d.index ?? i, embedding: d.embedding })),
        model: res.model ?? model,
        usage: { prompt_tokens: prompt, total_tokens: res.usage?.total_tokens ?? prompt },
      };
    },
  };
}

const PASSED_THROUGH = [
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'user',
  'response_format',
  ...OPTIONAL_PARAMS,
] as const;

export function toOpenAIBody(request: ChatRequest, flavour: OpenAIFlavour): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of PASSED_THROUGH) if (request[key] !== undefined) body[key] = request[key];
  const cap = request.max_completion_tokens ?? request.max_tokens;
  if (cap !== undefined) body[flavour.compatible ? 'max_tokens' : 'max_completion_tokens'] = cap;
  return body;
}

/** The parts of OpenAI's wire format the gateway reads (compatible servers may omit some). */
interface WireToolCall {
  id?: string;
  index?: number;
  type?: string;
  function?: { name?: string; arguments?: string };
}
interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: object | null;
  completion_tokens_details?: object | null;
}
interface WireTags {
  system_fingerprint?: string | null;
  service_tier?: string | null;
}
interface WireResponse extends WireTags {
  id?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    message?: { content?: string | null; refusal?: string | null; tool_calls?: WireToolCall[] | null };
    finish_reason?: string | null;
    logprobs?: unknown;
  }>;
  usage?: WireUsage | null;
}
interface WireChunk extends WireTags {
  id?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: { role?: string; content?: string | null; refusal?: string | null; tool_calls?: WireToolCall[] | null };
    finish_reason?: string | null;
    logprobs?: unknown;
  }>;
  usage?: WireUsage | null;
}

export function finishReason(value: string | null | undefined): FinishReason {
  if (value === 'length' || value === 'tool_calls' || value === 'content_filter') return value;
  if (value === 'function_call') return 'tool_calls';
  return 'stop';
}

function usageOf(usage: WireUsage | null | undefined): Usage | undefined {
  if (usage === null || usage === undefined || typeof usage.prompt_tokens !== 'number') return undefined;
  const completion = usage.completion_tokens ?? 0;
  const out: Usage = {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: completion,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + completion,
  };
  const prompt = counts(usage.prompt_tokens_details);
  const output = counts(usage.completion_tokens_details);
  if (prompt !== undefined) out.prompt_tokens_details = prompt;
  if (output !== undefined) out.completion_tokens_details = output;
  return out;
}

/** The numeric fields of a usage details object (`cached_tokens`, `reasoning_tokens` …). */
function counts(details: object | null | undefined): Record<string, number> | undefined {
  if (details === null || details === undefined || typeof details !== 'object') return undefined;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(details)) if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `system_fingerprint` and `service_tier`, when the provider sent them. */
function tagsOf(wire: WireTags): WireTags {
  const out: WireTags = {};
  if (wire.system_fingerprint !== undefined) out.system_fingerprint = wire.system_fingerprint;
  if (wire.service_tier !== undefined) out.service_tier = wire.service_tier;
  return out;
}

export function fromOpenAIResponse(res: WireResponse, request: ChatRequest): ChatResponse {
  const choices = (res.choices ?? []).map((choice, i) => {
    const toolCalls: ToolCall[] = (choice.message?.tool_calls ?? [])
      .filter((call) => call.type === undefined || call.type === 'function')
      .map((call, j) => ({
        id: call.id ?? `call_${j}`,
        type: 'function' as const,
        function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '{}' },
      }));
    const refusal = choice.message?.refusal;
    return {
      index: choice.index ?? i,
      message: {
        role: 'assistant' as const,
        content: choice.message?.content ?? null,
        ...(refusal === undefined ? {} : { refusal }),
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
      finish_reason: finishReason(choice.finish_reason),
      ...(choice.logprobs === undefined ? {} : { logprobs: choice.logprobs }),
    };
  });
  // Servers that report no usage get the gateway's deterministic estimate.
  const usage =
    usageOf(res.usage) ??
    (() => {
      const prompt = estimatePromptTokens(request);
      const completion = estimateTokens(JSON.stringify(choices.map((c) => c.message)));
      return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    })();
  return { id: res.id ?? 'chatcmpl-unknown', object: 'chat.completion', created: res.created ?? 0, model: res.model ?? '', choices, usage, ...tagsOf(res) };
}

export function fromOpenAIChunk(chunk: WireChunk): ChatChunk {
  const out: ChatChunk = {
    id: chunk.id ?? 'chatcmpl-unknown',
    object: 'chat.completion.chunk',
    created: chunk.created ?? 0,
    model: chunk.model ?? '',
    choices: (chunk.choices ?? []).map((choice, i) => {
      const delta: ChatChunk['choices'][number]['delta'] = {};
      if (choice.delta?.role === 'assistant') delta.role = 'assistant';
      if (typeof choice.delta?.content === 'string') delta.content = choice.delta.content;
      if (typeof choice.delta?.refusal === 'string') delta.refusal = choice.delta.refusal;
      const calls = choice.delta?.tool_calls;
      if (calls !== null && calls !== undefined && calls.length > 0) {
        delta.tool_calls = calls.map((call, j) => {
          const d: ToolCallDelta = { index: call.index ?? j };
          if (call.id !== undefined) d.id = call.id;
          if (call.type === 'function') d.type = 'function';
          if (call.function !== undefined) {
            d.function = {};
            if (call.function.name !== undefined) d.function.name = call.function.name;
            if (call.function.arguments !== undefined) d.function.arguments = call.function.arguments;
          }
          return d;
        });
      }
      return {
        index: choice.index ?? i,
        delta,
        finish_reason: choice.finish_reason ? finishReason(choice.finish_reason) : null,
        ...(choice.logprobs === undefined || choice.logprobs === null ? {} : { logprobs: choice.logprobs }),
      };
    }),
    ...tagsOf(chunk),
  };
  const usage = usageOf(chunk.usage);
  if (usage !== undefined) out.usage = usage;
  return out;
}
