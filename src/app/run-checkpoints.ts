/**
 * A run's checkpoints (`GET /v1/runs/{id}/checkpoints`, `agentry runs checkpoints`): every
 * recorded change of its state — each `run.*` and `step.*` event, named by its sequence number —
 * and the run's state at any of them, rebuilt from the events up to it, so two checkpoints can be
 * compared with the run diff's walk (`diffValues`) to find the one where things went wrong.
 *
 * What is exact: statuses and attempt numbers (each change is an event); errors (events carry
 * them, redacted as stored); a step's output at its `step.succeeded` (from the attempt the event
 * names, in the attempts table, so a retried step shows the output of the attempt that succeeded
 * then). Where no attempt row exists — a `for_each` parent, a step reused from the run a retry
 * started from — the step's stored output is used: a step succeeds at most once in a run, so it
 * is the output it had from that checkpoint on. The run's output is its stored one from
 * `run.succeeded` on. Events removed by retention (`AGENTRY_RETENTION_EVENTS`) leave no checkpoint.
 */
import { AgentryError } from '../lib/errors.js';
import type { AttemptRecord, EventRecord, RunRecord, StepRecord } from '../types.js';
import type { Store } from '../store/store.js';
import type { CheckpointDiffDto, CheckpointDto, CheckpointPageDto } from './dto/checkpoints.js';
import { iso } from './dto/common.js';
import { diffValues } from './run-diff.js';

/** Events read per query while rebuilding a state. */
const EVENT_BATCH = 1_000;

/** A change of a run's state: an event about the run or one of its steps. */
export function isCheckpoint(event: Pick<EventRecord, 'type'>): boolean {
  return event.type.startsWith('run.') || event.type.startsWith('step.');
}

function attemptOf(event: EventRecord): number | null {
  const attempt = event.data.attempt;
  return typeof attempt === 'number' ? attempt : null;
}

export function checkpointDto(event: EventRecord): CheckpointDto {
  return { seq: event.seq, type: event.type, step_id: event.stepId, attempt: attemptOf(event), at: iso(event.at) };
}

/** A page of the run's checkpoints after seq `after` (at most `limit`, read from at most `limit` events). */
export async function listCheckpoints(store: Pick<Store, 'listEvents'>, runId: string, after: number, limit: number): Promise<CheckpointPageDto> {
  const events = await store.listEvents(runId, after, limit);
  const last = events.at(-1);
  return { run_id: runId, items: events.filter(isCheckpoint).map(checkpointDto), next_after: events.length === limit && last ? last.seq : null };
}

interface StepState {
  status: string;
  attempt: number;
  output: unknown;
  error: unknown;
}

interface RunState {
  status: string;
  output: unknown;
  error: unknown;
  steps: Record<string, StepState>;
}

/** What the rebuild reads besides the events: the run and its steps as stored now, and every attempt. */
interface Stored {
  run: RunRecord;
  steps: readonly StepRecord[];
  attempts: readonly AttemptRecord[];
}

/** Rebuilds the run's state after each checkpoint, in order; `at(seq)` answers the state after that event. */
class StateReplay {
  private readonly state: RunState;
  private readonly outputs = new Map<string, unknown>();
  private readonly stored = new Map<string, StepRecord>();

  constructor(private readonly source: Stored) {
    for (const a of source.attempts) this.outputs.set(`${a.stepId}#${a.attempt}`, a.output);
    for (const s of source.steps) this.stored.set(s.stepId, s);
    const steps: Record<string, StepState> = {};
    for (const s of source.steps) steps[s.stepId] = { status: 'pending', attempt: 0, output: null, error: null };
    this.state = { status: 'queued', output: null, error: null, steps };
  }

  /** The state as it is now, as a plain value. */
  snapshot(): RunState {
    return structuredClone(this.state);
  }

