import type { StepKind } from '../spec/model.js';
import { SETTINGS_DEFAULTS } from '../spec/settings.js';
import { httpExecutor } from './http.js';
import { sleepExecutor } from './sleep.js';
import { transformExecutor } from './transform.js';
import type { ExecutorSettings, StepExecutor } from './types.js';

/** The executors a worker can run, by step kind. */
export interface ExecutorRegistry {
  /** The executor for `kind`, or undefined when this worker has none (the engine fails the step `executor_unavailable`). */
  get(kind: StepKind): StepExecutor | undefined;
  kinds(): ReadonlySet<StepKind>;
}

/** The project defaults (`agentry.yaml` `http:`), for executors run without a project. */
export const DEFAULT_EXECUTOR_SETTINGS: ExecutorSettings = Object.freeze({
  http: Object.freeze({ ...SETTINGS_DEFAULTS.http }),
  egress: Object.freeze({ mode: 'development', rules: undefined }),
});

export function createExecutorRegistry(executors: StepExecutor[]): ExecutorRegistry {
  const byKind = new Map<StepKind, StepExecutor>();
  for (const executor of executors) {
    if (byKind.has(executor.kind)) throw new Error(`two executors registered for step kind "${executor.kind}"`);
    byKind.set(executor.kind, executor);
  }
  const kinds: ReadonlySet<StepKind> = new Set(byKind.keys());
  return {
    get: (kind) => byKind.get(kind),
    kinds: () => kinds,
  };
}

/** The executors this package ships for `transform`, `sleep` and `http`. */
export function defaultExecutors(): StepExecutor[] {
  return [transformExecutor, sleepExecutor, httpExecutor];
}
