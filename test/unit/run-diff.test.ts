/** `diffRuns`: run and step differences as JSON Pointer paths, steps only in one run, the cap. */
import { describe, expect, it } from 'vitest';
import type { RunDetailDto, StepDto } from '../../src/app/dto/runs.js';
import { diffRuns, escapePointer } from '../../src/app/run-diff.js';

function step(id: string, fields: Partial<StepDto> = {}): StepDto {
  return {
    id,
    kind: 'transform',
    status: 'succeeded',
    attempt: 1,
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:00:01.000Z',
    duration_ms: 1000,
    available_at: null,
    output: null,
    error: null,
    meta: null,
    ...fields,
  };
}

function run(id: string, fields: Partial<RunDetailDto> = {}): RunDetailDto {
  return {
    id,
    workflow: 'shop',
    status: 'succeeded',
    input: {},
    output: null,
    error: null,
    priority: 0,
    tenant_id: 'default',
    spec_hash: 'h1',
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:00:02.000Z',
    deadline_at: null,
    updated_at: '2026-01-01T00:00:02.000Z',
    last_event_seq: 5,
    retry_of: null,
    created_by: null,
    parent: null,
    trace_id: null,
    metadata: {},
    overrides: null,
    adhoc: false,
    steps: [],
    children: [],
    usage: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
    artifacts: [],
    ...fields,
  };
}

describe('diffRuns', () => {
  it('names each changed value of the run and its steps by JSON Pointer', () => {
    const items = (price: number) => ({ items: [1, 2, 3, { price }] });
    const a = run('run_a', {
      input: { q: 'a' },
      metadata: { env: 'dev' },
      steps: [step('fetch', { output: items(10) }), step('same', { output: 1 })],
    });
    const b = run('run_b', {
      status: 'failed',
      input: { q: 'b' },
      metadata: { env: 'prod', team: 'x' },
      finished_at: '2026-01-01T00:00:05.000Z',
      steps: [step('fetch', { output: items(12), attempt: 2, duration_ms: 3000 }), step('same', { output: 1 })],
    });
    const diff = diffRuns(a, b);
    expect(diff.differences).toEqual([
      { path: '/duration_ms', before: 2000, after: 5000 },
      { path: '/input/q', before: 'a', after: 'b' },
      { path: '/metadata/env', before: 'dev', after: 'prod' },
      { path: '/metadata/team', after: 'x' },
      { path: '/status', before: 'succeeded', after: 'failed' },
      { path: '/steps/fetch/attempt', before: 1, after: 2 },
      { path: '/steps/fetch/duration_ms', before: 1000, after: 3000 },
      { path: '/steps/fetch/output/items/3/price', before: 10, after: 12 },
    ]);
    expect(diff.steps).toEqual({ only_in_a: [], only_in_b: [], changed: ['fetch'], unchanged: 1 });
    expect(diff).toMatchObject({ truncated: false, a: { id: 'run_a', status: 'succeeded' }, b: { id: 'run_b', status: 'failed' } });
  });

  it('lists the steps only one run has, with their values as removed or added', () => {
    const diff = diffRuns(run('a', { steps: [step('x'), step('old/one', { output: 1 })] }), run('b', { steps: [step('x'), step('new~', { output: 2 })] }));
    expect(diff.steps).toEqual({ only_in_a: ['old/one'], only_in_b: ['new~'], changed: [], unchanged: 1 });
    expect(diff.differences.map((c) => c.path)).toEqual(['/steps/old~1one', '/steps/new~0']);
    expect(diff.differences[0]).toMatchObject({ before: { status: 'succeeded', output: 1 } });
    expect(diff.differences[0]).not.toHaveProperty('after');
    expect(diff.differences[1]).toMatchObject({ after: { output: 2 } });
  });

  it('reports nothing for two equal runs, and a type change as one whole change', () => {
    const same = diffRuns(run('a', { output: { n: [1, { m: 2 }] } }), run('b', { output: { n: [1, { m: 2 }] } }));
    expect(same.differences).toEqual([]);
    const whole = diffRuns(run('a', { output: { n: [1] } }), run('b', { output: { n: { 0: 1 } } }));
    expect(whole.differences).toEqual([{ path: '/output/n', before: [1], after: { 0: 1 } }]);
  });

  it('stops at the limit and says so, while the step lists stay complete', () => {
    const big = (k: number) => Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i * k]));
    const diff = diffRuns(
      run('a', { steps: [step('s', { output: big(1) }), step('t', { output: 1 })] }),
      run('b', { steps: [step('s', { output: big(2) }), step('t', { output: 2 })] }),
      10,
    );
    expect(diff.differences).toHaveLength(10);
    expect(diff.truncated).toBe(true);
    expect(diff.limit).toBe(10);
    expect(diff.steps.changed).toEqual(['s', 't']);
    expect(diffRuns(run('a', { input: { x: 1 } }), run('b', { input: { x: 2 } }), 1).truncated).toBe(false);
  });

  it('escapes ~ and / in pointer tokens (RFC 6901)', () => {
    expect(escapePointer('a/b~c')).toBe('a~1b~0c');
  });
});
