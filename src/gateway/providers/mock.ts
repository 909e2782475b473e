/**
 * `mock`: deterministic scripted replies, no network. The provider's `script` is a list of
 * rules; the first whose `when` holds answers (text, JSON, tool calls, a delay or an HTTP-like
 * error). Nothing matching → a reply echoing the last user message. Token counts not given
 * in the rule are characters / 4. The same request always gets the same response.
 *
 * ```yaml
 * providers:
 *   demo:
 *     type: mock
 *     script:
 *       - when: { has_tool_results: false }
 *         reply: { tool_calls: [{ name: lookup, arguments: { q: "acme" } }] }
 *       - reply: { content: { severity: high } }   # sent as '{"severity":"high"}'
 * ```
 */
import { createHash } from 'node:crypto';
import { estimatePromptTokens, estimateTokens } from '../budget.js';
import { ProviderStatusError } from '../classify.js';
import { ms, type ResolvedProvider } from '../config.js';
import type { MockRuleSpec } from '../../spec/schemas.js';
import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ContentPart,
  EmbeddingRequest,
  EmbeddingResponse,
  Provider,
  ProviderCallOptions,
  ToolCall,
} from '../types.js';
import { sleep } from '../../lib/sleep.js';

export interface MockOptions {
  /** Clock for `created`; injectable so tests can compare whole responses. */
  now?: () => number;
}

export function createMockProvider(config: ResolvedProvider, options: MockOptions = {}): Provider {
  const now = options.now ?? Date.now;
  const answer = async (model: string, request: ChatRequest, signal: AbortSignal): Promise<ChatResponse> => {
    const rule = matchRule(config.script, model, request);
    const delay = ms(rule?.delay) ?? 0;
    if (delay > 0) await sleep(delay, signal);
    signal.throwIfAborted();
    if (rule?.error !== undefined) {
      throw new ProviderStatusError(rule.error.status, rule.error.message ?? 'mock error', ms(rule.error.retry_after));
    }
    return reply(rule, model, request, Math.floor(now() / 1000));
  };
  return {
    name: config.name,
    type: config.type,
    chat: (model, request, opts: ProviderCallOptions) => answer(model, request, opts.signal),
    async *stream(model, request, opts: ProviderCallOptions): AsyncIterable<ChatChunk> {
      yield* toChunks(await answer(model, request, opts.signal));
    },
    embed: (model, request, opts: ProviderCallOptions) => {
      opts.signal.throwIfAborted();
      return Promise.resolve(mockEmbeddings(model, request));
    },
  };
}

/** Dimensions of a mock embedding when the request names none. */
const MOCK_DIMENSIONS = 16;

/** The most numbers one mock embeddings call makes (inputs × dimensions): 4 MB of float32s. */
const MOCK_MAX_VALUES = 1 << 20;

/**
 * Deterministic unit vectors: each input's SHA-256 (with the model), stretched over the
 * dimensions asked for. The same input always gets the same vector; different inputs differ.
 * A request for more than `MOCK_MAX_VALUES` numbers in all is answered as a provider's 400 (the
 * route allows 2,048 inputs of 65,536 dimensions: a caller must not make the mock stall the process).
 */
export function mockEmbeddings(model: string, request: EmbeddingRequest): EmbeddingResponse {
  const inputs: unknown[] = typeof request.input === 'string' || typeof request.input[0] === 'number' ? [request.input] : request.input;
  const dimensions = request.dimensions ?? MOCK_DIMENSIONS;
  if (inputs.length * dimensions > MOCK_MAX_VALUES) {
    throw new ProviderStatusError(400, `the mock provider makes at most ${MOCK_MAX_VALUES} numbers per call; asked for ${inputs.length} × ${dimensions}`);
  }
  const data = inputs.map((input, index) => {
    const seed = createHash('sha256')
      .update(JSON.stringify([model, input]))
      .digest();
    const values: number[] = [];
    for (let block = 0; values.length < dimensions; block++) {
      const digest = createHash('sha256').update(seed).update(String(block)).digest();
      for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) values.push(digest.readUInt16BE(i) / 32768 - 1);
    }
    let sum = 0;
    for (const v of values) sum += v * v;
    const norm = Math.sqrt(sum) || 1;
    const vector = values.map((v) => v / norm);
    const embedding = request.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding' as const, index, embedding };
  });
  const tokens = inputs.reduce<number>((sum, input) => sum + (typeof input === 'string' ? estimateTokens(input) : Array.isArray(input) ? input.length : 0), 0);
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function textOf(content: string | ContentPart[] | null): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' && typeof p['text'] === 'string' ? p['text'] : '')).join('');
}

