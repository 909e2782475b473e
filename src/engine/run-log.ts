/**
 * A run's story in the log, told once: from the events of each transaction this process
 * committed (`Engine.onCommitted`), so every ending is logged exactly once across a cluster,
 * by the process that made it — `run started` in the API process (inside the request, so with
 * its `request_id`), step failures, retries and run endings in the worker, lease expiries and
 * timeouts in the scheduler. One line per ending, never one per event: the steps a run's end
 * cancelled are listed on its line. Levels, fields and examples: docs/operations/logging.md.
 */
import type { Logger } from 'pino';
import type { ErrorInfo } from '../lib/errors.js';
import { isItemStepId, type RunRecord } from '../types.js';
import type { CommittedEvent } from './context.js';

/** Longest error message logged (the rest is cut: a tool's or a server's answer can be long). */
const MAX_MESSAGE = 1_000;
/** Most cancelled steps named on a run's line (their count is always given). */
const MAX_LISTED_STEPS = 20;

type Fields = Record<string, unknown>;

function clip(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE)}…`;
}

/** `code` and `message` of an event's `error` (already redacted: events are stored redacted). */
function errorFields(error: unknown): Fields {
  if (typeof error !== 'object' || error === null) return {};
  const { code, message } = error as Partial<ErrorInfo>;
  return { ...(typeof code === 'string' ? { code } : {}), ...(typeof message === 'string' ? { message: clip(message) } : {}) };
}

/** What every line about a run names: the run, its workflow and tenant, and its parent run if it is a child. */
function runFields(run: RunRecord): Fields {
  return {
    run_id: run.id,
    workflow: run.workflow,
    tenant_id: run.tenantId,
    ...(run.parentRunId === null ? {} : { parent_run_id: run.parentRunId, parent_step_id: run.parentStepId }),
  };
}

const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** What the events of one run in this transaction said before its end: the step that failed it, the steps it cancelled. */
interface RunEnding {
  failed?: { stepId: string; attempt: number | undefined };
  cancelled: string[];
}

/** Logs the story lines of one committed transaction's events. */
export function logCommitted(logger: Logger, events: readonly CommittedEvent[]): void {
  let endings: Map<string, RunEnding> | undefined;
  const endingOf = (runId: string): RunEnding => {
    endings ??= new Map();
    let ending = endings.get(runId);
    if (!ending) endings.set(runId, (ending = { cancelled: [] }));
    return ending;
  };
  for (const { event, run } of events) {
    const { type, data, stepId } = event;
    switch (type) {
      case 'run.created':
        logger.info(
          {
            event: type,
            ...runFields(run),
            priority: run.priority,
            ...(run.createdBy === null ? {} : { created_by: run.createdBy }),
            ...(run.retryOf === null ? {} : { retry_of: run.retryOf }),
          },
          'run started',
        );
        break;
      case 'run.succeeded':
        logger.info({ event: type, ...runFields(run), status: 'succeeded', duration_ms: number(data.duration_ms) }, 'run succeeded');
        break;
      case 'run.failed':
      case 'run.timed_out':
      case 'run.cancelled': {
        const ending = endings?.get(run.id);
        const fields: Fields = {
          event: type,
          ...runFields(run),
          status: run.status,
          ...(ending?.failed ? { step_id: ending.failed.stepId, attempt: ending.failed.attempt } : {}),
          ...errorFields(data.error),
          duration_ms: event.at - run.createdAt,
          ...(ending && ending.cancelled.length > 0
            ? { cancelled_steps: ending.cancelled.slice(0, MAX_LISTED_STEPS), cancelled_step_count: ending.cancelled.length }
            : {}),
        };
        // Cancelling is someone's decision (or its parent's end), not a fault.
        if (type === 'run.cancelled') logger.warn(fields, 'run cancelled');
        else logger.error(fields, type === 'run.failed' ? 'run failed' : 'run timed out');
        break;
      }
      case 'step.cancelled':
        if (stepId !== null) endingOf(run.id).cancelled.push(stepId);
        break;
      case 'step.failed': {
        if (stepId === null) break;
        const attempt = number(data.attempt);
        if (!isItemStepId(stepId)) endingOf(run.id).failed = { stepId, attempt };
        const fields = { event: type, ...runFields(run), step_id: stepId, attempt, ...errorFields(data.error) };
        // An item's failure fails its run only through its `for_each` step, which has its own line.
        if (isItemStepId(stepId)) logger.warn(fields, 'step failed');
        else logger.error(fields, 'step failed');
        break;
      }
      case 'step.retry_scheduled':
        logger.warn(
          {
            event: type,
            ...runFields(run),
            step_id: stepId,
            attempt: number(data.attempt),
            ...errorFields(data.error),
            next_attempt: number(data.next_attempt),
            retry_at: data.at,
          },
          'step attempt failed; retry scheduled',
        );
        break;
      case 'step.lease_expired':
        logger.warn(
          { event: type, ...runFields(run), step_id: stepId, attempt: number(data.attempt), worker: data.worker },
          'step lease expired: its worker stopped renewing it',
        );
        break;
      default:
        break;
    }
  }
}
