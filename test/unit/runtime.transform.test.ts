import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EXECUTOR_SETTINGS, transformExecutor, type StepContext } from '../../src/runtime/index.js';

const ctx: StepContext = {
  runId: 'run_1',
  stepId: 'shape',
  attempt: 1,
  workflow: 'wf',
  signal: new AbortController().signal,
  state: undefined,
  settings: DEFAULT_EXECUTOR_SETTINGS,
  logger: pino({ level: 'silent' }),
};

describe('transform executor', () => {
  it.each([{ summary: 'ok', items: [1, 2] }, 'plain text', 42, null, [true]])('returns the rendered config %j as the output', async (config) => {
    await expect(transformExecutor.execute(config, ctx)).resolves.toEqual({ kind: 'output', output: config });
  });

  it('is registered for the transform kind', () => {
    expect(transformExecutor.kind).toBe('transform');
  });
});
