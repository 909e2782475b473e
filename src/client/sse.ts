/**
 * A `text/event-stream` parser (the WHATWG rules: lines end in LF, CRLF or CR; `data:` lines
 * joined with LF; a blank line dispatches; `:` lines are comments), small and without
 * dependencies, so the client runs in browsers and Node alike; and `followResumable`, the one
 * loop that follows such a stream across dropped connections (a run's events, the run stream).
 */
import { AgentryApiError, apiErrorOf } from './errors.js';
import { sleep, type Transport } from './transport.js';

export interface ServerSentEvent {
  /** The `id:` of the frame (or the last one seen). */
  id: string | undefined;
  /** `event:`; `message` when the frame names none. */
  event: string;
  data: string;
  /** `retry:` when the frame set it. */
  retry: number | undefined;
}

export async function* parseServerSentEvents(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let lastId: string | undefined;
  let event = '';
  let data: string[] = [];
  let retry: number | undefined;
  let sawField = false;
  const line = (text: string): ServerSentEvent | undefined => {
    if (text === '') {
      const frame = sawField && data.length > 0 ? { id: lastId, event: event || 'message', data: data.join('\n'), retry } : undefined;
      event = '';
      data = [];
      retry = undefined;
      sawField = false;
      return frame;
    }
    if (text.startsWith(':')) return undefined;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    sawField = true;
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    return undefined;
  };
  for await (const chunk of iterate(body)) {
    buffer += decoder.decode(chunk, { stream: true });
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
      const width = buffer.startsWith('\r\n', end) ? 2 : 1;
      const frame = line(buffer.slice(0, end));
      buffer = buffer.slice(end + width);
      if (frame) yield frame;
    }
  }
}

async function* iterate(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // A stream's reader where there is one: not every browser makes a ReadableStream async-iterable.
  if (!('getReader' in body)) {
    yield* body;
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** How `followResumable` reads one stream. */
export interface ResumableStream<T> {
  /** The path to connect to. */
  path: string;
  /** The `Last-Event-ID` to send on the next connection (undefined: none). */
  lastId(): string | undefined;
  /** The item a frame's data holds; `seen` for one already given (skipped), `last` when none follows it. */
  read(data: string): { item: T; seen?: boolean; last?: boolean };
  /** After a stream ended without its last item: whether there is nothing more to follow. */
  ended(): Promise<boolean>;
  /** What was lost when reconnecting gives up: `the event stream of run r_1`. */
  what: string;
  signal?: AbortSignal | undefined;
  /** Give up after this many reconnects in a row that brought nothing new. */
  maxReconnects: number;
  reconnectDelayMs: number;
}

/**
 * The items of an SSE stream that is resumed on a new connection, with `Last-Event-ID`, when it
 * drops or the server closes it, until its last item, `ended()` or `signal` aborts. A problem the
 * server sends (`event: error`) or a refusal below 500 ends it with an `AgentryApiError`.
 */
export async function* followResumable<T>(transport: Transport, stream: ResumableStream<T>): AsyncGenerator<T> {
  const { signal } = stream;
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    let progressed = false;
    const connection = new AbortController();
    try {
      const last = stream.lastId();
      const response = await transport.send(stream.path, {
        headers: { accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': last }) },
        signal: signal ? AbortSignal.any([signal, connection.signal]) : connection.signal,
      });
      if (!response.ok) throw await apiErrorOf(response);
      if (!response.body) throw new AgentryApiError(response.status, { detail: `${stream.what} has no body` });
      for await (const frame of parseServerSentEvents(response.body)) {
        if (frame.event === 'error') throw new AgentryApiError(500, JSON.parse(frame.data) as Record<string, unknown>);
        const { item, seen, last: done } = stream.read(frame.data);
        if (seen) continue;
        progressed = true;
        yield item;
        if (done) return;
      }
      // The stream ended without its last item: over, or the server is closing (resume).
      if (await stream.ended()) return;
    } catch (error) {
      if (signal?.aborted || (error instanceof AgentryApiError && error.status < 500)) throw error;
    } finally {
      connection.abort();
    }
    failures = progressed ? 0 : failures + 1;
    if (failures > stream.maxReconnects)
      throw new AgentryApiError(503, { code: 'not_ready', detail: `lost ${stream.what} (${stream.maxReconnects} reconnects failed)` });
    await sleep(stream.reconnectDelayMs, signal);
  }
}
