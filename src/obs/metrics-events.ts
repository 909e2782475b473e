/**
 * Run, step, task and attempt metrics, derived from the events a transaction committed in this
 * process (the engine's `onCommitted`): the events are the one source of truth, so a worker
 * counts the steps it ends, a scheduler the leases it expires, an API process the runs it
 * creates and cancels. An event that ends a step attempt carries `duration_ms` (the attempt's
 * start to its end); each attempt is observed once, by the first such event of its transaction
 * (a lapsed lease writes `step.lease_expired` and then `step.retry_scheduled` or `step.failed`).
 */
import { STEP_KINDS } from '../spec/model.js';
import type { EventRecord, RunRecord } from '../types.js';
import type { Families } from './metrics-families.js';

/** An event a committed transaction appended, with its run (`CommittedEvent` of the engine). */
export interface ObservedEvent {
  event: EventRecord;
  run: Pick<RunRecord, 'workflow' | 'spec'>;
}

const RUN_FINISHED = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);
const STEP_FINISHED = new Set(['step.succeeded', 'step.failed', 'step.skipped', 'step.cancelled']);

/** The status of the attempt an event ends, for `agentry_step_duration_seconds`; undefined when it ends none. */
function attemptStatus(event: EventRecord): string | undefined {
  const data = event.data as { error?: { code?: unknown }; reason?: unknown };
  switch (event.type) {
    case 'step.succeeded':
      return 'succeeded';
    case 'step.failed':
      return data.error?.code === 'step_timeout' ? 'timed_out' : 'failed';
    case 'step.retry_scheduled':
      return 'retried';
    case 'step.lease_expired':
      return 'lease_expired';
    case 'step.released':
      return 'released';
    case 'step.cancelled':
      return data.reason === 'timed_out' ? 'timed_out' : 'cancelled';
    default:
      return undefined;
  }
}

/** Counts one committed transaction's events. */
export function observeEvents(f: Families, events: readonly ObservedEvent[]): void {
  const timed = new Set<string>();
  for (const { event, run } of events) {
    const { workflow } = run;
    const { type, stepId } = event;
    if (type === 'run.created') f.runsStarted.inc({ workflow });
    else if (RUN_FINISHED.has(type)) f.runsFinished.inc({ workflow, status: type.slice('run.'.length) });
    else if (type.startsWith('task.')) f.taskEvents.inc({ event: type.slice('task.'.length) });
    if (stepId === null) continue;
    const kind = stepKind(run.spec, stepId);
    if (STEP_FINISHED.has(type)) f.stepsFinished.inc({ kind, status: type.slice('step.'.length) });
    if (type === 'step.retry_scheduled') f.stepRetries.inc({ workflow, kind });
    if (type === 'step.lease_expired') f.leaseExpiries.inc({ workflow });
    const { duration_ms: ms, attempt } = event.data as { duration_ms?: unknown; attempt?: unknown };
    const status = attemptStatus(event);
    if (status === undefined || typeof ms !== 'number') continue;
    const key = `${event.runId}\u0000${stepId}\u0000${String(attempt)}`;
    if (timed.has(key)) continue;
    timed.add(key);
    f.stepDuration.observe({ workflow, kind, status }, ms / 1000);
  }
}

/** The kind of a step, read from the run's spec snapshot (`steps.<id>.<kind>: …`); an item counts as its map step's kind. */
function stepKind(spec: unknown, stepId: string): string {
  const id = stepId.includes('[') ? stepId.slice(0, stepId.indexOf('[')) : stepId;
  const step = (spec as { steps?: Record<string, unknown> } | null)?.steps?.[id];
  if (typeof step !== 'object' || step === null) return 'unknown';
  return STEP_KINDS.find((kind) => Object.hasOwn(step, kind)) ?? 'unknown';
}
