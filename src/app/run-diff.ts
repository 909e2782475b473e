/**
 * The differences between two runs (`GET /v1/runs/{a}/diff/{b}`, `agentry runs diff`): the
 * run's workflow, spec, status, input, output, error, labels, overrides and duration, then step
 * by step its kind, status, attempts, output, error and duration, each difference named by an
 * RFC 6901 JSON Pointer (`/steps/fetch/output/items/3/price`). Objects are compared member by
 * member (in sorted order, so the answer is stable), arrays index by index, anything else as a
 * whole. The work is bounded: outputs are bounded when stored, and the walk stops at `limit`
 * differences (`truncated`).
 */
import type { RunDetailDto, StepDto } from './dto/runs.js';
import type { RunDiffDto } from './dto/run-diff.js';

/** Differences reported when the caller names no limit, and the most it may ask for. */
export const RUN_DIFF_LIMIT = { default: 1_000, max: 10_000 } as const;

type Change = RunDiffDto['differences'][number];

/** Thrown by the walk when the list is full; caught by `diffRuns`. */
class Full extends Error {}

/** Collects changes up to `limit`; one more makes `truncated`. */
class Changes {
  readonly items: Change[] = [];
  truncated = false;
  constructor(private readonly limit: number) {}

  push(change: Change): void {
    if (this.items.length >= this.limit) {
      this.truncated = true;
      throw new Full();
    }
    this.items.push(change);
  }
}

/** `~` → `~0`, `/` → `~1` (RFC 6901). */
export function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The differences from run `a` to run `b`, at most `limit` of them. */
export function diffRuns(a: RunDetailDto, b: RunDetailDto, limit: number = RUN_DIFF_LIMIT.default): RunDiffDto {
  const changes = new Changes(limit);
  const stepsA = new Map(a.steps.map((s) => [s.id, s]));
  const stepsB = new Map(b.steps.map((s) => [s.id, s]));
  const ids = [...stepsA.keys(), ...[...stepsB.keys()].filter((id) => !stepsA.has(id))];
  const onlyInA = ids.filter((id) => !stepsB.has(id));
  const onlyInB = ids.filter((id) => !stepsA.has(id));
  // Which steps differ is decided for every step first, so `steps` is complete even when the list of differences is cut.
  const changed = ids.filter((id) => {
    const sa = stepsA.get(id);
    const sb = stepsB.get(id);
    return sa !== undefined && sb !== undefined && !equal(stepFields(sa), stepFields(sb));
  });
  try {
    walk(runFields(a), runFields(b), '', changes);
    for (const id of ids) {
      const sa = stepsA.get(id);
      const sb = stepsB.get(id);
      walk(sa && stepFields(sa), sb && stepFields(sb), `/steps/${escapePointer(id)}`, changes);
    }
  } catch (error) {
    if (!(error instanceof Full)) throw error;
  }
  return {
    a: side(a),
    b: side(b),
    steps: { only_in_a: onlyInA, only_in_b: onlyInB, changed, unchanged: ids.length - onlyInA.length - onlyInB.length - changed.length },
    differences: changes.items,
    truncated: changes.truncated,
    limit,
  };
}

/**
 * The differences from one JSON value to another, each at a JSON Pointer below `''`, at most
 * `limit` of them (the walk `diffRuns` makes, for other states, e.g. a run's checkpoints).
 */
export function diffValues(before: unknown, after: unknown, limit: number = RUN_DIFF_LIMIT.default): { differences: Change[]; truncated: boolean } {
  const changes = new Changes(limit);
  try {
    walk(before, after, '', changes);
  } catch (error) {
    if (!(error instanceof Full)) throw error;
  }
  return { differences: changes.items, truncated: changes.truncated };
}

function side(run: RunDetailDto): RunDiffDto['a'] {
  return { id: run.id, workflow: run.workflow, status: run.status, spec_hash: run.spec_hash };
}

/** What is compared of a run (its steps apart); times as a duration, since two runs never start at the same time. */
function runFields(run: RunDetailDto): Record<string, unknown> {
  return {
    workflow: run.workflow,
    spec_hash: run.spec_hash,
    status: run.status,
    input: run.input,
    output: run.output,
    error: run.error,
    metadata: run.metadata,
    overrides: run.overrides,
    duration_ms: durationMs(run.started_at, run.finished_at),
  };
}

function stepFields(step: StepDto): Record<string, unknown> {
  return { kind: step.kind, status: step.status, attempt: step.attempt, output: step.output, error: step.error, duration_ms: step.duration_ms };
}

function durationMs(startedAt: string | null, finishedAt: string | null): number | null {
  return startedAt === null || finishedAt === null ? null : Date.parse(finishedAt) - Date.parse(startedAt);
}

function walk(before: unknown, after: unknown, path: string, changes: Changes): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) return changes.push({ path, after });
  if (after === undefined) return changes.push({ path, before });
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) walk(before[i], after[i], `${path}/${i}`, changes);
    return;
  }
  if (isObject(before) && isObject(after)) {
    for (const key of keysOf(before, after)) walk(before[key], after[key], `${path}/${escapePointer(key)}`, changes);
    return;
  }
  if (!equal(before, after)) changes.push({ path, before, after });
}

function keysOf(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values (an `undefined` member counts as absent). */
function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (isObject(a) && isObject(b)) return keysOf(a, b).every((k) => equal(a[k], b[k]));
  if (typeof a === 'object' && a !== null) return false;
  if (typeof b === 'object' && b !== null) return false;
  return a === b;
}
