/**
 * Following a run's events as they happen: the one poll loop behind the server's event stream
 * (`GET /v1/runs/{id}/events` as `text/event-stream`) and the CLI's local `runs events
 * --follow` and `run --wait`. (The CLI's remote mode follows the server's stream over HTTP.)
 */
import { pause } from '../lib/sleep.js';
import { TERMINAL_EVENT_TYPES, TERMINAL_RUN_STATUSES } from '../types.js';
import { eventDto, type EventDto } from './dto/runs.js';
import type { ServiceDeps } from './service-deps.js';

/** Events read per query while catching up. */
const PAGE = 500;

export interface FollowOptions {
  /** Start after this seq (default 0: from the first event). */
  after?: number;
  /** Stops following; the iteration then ends quietly. */
  signal?: AbortSignal;
  /** How long to wait for new events between reads when nothing wakes the reader. */
  pollMs: number;
}

/**
 * The run's events after `after`, each once and in order, until its terminal event, the
 * signal, or (resuming after the terminal event, or the run gone) when nothing more can come.
 * The caller has checked that the run exists and is visible to it.
 */
export async function* followRunEvents(deps: ServiceDeps, runId: string, options: FollowOptions): AsyncGenerator<EventDto> {
  const { signal, pollMs } = options;
  let seq = options.after ?? 0;
  while (!signal?.aborted) {
    const events = await deps.store.listEvents(runId, seq, PAGE);
    for (const event of events) {
      seq = event.seq;
      yield eventDto(event);
      if (TERMINAL_EVENT_TYPES.has(event.type)) return;
    }
    if (events.length === PAGE) continue;
    const run = await deps.store.getRun(runId);
    if (!run || (TERMINAL_RUN_STATUSES.has(run.status) && run.eventSeq <= seq)) return;
    if (deps.waker) await deps.waker.wait(runId, pollMs, signal, seq);
    else await pause(pollMs, signal);
  }
}
