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
 * (`topLevelStepsSinceQuery`), and a step whose row differs otherwise (another process's clock
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

interface CachedStep {
  /** The row's plain columns when its JSON was taken (`stepVersion`). */
  version: string;
  json: StepJson;
}

export interface CachedRun {
  spec: unknown;
  input: unknown;
  steps: Map<string, CachedStep>;
  /** The latest `updated_at` of the run's top-level steps as last seen here. */
  knownAt: number;
}

/** The plain columns of a step that every change of its JSON columns comes with. */
export function stepVersion(step: Pick<StepRecord, 'updatedAt' | 'status' | 'attempt' | 'availableAt' | 'leaseOwner' | 'startedAt' | 'finishedAt'>): string {
  return `${step.updatedAt}|${step.status}|${step.attempt}|${step.availableAt}|${step.leaseOwner}|${step.startedAt}|${step.finishedAt}`;
}

const jsonOf = (step: StepRecord): StepJson => ({ input: step.input, output: step.output, error: step.error, state: step.state, meta: step.meta });

/** A value as writing it as JSON and reading it back gives it (what a later read of the row would return). */
function asStored<T>(value: T): T {
  if (value === null || value === undefined || typeof value !== 'object') return (value === undefined ? null : value) as T;
  return JSON.parse(JSON.stringify(value)) as T;
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

  /** The step's JSON as kept, when `step` (its plain columns as just read) is the row it was taken from. */
  stepJson(cached: CachedRun, step: StepRecord): StepJson | undefined {
    const kept = cached.steps.get(step.stepId);
    return kept && kept.version === stepVersion(step) ? kept.json : undefined;
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
    let knownAt = -Infinity;
    const byId = new Map<string, CachedStep>();
    for (const step of steps) {
      if (step.parentStep !== null) continue;
      byId.set(step.stepId, { version: stepVersion(step), json: jsonOf(step) });
      if (step.updatedAt > knownAt) knownAt = step.updatedAt;
    }
    this.put(run.id, { spec: run.spec, input: run.input, steps: byId, knownAt: byId.size > 0 ? knownAt : -Infinity });
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

/** A step as reading its row back would give it: its JSON columns written and parsed again. */
export function storedStep(step: StepRecord, columns: ReadonlySet<StepJsonColumn>): StepRecord {
  const copy = { ...step };
  for (const column of columns) (copy as Record<StepJsonColumn, unknown>)[column] = asStored(step[column]);
  return copy;
}

/**
 * The rows of `topLevelStepsSinceQuery` as records: the JSON columns of the steps that did not
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
    const json = cache.stepJson(cached, entry.step);
    if (json) entry.step = { ...entry.step, ...json };
    else missing.push(entry);
  });
  if (missing.length > 0) {
    const columns = await steps.stepsJson(
      trx,
      runId,
      missing.map((entry) => entry.step.stepId),
    );
    for (const entry of missing) {
      const row = columns.get(entry.step.stepId);
      if (row) entry.step = { ...entry.step, ...steps.stepJsonFromRow(row) };
    }
  }
  return found;
}
