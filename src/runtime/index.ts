export type { StepContext } from './types.js';
export { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from './registry.js';
export { transformExecutor } from './transform.js';
export { createSleepExecutor } from './sleep.js';
export { createHttpExecutor, httpExecutor } from './http.js';
export type { Resolver } from '../lib/egress-connector.js';
