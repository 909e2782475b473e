/**
 * The gateway's canonical types. OpenAI's chat-completions wire format is the one shape every
 * provider is translated to and from, so `POST /v1/chat/completions` can pass it straight through.
 *
 * Terminology:
 * - provider: a configured API endpoint (`providers:` in gateway.yaml) of one type
 *   (`openai`, `openai-compatible`, `anthropic`, `mock`).
 * - model group: a name callers use as `model` (`models:`); it lists targets in fallback order.
 * - target: one provider + model + prices inside a group.
 * - attempt: one request sent to one target; a call makes one or more attempts.
 * - call record: what the ledger keeps of every attempt (tokens, cost, latency, outcome).
 */
import type { ProviderType } from './config.js';

export interface TextPart {
  type: 'text';
  text: string;
}
/** Content parts other than text (images, audio) pass through to OpenAI-style providers only. */
export interface OtherPart {
  type: string;
  [key: string]: unknown;
}
export type ContentPart = TextPart | OtherPart;

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface SystemMessage {
  role: 'system';
  content: string | TextPart[];
  name?: string;
}
export interface UserMessage {
  role: 'user';
  content: string | ContentPart[];
  name?: string;
}
export interface AssistantMessage {
  role: 'assistant';
  content: string | TextPart[] | null;
  tool_calls?: ToolCall[];
  name?: string;
}
export interface ToolMessage {
  role: 'tool';
  content: string | TextPart[];
  tool_call_id: string;
}
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
  /** A model group name (gateway.yaml `models:`). */
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  seed?: number;
  user?: string;
  response_format?: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; json_schema: Record<string, unknown> };
  /** How many choices to generate (`params.ts`: which providers honour which of these). */
  n?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  logit_bias?: Record<string, number>;
  reasoning_effort?: string;
  metadata?: Record<string, string>;
  service_tier?: string;
  /** The caller's request in a provider's own format (the Messages API edge); see `NativeRequest`. */
  native?: NativeRequest;
}

/**
 * The request as the caller sent it in a provider's own wire format (`POST /v1/messages`:
 * Anthropic's). A provider of that format sends it as it is (with the target's model) instead of
 * the translation, and hands back its own answer as `native` on the response or chunks; other
 * providers ignore it. Budgets, the ledger and tracing use the translated request either way.
 */
export interface NativeRequest {
  format: 'anthropic';
  body: Record<string, unknown>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** `cached_tokens`: input served from the provider's prompt cache (part of `prompt_tokens`, priced `cached_input_per_mtok`). */
  prompt_tokens_details?: Record<string, number>;
  /** `reasoning_tokens`: output spent reasoning (part of `completion_tokens`). */
  completion_tokens_details?: Record<string, number>;
}

/** What the gateway adds to a response (and to a stream's last chunk): not part of OpenAI's format. */
export interface CallMeta {
  call_id: string;
  group: string;
  provider: string;
  cost_usd: number;
  /** With the group's response cache on and the request cacheable: whether the cache answered. */
  cache?: 'hit' | 'miss';
}

export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  /** The upstream model that answered. */
  model: string;
  choices: Array<{
    index: number;
    /** `refusal`: the model's refusal message, when it refused. */
    message: { role: 'assistant'; content: string | null; refusal?: string | null; tool_calls?: ToolCall[] };
    finish_reason: FinishReason;
    /** As the provider sent it (with `logprobs: true`). */
    logprobs?: unknown;
  }>;
  usage: Usage;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  agentry?: CallMeta;
  /** The provider's own answer, when the request was `native` in its format. */
  native?: Record<string, unknown>;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; refusal?: string | null; tool_calls?: ToolCallDelta[] };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
  }>;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  /** Set on the last chunk only (the gateway always sends one, with `choices: []`). */
  usage?: Usage | null;
  agentry?: CallMeta;
  /** The provider's own stream events behind this chunk, when the request was `native` in its format. */
  native?: Array<Record<string, unknown>>;
}

/** OpenAI's embeddings request; `model` is a model group. */
export interface EmbeddingRequest {
  model: string;
  /** A text, texts, or token arrays. */
  input: string | string[] | number[] | number[][];
  /** `base64`: each vector as the base64 of its little-endian float32s. Default `float`. */
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

export interface EmbeddingResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  /** The upstream model that answered. */
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
  agentry?: CallMeta;
}

/** Who is calling and within what limits; every gateway call needs one. */
export interface CallContext {
  tenantId: string;
  runId?: string;
  stepId?: string;
  workflow?: string;
  /** Cancels the call at once: no retry, no fallback, outcome `cancelled`. */
  signal?: AbortSignal;
  /**
   * When the caller stops waiting (epoch ms; a step's timeout): a call held back by an upstream
   * limit waits until then at most. Default: the call's own timeout from when it began.
   */
  deadline?: number;
  /** The run's budget (the workflow's `budget:`); spend is the ledger's sum over the run. */
  budget?: { maxTokens?: number; maxCostUsd?: number };
}

/** Per-attempt options a provider gets from the gateway. */
export interface ProviderCallOptions {
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * One provider type. `model` is the upstream model name; `request.model` is ignored.
 * Errors are thrown as the SDK throws them; the gateway classifies them.
 */
export interface Provider {
  readonly name: string;
  readonly type: string;
  chat(model: string, request: ChatRequest, options: ProviderCallOptions): Promise<ChatResponse>;
  stream(model: string, request: ChatRequest, options: ProviderCallOptions): AsyncIterable<ChatChunk>;
  /** Embeddings; absent on provider types that have none (`anthropic`). */
  embed?(model: string, request: EmbeddingRequest, options: ProviderCallOptions): Promise<EmbeddingResponse>;
}

export interface ModelInfo {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'agentry';
  description?: string;
  targets: Array<{ provider: string; model: string }>;
}

/** A provider as readiness sees it (`Gateway.upstreams()`): never its key. */
export interface UpstreamInfo {
  name: string;
  type: ProviderType;
  /** Redacted; undefined for `mock`. */
  baseUrl: string | undefined;
  /** `base_url` was set in gateway.yaml (not the provider's public default). */
  baseUrlConfigured: boolean;
  /** The variable its key is read from, when it takes one. */
  apiKeyEnv: string | undefined;
  /** It names a key variable that is not set. */
  keyMissing: boolean;
  /** The model groups with a target on it. */
  groups: string[];
}
