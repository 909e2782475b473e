/**
 * Agentry as a library: load a project, open its store and run workflows durably from your
 * own process. The CLI (`agentry`) and the HTTP server are built on the same calls.
 *
 * ```ts
 * import { createLogger, loadConfig, openAgentry, redactorFor } from 'agentry';
 *
 * const config = loadConfig({ flags: { projectDir: './my-project' } });
 * const redactor = redactorFor(config); // masks secrets in logs; openAgentry adds the project's
 * const agentry = await openAgentry(config, { logger: createLogger({ level: config.logLevel, redactor }), redactor });
 * try {
 *   await agentry.engine.start(); // worker pool + scheduler in this process
 *   const run = await agentry.engine.startRun('hello', { name: 'Ada' });
 *   const done = await agentry.engine.waitForRun(run.id, { timeoutMs: 60_000 });
 *   console.log(done.status, done.output);
 * } finally {
 *   await agentry.close(); // stops the engine gracefully, closes the store
 * }
 * ```
 *
 * The HTTP API in your own server, under a prefix (`createAgentryHandler`, see `docs/embedding.md`):
 *
 * ```ts
 * const api = await createAgentryHandler({ projectDir: './my-project', prefix: '/agentry' });
 * createServer((req, res) => (api.matches(req.url) ? api.handle(req, res) : myApp(req, res))).listen(3000);
 * ```
 *
 * Errors are `AgentryError`s with a stable `code` (see `docs/errors.md`).
 */
export { openAgentry, loadProjectOrThrow, openStore, type Agentry, type OpenOptions, type Project } from './app/bootstrap.js';
export { loadConfig, type Config, type LoadConfigOptions } from './app/config.js';
export { CONFIG_OPTIONS, type ConfigFlags } from './app/config-options.js';
export { maskSecrets, Redactor, PII_PATTERNS, type PiiPattern, type RedactorOptions } from './lib/redact.js';
export { redactorFor } from './app/secrets.js';
export { createAgentryHandler, type AgentryHandler, type AgentryHandlerOptions } from './server/embed.js';
export { Engine, DEFAULT_ENGINE_SETTINGS, type EngineOptions, type EngineSettings, type WaitOptions } from './engine/engine.js';
export { AgentryError, ERROR_CODES, isErrorCode, toAgentryError, type ErrorCode, type ErrorInfo } from './lib/errors.js';
export { createLogger, type Logger, type LoggerOptions, type LogLevel } from './obs/logger.js';
export { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS, type ExecutorRegistry } from './runtime/registry.js';
export type { ExecutorSettings, StepContext, StepExecutor, StepResult } from './runtime/types.js';
export { formatDiagnostic, loadProject, type Diagnostic } from './spec/index.js';
export type { CompiledWorkflow } from './spec/model.js';
export { openSqliteStore } from './store/sqlite.js';
export type { Store } from './store/store.js';
export {
  RUN_STATUSES,
  STEP_STATUSES,
  EVENT_TYPES,
  type AttemptRecord,
  type EventRecord,
  type EventType,
  type RunRecord,
  type RunStatus,
  type StepRecord,
  type StepStatus,
} from './types.js';
