/**
 * A `text/event-stream` parser (the WHATWG rules: lines end in LF, CRLF or CR; `data:` lines
 * joined with LF; a blank line dispatches; `:` lines are comments), small and without
 * dependencies, so the client runs in browsers and Node alike.
 */

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
