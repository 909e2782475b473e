/**
 * Waiting for a run to end (`Engine.waitForRun`): it polls the store, so it sees a run end
 * whichever process ended it, and can pass on the run's events as they are appended.
 */
import { AgentryError } from '../lib/errors.js';
import { pause } from '../lib/sleep.js';
import type { Store } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type EventRecord, type RunRecord } from '../types.js';

export interface WaitOptions {
  timeoutMs?: number;
  /** Called with each new event, in order. */
  onEvent?: (event: EventRecord) => void;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Resolves with the run once it has ended (or when the timeout passes, as it is then); `not_found` for an unknown run. */
export async function waitForRun(store: Pick<Store, 'getRun' | 'listEvents'>, runId: string, options: WaitOptions, now: () => number): Promise<RunRecord> {
  const { timeoutMs = Infinity, onEvent, pollMs = 100, signal } = options;
  const deadline = now() + timeoutMs;
  let seq = 0;
  for (;;) {
    if (onEvent) {
      for (;;) {
        const events = await store.listEvents(runId, seq, 500);
        for (const event of events) onEvent(event);
        seq = events.at(-1)?.seq ?? seq;
        if (events.length < 500) break;
      }
    }
    const run = await store.getRun(runId);
    if (!run) throw new AgentryError('not_found', `run ${runId} not found`);
    if (TERMINAL_RUN_STATUSES.has(run.status) && (!onEvent || run.eventSeq <= seq)) return run;
    if (now() >= deadline || signal?.aborted) return run;
    await pause(Math.min(pollMs, Math.max(0, deadline - now())), signal);
  }
}
