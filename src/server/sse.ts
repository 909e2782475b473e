/**
 * Event streams (`text/event-stream`). `openEventStream` takes a response over: its head, a
 * heartbeat comment every `heartbeatMs` so proxies keep the connection open, writes that wait
 * for a slow client. `streamFrames` writes `id:`/`event:`/`data:` frames on it: a run's events
 * (`streamEvents`: a client that reconnects with `Last-Event-ID: <seq>` gets every event after
 * it, exactly once and in order, and the stream ends after the run's terminal event) and the run
 * stream (`GET /v1/runs/stream`). The log follow (`routes/logs.ts`) writes its own lines.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../app/caller.js';
import { toAgentryError } from '../lib/errors.js';
import { AUTHENTICATED, authorize } from './auth.js';
import { problemBody } from './problem.js';
import type { ServerDeps } from './route.js';

export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
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
 * redactor. `closed` aborts when the client goes or the server starts closing, and when the
 * request's credential no longer signs in (checked every `sseAuthRecheckMs`: a key revoked or
 * expired, an OIDC token past its expiry), after an `error` frame saying so.
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
  const stillSignedIn = async (): Promise<void> => {
    try {
      await authorize(deps.auth, request.headers, AUTHENTICATED);
    } catch (error) {
      const e = toAgentryError(error);
      // Only a credential that is refused ends the stream; an issuer that cannot be reached now does not.
      if (e.code !== 'unauthorized' || closed.signal.aborted) return;
      clearInterval(recheck);
      request.log.info({ reason: e.message }, 'event stream ended: its credential no longer signs in');
      await write(`event: error\ndata: ${JSON.stringify(problemBody(e, request.id))}\n\n`).catch(() => undefined);
      closed.abort();
    }
  };
  const recheck = setInterval(() => void stillSignedIn(), deps.sseAuthRecheckMs);
  recheck.unref();
  return {
    write,
    end: () => {
      clearInterval(heartbeat);
      clearInterval(recheck);
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
  const { runId, after } = target;
  const closed = new AbortController();
  const events = await deps.services.runs.follow(target.caller, runId, { after, signal: closed.signal, pollMs: deps.ssePollMs });
  await streamFrames(deps, request, reply, closed, {
    intro: `events of run ${runId} after ${after}`,
    frames: mapFrames(events, (event) => ({ id: String(event.seq), event: event.type, data: event })),
    logFields: { run_id: runId },
  });
}

/** One SSE message: its `id:`, `event:` and JSON `data:`. */
export interface SseFrame {
  id: string;
  event: string;
  data: unknown;
}

export async function* mapFrames<T>(items: AsyncIterable<T>, toFrame: (item: T) => SseFrame): AsyncGenerator<SseFrame> {
  for await (const item of items) yield toFrame(item);
}

/** What `streamFrames` sends: a comment first, then the frames; `logFields` go with a failure's log line. */
export interface FrameSource {
  intro: string;
  frames: AsyncIterable<SseFrame>;
  logFields: Record<string, unknown>;
}

/**
 * Takes over the response and writes `source`'s frames as they come, until they end, the
 * client goes or the server closes (each aborts `closed`, which the frames' producer should
 * watch). A frame is written only once the previous one was taken by the socket (`drain`), so a
 * slow client holds up its own producer, never a growing buffer.
 */
export async function streamFrames(
  deps: ServerDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  closed: AbortController,
  source: FrameSource,
): Promise<void> {
  const stream = openEventStream(deps, request, reply, closed);
  try {
    await stream.write(`retry: 1000\n: ${source.intro}\n\n`);
    for await (const frame of source.frames) await stream.write(`id: ${frame.id}\nevent: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`);
  } catch (error) {
    const problem = problemBody(toAgentryError(error), request.id);
    request.log.error({ err: error, ...source.logFields }, 'event stream failed');
    await stream.write(`event: error\ndata: ${JSON.stringify(problem)}\n\n`).catch(() => undefined);
  } finally {
    stream.end();
  }
}
