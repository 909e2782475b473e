/**
 * What a store keeps of a run between its transactions, so that the next transaction of the
 * same run in this process neither reads nor parses again the JSON it already has: the run's
 * `spec` and `input` (never changed once the run exists) and its top-level steps' JSON columns
 * (`input`, `output`, `error`, `state`, `meta`) as they were when this process last committed
 * or read them.
 *
 * A step's JSON is taken from here only when its row still says what it said then: the same
 * `updated_at`, status, attempt, due time, lease owner, start and end. Every change of a step
 * sets `updated_at`; a step changed since the run's last known change (`knownAt`, the latest
 * `updated_at` of its steps seen here) comes back with its JSON in the same statement
 * (`topLevelStepsOfRunsQuery`), and a step whose row differs otherwise (another process's clock
 * behind this one's) is read again on its own. What is kept is only ever what a committed
 * transaction wrote or read, parsed from JSON as a read would have given it.
 *
 * Bounded: the most recently used `MAX_CACHED_RUNS` runs; a run that ended is dropped.
 */
import { TERMINAL_RUN_STATUSES, type RunRecord, type StepRecord } from '../types.js';
import type { Db } from './sql/dialect.js';
import * as steps from './sql/steps.js';

const MAX_CACHED_RUNS = 1000;

/** The JSON columns of a step row. */
export type StepJson = Pick<StepRecord, 'input' | 'output' | 'error' | 'state' | 'meta'>;
export type StepJsonColumn = keyof StepJson;
export const STEP_JSON_COLUMNS: readonly StepJsonColumn[] = ['input', 'output', 'error', 'state', 'meta'];

export interface CachedRun {
  spec: unknown;
  input: unknown;
  /** Each top-level step as last seen here (its JSON as stored), by id. */
  steps: Map<string, StepRecord>;
  /** The latest `updated_at` of the run's top-level steps as last seen here. */
  knownAt: number;
}

/** Whether `read` (a step's plain columns as just read) is the row `kept` was: every change of a step's JSON comes with one of these. */
function sameRow(kept: StepRecord, read: StepRecord): boolean {
  return (
    kept.updatedAt === read.updatedAt &&
    kept.status === read.status &&
    kept.attempt === read.attempt &&
    kept.availableAt === read.availableAt &&
    kept.leaseOwner === read.leaseOwner &&
    kept.startedAt === read.startedAt &&
    kept.finishedAt === read.finishedAt
  );
}

export class RunCache {
  private readonly runs = new Map<string, CachedRun>();

  constructor(private readonly max = MAX_CACHED_RUNS) {}

  get(runId: string): CachedRun | undefined {
    const cached = this.runs.get(runId);
    if (cached) {
      // Most recently used last.
      this.runs.delete(runId);
      this.runs.set(runId, cached);
    }
    return cached;
  }

  /** Gives `step` (its plain columns as just read) the JSON kept of it, when it is the row that JSON was taken from; false when not. */
  fillJson(cached: CachedRun, step: StepRecord): boolean {
    const kept = cached.steps.get(step.stepId);
    if (!kept || !sameRow(kept, step)) return false;
    step.input = kept.input;
    step.output = kept.output;
    step.error = kept.error;
    step.state = kept.state;
    step.meta = kept.meta;
    return true;
  }

  /**
   * Keeps what a committed transaction left: the run (dropped once it ended) and its top-level
   * steps (`steps`, their JSON as stored). `steps` undefined: the transaction did not read them.
   */
  remember(run: RunRecord, steps: readonly StepRecord[] | undefined): void {
    if (TERMINAL_RUN_STATUSES.has(run.status)) {
      this.runs.delete(run.id);
      return;
    }
    const kept = this.runs.get(run.id);
    if (!steps) {
      if (!kept) this.put(run.id, { spec: run.spec, input: run.input, steps: new Map(), knownAt: -Infinity });
      return;
    }
    const byId = kept?.steps ?? new Map<string, StepRecord>();
    let knownAt = -Infinity;
    for (const step of steps) {
      byId.set(step.stepId, step);
      if (step.updatedAt > knownAt) knownAt = step.updatedAt;
    }
    if (kept) {
      kept.knownAt = knownAt;
      this.get(run.id);
    } else this.put(run.id, { spec: run.spec, input: run.input, steps: byId, knownAt });
  }

  forget(runId: string): void {
    this.runs.delete(runId);
  }

  private put(runId: string, cached: CachedRun): void {
    this.runs.delete(runId);
    if (this.runs.size >= this.max) this.runs.delete(this.runs.keys().next().value!);
    this.runs.set(runId, cached);
  }
}

/** A value as writing it as JSON and reading it back gives it (what a later read of the row would return). */
function asStored<T>(value: T): T {
  if (value === null || value === undefined || typeof value !== 'object') return (value === undefined ? null : value) as T;
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A step as reading its row back would give it: its JSON columns written and parsed again. */
export function storedStep(step: StepRecord, columns: ReadonlySet<StepJsonColumn>): StepRecord {
  const copy = { ...step };
  for (const column of columns) (copy as Record<StepJsonColumn, unknown>)[column] = asStored(step[column]);
  return copy;
}

/**
 * The rows of `topLevelStepsOfRunsQuery` as records: the JSON columns of the steps that did not
 * change since they were kept taken from `cached`, those of any other step read again.
 */
export async function stepsWithKeptJson(
  trx: Db,
  runId: string,
  read: readonly Record<string, unknown>[],
  cache: RunCache,
  cached: CachedRun,
): Promise<steps.StepWithAttempt[]> {
  const found = steps.stepsWithAttempts(read);
  const missing: steps.StepWithAttempt[] = [];
  found.forEach((entry, i) => {
    if (Number(read[i]!.has_json) === 1) return;
    if (!cache.fillJson(cached, entry.step)) missing.push(entry);
  });
  if (missing.length > 0) {
    const columns = await steps.stepsJson(
      trx,
      runId,
      missing.map((entry) => entry.step.stepId),
    );
    for (const entry of missing) {
      const row = columns.get(entry.step.stepId);
      if (row) Object.assign(entry.step, steps.stepJsonFromRow(row));
    }
  }
  return found;
}
