/**
 * Pass-through for an Anthropic target of a Messages API request (`ChatRequest.native`): the
 * provider sends the caller's body as it came and hands its own events back on the chunks they
 * were translated into, so the edge can return them unchanged (thinking, citations, cache usage
 * and all) while the gateway counts, records and traces the translation as for any call.
 */
import type { ChatChunk, ChatRequest } from '../types.js';

/** The caller's Anthropic body, when the request carries one. */
export function anthropicBodyOf(request: ChatRequest): Record<string, unknown> | undefined {
  return request.native?.format === 'anthropic' ? request.native.body : undefined;
}

/**
 * The chunks of `translate`d `events`, each chunk with choices carrying the events received since
 * the previous one (events that make no chunk of their own — pings, block stops, the message
 * delta — ride on the next; the stream's last events on its finishing chunk).
 */
export async function* withNativeEvents<E extends object>(events: AsyncIterable<E>, translate: (event: E) => ChatChunk[]): AsyncIterable<ChatChunk> {
  let pending: Array<Record<string, unknown>> = [];
  for await (const event of events) {
    pending.push(event as Record<string, unknown>);
    for (const chunk of translate(event)) {
      if (chunk.choices.length > 0 && pending.length > 0) {
        chunk.native = pending;
        pending = [];
      }
      yield chunk;
    }
  }
}