/** 1 + the number of assistant messages in the conversation. */
export function turnOf(messages: readonly ChatMessage[]): number {
  return 1 + messages.filter((m) => m.role === 'assistant').length;
}

export function matchRule(script: readonly MockRuleSpec[], model: string, request: ChatRequest): MockRuleSpec | undefined {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const lastUserText = lastUser === undefined ? '' : textOf(lastUser.content);
  const hasToolResults = request.messages.some((m) => m.role === 'tool');
  const turn = turnOf(request.messages);
  return script.find(({ when }) => {
    if (when === undefined) return true;
    if (when.last_user_contains !== undefined && !lastUserText.includes(when.last_user_contains)) return false;
    if (when.has_tool_results !== undefined && when.has_tool_results !== hasToolResults) return false;
    if (when.turn !== undefined && when.turn !== turn) return false;
    if (when.model !== undefined && when.model !== model) return false;
    return true;
  });
}

/**
 * How much of the last user message an unscripted reply echoes: a reply is at most this long,
 * whatever the prompt, so `n: 128` on a large prompt cannot make a response of hundreds of MB.
 */
const MOCK_ECHO_MAX_CHARS = 1_000;

function echo(text: string): string {
  return text.length <= MOCK_ECHO_MAX_CHARS ? text : `${text.slice(0, MOCK_ECHO_MAX_CHARS)}…`;
}

function reply(rule: MockRuleSpec | undefined, model: string, request: ChatRequest, created: number): ChatResponse {
  const turn = turnOf(request.messages);
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  let content: string | null;
  let toolCalls: ToolCall[] = [];
  if (rule?.reply === undefined) {
    content = `mock reply to: ${lastUser === undefined ? '' : echo(textOf(lastUser.content))}`;
  } else {
    const raw = rule.reply.content;
    content = raw === undefined || raw === null ? null : typeof raw === 'string' ? raw : JSON.stringify(raw);
    toolCalls = (rule.reply.tool_calls ?? []).map((call, i) => ({
      id: call.id ?? `call_${turn}_${i}`,
      type: 'function' as const,
      function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}) },
    }));
    if (content === null && toolCalls.length === 0) content = '';
  }
  const message = { role: 'assistant' as const, content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
  const prompt = rule?.usage?.prompt_tokens ?? estimatePromptTokens(request);
  const completion = rule?.usage?.completion_tokens ?? estimateTokens((content ?? '') + toolCalls.map((c) => c.function.name + c.function.arguments).join(''));
  const hash = createHash('sha256')
    .update(JSON.stringify([model, request.messages, request.tools ?? null]))
    .digest('hex')
    .slice(0, 24);
  // `n` choices, each the same reply (the usage counts each).
  const n = request.n ?? 1;
  const choices = Array.from({ length: n }, (_, index) => ({
    index,
    message: index === 0 ? message : structuredClone(message),
    finish_reason: toolCalls.length > 0 ? ('tool_calls' as const) : ('stop' as const),
  }));
  return {
    id: `chatcmpl-mock-${hash}`,
    object: 'chat.completion',
    created,
    model,
    choices,
    usage: { prompt_tokens: prompt, completion_tokens: completion * n, total_tokens: prompt + completion * n },
  };
}

/** A response as the chunks a streaming provider would send: role, text in pieces, tool calls, finish, usage. */
export function toChunks(response: ChatResponse): ChatChunk[] {
  const { id, created, model } = response;
  const out: ChatChunk[] = [];
  for (const choice of response.choices) {
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: choice.index, delta, finish_reason: finish }],
    });
    out.push(chunk({ role: 'assistant', content: '' }));
    for (const piece of (choice.message.content ?? '').match(/\S+\s*|\s+/g) ?? []) out.push(chunk({ content: piece }));
    (choice.message.tool_calls ?? []).forEach((call, index) => {
      out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }] }));
    });
    out.push(chunk({}, choice.finish_reason));
  }
  out.push({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: response.usage });
  return out;
}
