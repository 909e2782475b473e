/**
 * What an `Engine` is built with: its options, its settings with their defaults (the defaults
 * `agentry config` documents), and the roles `start()` can run in a process.
 */
import type { Logger } from 'pino';
import type { Redactor } from '../lib/redact.js';
import type { ExecutorRegistry } from '../runtime/registry.js';
import type { ExecutorSettings } from '../runtime/types.js';
import type { LimitsSettings } from '../spec/limits.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import type { MaintenanceTask, ScheduleObserver } from './scheduler.js';

export interface EngineSettings {
  /** Attempts run at once by this process's worker pool. */
  concurrency: number;
  leaseTtlMs: number;
  /** Longest a worker sleeps before looking for due work; also the sweep interval. */
  pollIntervalMs: number;
  /** How long `stop()` lets running attempts finish before aborting them. */
  shutdownGraceMs: number;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = {
  concurrency: 10,
  leaseTtlMs: 30_000,
  pollIntervalMs: 1_000,
  shutdownGraceMs: 10_000,
};

export interface EngineOptions {
  store: Store;
  workflows: ReadonlyMap<string, CompiledWorkflow>;
  executors: ExecutorRegistry;
  executorSettings: ExecutorSettings;
  logger: Logger;
  settings?: Partial<EngineSettings>;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  workerId?: string;
  /** Masks secrets in everything the engine stores (default: the workflows' secret env values only). */
  redactor?: Redactor;
  /** What this engine's scheduler also does now and then (the audit log's and the runs' retention); see `MaintenanceTask`. */
  maintenance?: readonly MaintenanceTask[];
  /** The deployment's tenant (`AGENTRY_TENANT`): of runs started without one and of schedules without `tenant:`. Default `default`. */
  tenant?: string;
  /**
   * The project's `limits:` (`ProjectSettings.limits`): its tenants' run quotas are checked
   * when a run is started (API, CLI, schedule, retry; not a child run). Default: the built-in ones.
   */
  limits?: LimitsSettings;
  /**
   * Log each run's story from the transactions this engine commits: run started and ended,
   * step failures, retries, lease expiries (`run-log.ts`). Default true; the CLI's local
   * commands, which print what happened themselves, turn it off.
   */
  logRuns?: boolean;
  /** Told how this engine's scheduler handles schedule ticks (the process's metrics). */
  scheduleObserver?: ScheduleObserver;
}

/** What `start()` runs in this process: the worker pool, the scheduler's sweeps, or both. */
export const ENGINE_ROLES = ['worker', 'scheduler'] as const;
export type EngineRole = (typeof ENGINE_ROLES)[number];
