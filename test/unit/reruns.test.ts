/** Which steps a re-run reuses (`planReuse`) and the structural diff of attempt values (`diffValues`). */
import { describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { diffValues, planReuse } from '../../src/engine/reruns.js';
import { compileWorkflow } from '../../src/spec/index.js';
import type { StepRecord, StepStatus } from '../../src/types.js';

const KINDS = new Set(['transform', 'http', 'sleep'] as const);

/**
 *   a ─ b ─ c ─ d
 *    ╲
 *     e ─ f        (g: on its own)
 */
const wf = compileWorkflow(
  {
    name: 'graph',
    steps: {
      a: { transform: 1 },
      b: { needs: ['a'], transform: 2 },
      c: { needs: ['b'], transform: 3 },
      d: { needs: ['c'], transform: 4 },
      e: { needs: ['a'], transform: 5 },
      f: { transform: '{{ steps.e.output }}' },
      g: { transform: 7 },
    },
  },
  { availableKinds: KINDS },
);

function step(stepId: string, status: StepStatus, extra: Partial<StepRecord> = {}): StepRecord {
  return {
    runId: 'run_old',
    stepId,
    kind: 'transform',
    status,
    attempt: status === 'pending' ? 0 : 1,
    availableAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    input: null,
    output: { of: stepId },
    error: null,
    state: null,
    meta: null,
    parentStep: null,
    itemIndex: null,
    item: null,
    startedAt: 1,
    finishedAt: 2,
    updatedAt: 2,
    ...extra,
  };
}

const allSucceeded = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => step(id, 'succeeded'));
const ids = (reuse: Map<string, StepRecord>): string[] => [...reuse.keys()].sort();

describe('planReuse without a step (retry from the failed step)', () => {
  it('reuses the steps that succeeded or were skipped, with their records', () => {
    const old = [
      step('a', 'succeeded'),
      step('b', 'skipped'),
      step('c', 'failed'),
      step('d', 'pending'),
      step('e', 'succeeded'),
      step('f', 'succeeded'),
      step('g', 'cancelled'),
    ];
    const reuse = planReuse(wf, old);
    expect(ids(reuse)).toEqual(['a', 'b', 'e', 'f']);
    expect(reuse.get('e')).toBe(old[4]);
  });

  it('does not reuse a step whose dependency runs again, even if it succeeded', () => {
    // b was cancelled, so it runs again: c and d were computed from its old output and run again too.
    const old = [
      step('a', 'succeeded'),
      step('b', 'cancelled'),
      step('c', 'succeeded'),
      step('d', 'succeeded'),
      step('e', 'succeeded'),
      step('f', 'succeeded'),
      step('g', 'succeeded'),
    ];
    expect(ids(planReuse(wf, old))).toEqual(['a', 'e', 'f', 'g']);
  });

  it('ignores for_each items and steps the old run does not have', () => {
    const old = [step('a', 'succeeded'), step('b[0]', 'succeeded', { parentStep: 'b', itemIndex: 0 })];
    expect(ids(planReuse(wf, old))).toEqual(['a']);
  });
});

describe('planReuse from a step (re-run from any step)', () => {
  it('runs the step and everything downstream of it again, and reuses the rest', () => {
    expect(ids(planReuse(wf, allSucceeded, 'b'))).toEqual(['a', 'e', 'f', 'g']);
    expect(ids(planReuse(wf, allSucceeded, 'e'))).toEqual(['a', 'b', 'c', 'd', 'g']);
    expect(ids(planReuse(wf, allSucceeded, 'd'))).toEqual(['a', 'b', 'c', 'e', 'f', 'g']);
  });

  it('runs everything that depends on the first step when re-running from it', () => {
    expect(ids(planReuse(wf, allSucceeded, 'a'))).toEqual(['g']);
  });

  it('still runs a step upstream of it that had not succeeded, and what depends on that', () => {
    const old = allSucceeded.map((s) => (s.stepId === 'a' ? step('a', 'failed') : s));
    expect(ids(planReuse(wf, old, 'd'))).toEqual(['g']);
  });

  it('refuses an unknown step as invalid_request, suggesting the closest one', () => {
    let error: unknown;
    try {
      planReuse(wf, allSucceeded, 'bb');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining("did you mean 'b'") });
  });
});

describe('diffValues', () => {
  it('finds nothing between equal values', () => {
    expect(diffValues({ a: [1, { b: null }], c: 'x' }, { c: 'x', a: [1, { b: null }] })).toEqual([]);
    expect(diffValues(null, null)).toEqual([]);
  });

  it('reports changed, added and removed members with JSON Pointer paths, keys sorted', () => {
    expect(diffValues({ z: 1, a: { b: 1, gone: true }, list: [1, 2, 3] }, { z: 2, a: { b: 1, new: 'x' }, list: [1, 5] })).toEqual([
      { path: '/a/gone', before: true },
      { path: '/a/new', after: 'x' },
      { path: '/list/1', before: 2, after: 5 },
      { path: '/list/2', before: 3 },
      { path: '/z', before: 1, after: 2 },
    ]);
  });

  it('treats a change of type as a change of the whole value', () => {
    expect(diffValues({ a: { b: 1 } }, { a: [1] })).toEqual([{ path: '/a', before: { b: 1 }, after: [1] }]);
    expect(diffValues({ a: null }, { a: {} })).toEqual([{ path: '/a', before: null, after: {} }]);
    expect(diffValues('x', { x: 1 })).toEqual([{ path: '', before: 'x', after: { x: 1 } }]);
  });

  it('keeps null as a value and treats undefined as absent', () => {
    expect(diffValues({ a: null }, { a: undefined })).toEqual([{ path: '/a', before: null }]);
    expect(diffValues(undefined, { a: 1 })).toEqual([{ path: '', after: { a: 1 } }]);
  });

  it('escapes ~ and / in member names as RFC 6901 says', () => {
    expect(diffValues({ 'a/b': 1, 'c~d': 1 }, { 'a/b': 2, 'c~d': 2 }).map((c) => c.path)).toEqual(['/a~1b', '/c~0d']);
  });
});
