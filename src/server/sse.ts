/**
 * A run's events as `text/event-stream`: each event is sent as `id: <seq>`, `event: <type>`,
 * `data: <json>`; a client that reconnects with `Last-Event-ID: <seq>` gets every event after
 * it, exactly once and in order. The stream ends after the run's terminal event; a comment
 * line is sent every `heartbeatMs` so proxies keep the connection open. `openEventStream` is
 * the taking over itself, shared with the log follow (`routes/logs.ts`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../app/caller.js';
import type { EventDto } from '../app/dto/runs.js';
import { toAgentryError } from '../lib/errors.js';
import { problemBody } from './problem.js';
import type { ServerDeps } from './route.js';

export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

function frame(event: EventDto): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export interface StreamTarget {
  caller: Caller;
  runId: string;
  /** Stream the events after this seq. */
  after: number;
}

/** An event stream the response was taken over for: `write` waits while the client is slow (or until it goes). */
export interface EventStream {
  write(text: string): Promise<void>;
  /** Stops the heartbeat, lets go of the listeners and ends the response. */
  end(): void;
}

/**
 * Takes over the response as a `text/event-stream`: its head sent, a comment every
 * `sseHeartbeatMs` so proxies keep the connection open, every write passed through the
 * redactor. `closed` aborts when the client goes or the server starts closing.
 */
export function openEventStream(deps: ServerDeps, request: FastifyRequest, reply: FastifyReply, closed: AbortController): EventStream {
  const raw = reply.raw;
  const onClose = (): void => closed.abort();
  raw.on('close', onClose);
  deps.closing.addEventListener('abort', onClose, { once: true });
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    // The connection ends with the stream (a client reconnects on a new one); otherwise an
    // ended stream's socket would sit idle until the keep-alive timeout and hold up shutdown.
    connection: 'close',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  const write = async (text: string): Promise<void> => {
    if (closed.signal.aborted) return;
    if (!raw.write(deps.redactor.text(text))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          raw.off('drain', done);
          closed.signal.removeEventListener('abort', done);
          resolve();
        };
        raw.once('drain', done);
        closed.signal.addEventListener('abort', done, { once: true });
      });
    }
  };
  const heartbeat = setInterval(() => void write(': heartbeat\n\n'), deps.sseHeartbeatMs);
  heartbeat.unref();
  return {
    write,
    end: () => {
      clearInterval(heartbeat);
      raw.off('close', onClose);
      deps.closing.removeEventListener('abort', onClose);
      if (!raw.writableEnded) raw.end();
    },
  };
}

/**
 * Takes over the response and streams the run's events after `after` until the run ends or
 * the client goes. A run the caller may not see is a `not_found` problem, answered before the
 * response is taken over.
 */
export async function streamEvents(deps: ServerDeps, request: FastifyRequest, reply: FastifyReply, target: StreamTarget): Promise<void> {
  const { runId, after: afterSeq } = target;
  const closed = new AbortController();
  const events = await deps.services.runs.follow(target.caller, runId, { after: afterSeq, signal: closed.signal, pollMs: deps.ssePollMs });
  const stream = openEventStream(deps, request, reply, closed);
  try {
    await stream.write(`retry: 1000\n: events of run ${runId} after ${afterSeq}\n\n`);
    for await (const event of events) await stream.write(frame(event));
  } catch (error) {
    const problem = problemBody(toAgentryError(error), request.id);
    request.log.error({ err: error, run_id: runId }, 'event stream failed');
    await stream.write(`event: error\ndata: ${JSON.stringify(problem)}\n\n`).catch(() => undefined);
  } finally {
    stream.end();
  }
}
