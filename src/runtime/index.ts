export type { ExecutorSettings, StepContext, StepExecutor, StepResult } from './types.js';
export { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS, type ExecutorRegistry } from './registry.js';
export { transformExecutor } from './transform.js';
export { createSleepExecutor, sleepExecutor, type SleepOptions, type SleepState } from './sleep.js';
export { createHttpExecutor, httpExecutor, parseRetryAfter, type HttpExecutorOptions, type HttpOutput } from './http.js';
export { blockedReason, type ResolvedAddress, type Resolver } from './address-policy.js';
