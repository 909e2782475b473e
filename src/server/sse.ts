/**
 * A run's events as `text/event-stream`: each event is sent as `id: <seq>`, `event: <type>`,
 * `data: <json>`; a client that reconnects with `Last-Event-ID: <seq>` gets every event after
 * it, exactly once and in order. The stream ends after the run's terminal event; a comment
 * line is sent every `heartbeatMs` so proxies keep the connection open.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAgentryError } from '../lib/errors.js';
import { TERMINAL_RUN_STATUSES, type EventRecord } from '../types.js';
import { eventDto } from './dto.js';
import { problemBody } from './problem.js';
import type { ServerDeps } from './route.js';

const PAGE = 500;
const TERMINAL_EVENTS = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);

export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

function frame(event: EventRecord): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(eventDto(event))}\n\n`;
}

/** Takes over the response and streams the run's events after `afterSeq` until the run ends or the client goes. */
export async function streamEvents(deps: ServerDeps, request: FastifyRequest, reply: FastifyReply, runId: string, afterSeq: number): Promise<void> {
  const raw = reply.raw;
  const closed = new AbortController();
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
    if (!raw.write(text)) {
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
  let seq = afterSeq;
  try {
    await write(`retry: 1000\n: events of run ${runId} after ${afterSeq}\n\n`);
    for (;;) {
      if (closed.signal.aborted) return;
      const events = await deps.store.listEvents(runId, seq, PAGE);
      let ended = false;
      for (const event of events) {
        await write(frame(event));
        seq = event.seq;
        if (TERMINAL_EVENTS.has(event.type)) ended = true;
      }
      if (ended) return;
      if (events.length === PAGE) continue;
      const run = await deps.store.getRun(runId);
      // Resumed after the terminal event (or the run is gone): nothing more will come.
      if (!run || (TERMINAL_RUN_STATUSES.has(run.status) && run.eventSeq <= seq)) return;
      if (deps.feed) await deps.feed.wait(runId, deps.ssePollMs, closed.signal, seq);
      else await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deps.ssePollMs);
        closed.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  } catch (error) {
    const problem = problemBody(toAgentryError(error), request.id);
    request.log.error({ err: error, run_id: runId }, 'event stream failed');
    await write(`event: error\ndata: ${JSON.stringify(problem)}\n\n`).catch(() => undefined);
  } finally {
    clearInterval(heartbeat);
    raw.off('close', onClose);
    deps.closing.removeEventListener('abort', onClose);
    if (!raw.writableEnded) raw.end();
  }
}