  apply(event: EventRecord): void {
    if (event.type.startsWith('run.')) return this.applyRun(event);
    if (event.stepId === null || !event.type.startsWith('step.')) return;
    const step = (this.state.steps[event.stepId] ??= { status: 'pending', attempt: 0, output: null, error: null });
    const attempt = attemptOf(event) ?? step.attempt;
    switch (event.type) {
      case 'step.queued':
      case 'step.released':
        step.status = 'queued';
        break;
      case 'step.started':
        Object.assign(step, { status: 'running', attempt });
        break;
      case 'step.waiting':
        Object.assign(step, { status: 'waiting', attempt });
        break;
      case 'step.retry_scheduled':
        Object.assign(step, { status: 'queued', attempt, error: event.data.error ?? null });
        break;
      case 'step.failed':
        Object.assign(step, { status: 'failed', attempt, error: event.data.error ?? null });
        break;
      case 'step.succeeded':
        Object.assign(step, { status: 'succeeded', attempt, error: null, output: this.outputOf(event.stepId, attempt) });
        break;
      case 'step.skipped':
        step.status = 'skipped';
        break;
      case 'step.cancelled':
        step.status = 'cancelled';
        break;
      case 'step.reused': {
        const row = this.stored.get(event.stepId);
        const status = typeof event.data.status === 'string' ? event.data.status : (row?.status ?? 'succeeded');
        Object.assign(step, { status, attempt: row?.attempt ?? 0 });
        Object.assign(step, { output: row?.output ?? null, error: row?.error ?? null });
        break;
      }
      default:
        // step.lease_expired: the step's change is the event that follows it.
        break;
    }
  }

  private applyRun(event: EventRecord): void {
    const { run } = this.source;
    switch (event.type) {
      case 'run.created':
        this.state.status = 'queued';
        break;
      case 'run.started':
      case 'run.resumed':
        this.state.status = 'running';
        break;
      case 'run.waiting':
        this.state.status = 'waiting';
        break;
      case 'run.succeeded':
        Object.assign(this.state, { status: 'succeeded', output: run.output ?? null, error: null });
        break;
      case 'run.failed':
      case 'run.cancelled':
      case 'run.timed_out':
        Object.assign(this.state, { status: event.type.slice('run.'.length), error: event.data.error ?? run.error ?? null });
        break;
      default:
        // run.blocked: still queued, behind the workflow's concurrency limit.
        break;
    }
  }

  /** The output of the attempt that succeeded; the step's stored output where no attempt row exists. */
  private outputOf(stepId: string, attempt: number): unknown {
    const key = `${stepId}#${attempt}`;
    if (this.outputs.has(key)) return this.outputs.get(key) ?? null;
    return this.stored.get(stepId)?.output ?? null;
  }
}

/**
 * What changed in the run's state from checkpoint `from` to checkpoint `to` (both seqs of its
 * checkpoints; `from` ≤ `to`), at most `limit` differences. `not_found` names an unknown one.
 */
export async function diffCheckpoints(
  store: Pick<Store, 'listEvents' | 'listAttempts'>,
  source: Omit<Stored, 'attempts'>,
  from: number,
  to: number,
  limit: number,
): Promise<CheckpointDiffDto> {
  if (from > to) throw new AgentryError('invalid_request', `from (${from}) is after to (${to}): give the earlier checkpoint first`);
  const replay = new StateReplay({ ...source, attempts: await store.listAttempts(source.run.id) });
  let before: { event: EventRecord; state: RunState } | undefined;
  let after: { event: EventRecord; state: RunState } | undefined;
  let seq = 0;
  while (after === undefined) {
    const events = await store.listEvents(source.run.id, seq, EVENT_BATCH);
    for (const event of events) {
      if (event.seq > to) break;
      replay.apply(event);
      if (event.seq === from && isCheckpoint(event)) before = { event, state: replay.snapshot() };
      if (event.seq === to && isCheckpoint(event)) after = { event, state: replay.snapshot() };
    }
    const last = events.at(-1);
    if (last === undefined || last.seq >= to || events.length < EVENT_BATCH) break;
    seq = last.seq;
  }
  const missing = [before === undefined ? from : undefined, after === undefined ? to : undefined].filter((n) => n !== undefined);
  if (before === undefined || after === undefined) {
    throw new AgentryError(
      'not_found',
      `run ${source.run.id} has no checkpoint ${[...new Set(missing)].join(' or ')}: list them with GET /v1/runs/${source.run.id}/checkpoints`,
    );
  }
  const { differences, truncated } = diffValues(before.state, after.state, limit);
  return { run_id: source.run.id, from: checkpointDto(before.event), to: checkpointDto(after.event), differences, truncated, limit };
}
