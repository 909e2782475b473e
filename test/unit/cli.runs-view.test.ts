import { describe, expect, it } from 'vitest';
import { eventCells, runDetailText } from '../../src/cli/runs-view.js';
import type { EventDto, RunDetailDto } from '../../src/cli/runs-api.js';

const at = '2026-11-27T10:00:00.000Z';
const step = (id: string, attempt: number) => ({
  id,
  kind: 'transform',
  status: 'succeeded' as const,
  attempt,
  started_at: at,
  finished_at: at,
  duration_ms: 5,
  available_at: null,
  output: { id },
  error: null,
  meta: null,
});
const run = {
  id: 'run_b',
  workflow: 'w',
  status: 'succeeded',
  input: {},
  output: 1,
  error: null,
  priority: 0,
  created_at: at,
  started_at: at,
  finished_at: at,
  deadline_at: null,
  retry_of: 'run_a',
  parent: { run_id: 'run_p', step_id: 'sub' },
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  children: [{ id: 'run_c', workflow: 'child', status: 'succeeded', step_id: 'kid' }],
  steps: [step('early', 0), step('late', 1)],
  usage: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
} as unknown as RunDetailDto;
const reused: EventDto = { seq: 2, type: 'step.reused', step_id: 'early', at, data: { from_run: 'run_a' } };

describe('runDetailText', () => {
  it('shows what the run re-runs, its parent and children, its trace, and which steps were reused', () => {
    const text = runDetailText({ color: false }, run, [reused]);
    expect(text).toContain('re-runs run_a');
    expect(text).toContain('parent  run_p (step sub)');
    expect(text).toContain('trace   4bf92f3577b34da6a3ce929d0e0e4736');
    expect(text).toMatch(/child {3}run_c {2}child {2}✓ succeeded {2}\(step kid\)/);
    expect(text).toMatch(/early\s+transform\s+✓ succeeded\s+reused/);
    expect(text).toMatch(/late\s+transform\s+✓ succeeded\s+1\s/);
  });
});

describe('eventCells', () => {
  it('names the guardrail of a step.guardrail event: side, position, check and action (the event holds nothing else)', () => {
    const event: EventDto = {
      seq: 7,
      type: 'step.guardrail',
      step_id: 'answer',
      at,
      data: { attempt: 1, agent: 'support', phase: 'output', index: 1, check: 'pii', action: 'redact' },
    };
    expect(eventCells(event).slice(2)).toEqual(['step.guardrail', 'answer', 'attempt 1 · guardrail output[1] pii: redact']);
  });
});
