/** A `StepContext` for calling an executor directly in a test. */
import { pino } from 'pino';
import { DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import type { StepContext } from '../../src/runtime/types.js';

export function stepContext(overrides: Partial<StepContext> = {}): StepContext {
  return {
    runId: 'run_1',
    stepId: 'step',
    attempt: 1,
    workflow: 'wf',
    signal: new AbortController().signal,
    state: undefined,
    settings: DEFAULT_EXECUTOR_SETTINGS,
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
}
