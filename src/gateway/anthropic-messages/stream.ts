/**
 * The gateway's chunk stream (OpenAI's `chat.completion.chunk`s) as the Messages API's event
 * stream: `message_start`, `ping`, per content block `content_block_start` / `content_block_delta`
 * (`text_delta`, `input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason,
 * usage) and `message_stop`. A stream from an Anthropic target whose chunks carry its own events
 * (`native`) is passed through as those events instead.
 */
import type { ChatChunk, FinishReason, Usage } from '../types.js';
import { messageId, stopReasonOf, usageOf } from './response.js';

export interface MessagesEvent {
  type: string;
  [key: string]: unknown;
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number };

/** A stateful translator of one stream: `push` each chunk, then `end` once the stream is done. */
export class MessagesStreamTranslator {
  #mode: 'native' | 'translate' | undefined;
  #started = false;
  #ended = false;
  #next = 0;
  #open: OpenBlock | undefined;
  /** OpenAI tool-call index → the content block it opened. */
  readonly #tools = new Map<number, number>();
  #finish: FinishReason | null = null;
  #usage: Usage | undefined;

  push(chunk: ChatChunk): MessagesEvent[] {
    this.#mode ??= chunk.native !== undefined ? 'native' : 'translate';
    if (this.#mode === 'native') return (chunk.native ?? []) as MessagesEvent[];
    if (chunk.usage !== undefined && chunk.usage !== null) this.#usage = chunk.usage;
    const out = this.#start(chunk);
    for (const choice of chunk.choices.filter((c) => c.index === 0)) {
      const { content, tool_calls: calls } = choice.delta;
      if (typeof content === 'string' && content !== '') {
        if (this.#open?.kind !== 'text') out.push(...this.#openBlock({ kind: 'text', index: this.#next }, { type: 'text', text: '' }));
        out.push({ type: 'content_block_delta', index: this.#open!.index, delta: { type: 'text_delta', text: content } });
      }
      for (const call of calls ?? []) {
        let index = this.#tools.get(call.index);
        if (index === undefined) {
          index = this.#next;
          this.#tools.set(call.index, index);
          out.push(
            ...this.#openBlock({ kind: 'tool', index }, { type: 'tool_use', id: call.id ?? `toolu_${call.index}`, name: call.function?.name ?? '', input: {} }),
          );
        }
        const args = call.function?.arguments;
        if (args !== undefined && args !== '') out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } });
      }
      if (choice.finish_reason !== null) this.#finish = choice.finish_reason;
    }
    return out;
  }

  /** The closing events (translated streams only). */
  end(): MessagesEvent[] {
    if (this.#mode === 'native' || this.#ended) return [];
    this.#ended = true;
    const out = this.#start(undefined);
    if (this.#open !== undefined) out.push({ type: 'content_block_stop', index: this.#open.index });
    this.#open = undefined;
    const usage = usageOf(this.#usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    out.push({ type: 'message_delta', delta: { stop_reason: stopReasonOf(this.#finish), stop_sequence: null }, usage }, { type: 'message_stop' });
    return out;
  }

  #start(chunk: ChatChunk | undefined): MessagesEvent[] {
    if (this.#started) return [];
    this.#started = true;
    const message = {
      id: messageId(chunk?.id ?? 'msg_unknown'),
      type: 'message',
      role: 'assistant',
      model: chunk?.model ?? '',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Known only at the end (message_delta carries the totals, input included).
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: null, cache_read_input_tokens: null },
    };
    return [{ type: 'message_start', message }, { type: 'ping' }];
  }

  #openBlock(block: OpenBlock, content: Record<string, unknown>): MessagesEvent[] {
    const out: MessagesEvent[] = [];
    if (this.#open !== undefined) out.push({ type: 'content_block_stop', index: this.#open.index });
    this.#open = block;
    this.#next = block.index + 1;
    out.push({ type: 'content_block_start', index: block.index, content_block: content });
    return out;
  }
}

/** One event as an SSE frame, named by its type as Anthropic sends it. */
export function sseFrame(event: MessagesEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
