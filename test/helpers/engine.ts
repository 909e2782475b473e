/** An engine on a fresh store, with workflows given as plain spec objects. */
import pino, { type Logger } from 'pino';
import { Engine, type EngineSettings } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { compileWorkflow } from '../../src/spec/index.js';
import type { LimitsSettings } from '../../src/spec/limits.js';
import { CONTROL_KINDS, type CompiledWorkflow } from '../../src/spec/model.js';
import type { Claim } from '../../src/engine/run-transitions-types.js';
import type { Store } from '../../src/store/store.js';
import type { EventRecord, TaskRecord } from '../../src/types.js';
import type { StoreFactory } from './store.js';

export interface TestEngine {
  engine: Engine;
  store: Store;
  cleanup: () => Promise<void>;
}

export const silentLogger = pino({ level: 'silent' });

export function compileAll(specs: Record<string, unknown>[], executors: StepExecutor[] = defaultExecutors()): Map<string, CompiledWorkflow> {
  const availableKinds = new Set([...createExecutorRegistry(executors).kinds(), ...CONTROL_KINDS]);
  return new Map(
    specs.map((spec) => {
      const wf = compileWorkflow(spec, { availableKinds });
      return [wf.name, wf];
    }),
  );
}

export async function startTestEngine(
  factory: StoreFactory,
  specs: Record<string, unknown>[],
  options: {
    settings?: Partial<EngineSettings>;
    executors?: StepExecutor[];
    start?: boolean;
    env?: NodeJS.ProcessEnv;
    limits?: LimitsSettings;
    /** Default silent. */
    logger?: Logger;
  } = {},
): Promise<TestEngine> {
  const { store, cleanup } = await factory.open();
  const executors = options.executors ?? defaultExecutors();
  const engine = new Engine({
    store,
    workflows: compileAll(specs, executors),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: options.logger ?? silentLogger,
    settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000, ...options.settings },
    env: options.env ?? {},
    ...(options.limits ? { limits: options.limits } : {}),
  });
  if (options.start !== false) await engine.start();
  return {
    engine,
    store,
    cleanup: async () => {
      await engine.stop();
      await cleanup();
    },
  };
}

export async function eventsOf(store: Store, runId: string): Promise<EventRecord[]> {
  return store.listEvents(runId, 0, 10_000);
}

/** `type` or `type:step` labels, in order. */
export function labels(events: EventRecord[]): string[] {
  return events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type));
}

export function indexOf(events: EventRecord[], type: string, stepId?: string): number {
  return events.findIndex((e) => e.type === type && (stepId === undefined || e.stepId === stepId));
}

/**
 * An engine that only starts runs (never started: no workers, no sweeps) — how a test
 * enqueues work for worker processes on the same store.
 */
export function clientEngine(store: Store, specs: Record<string, unknown>[]): Engine {
  const executors = defaultExecutors();
  return new Engine({
    store,
    workflows: compileAll(specs, executors),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: silentLogger,
  });
}

/** A claim made by hand in a test: it must be one a worker would execute. */
export async function claimOf(claim: Promise<Claim | 'handled' | undefined>): Promise<Claim | undefined> {
  const c = await claim;
  if (c === 'handled') throw new Error('expected a claim to execute, got a step the engine handled itself');
  return c;
}

/** A started engine over an existing store: a second process, or the first one restarted. */
export async function engineOn(
  store: Store,
  specs: Record<string, unknown>[],
  settings: Partial<EngineSettings> = {},
  executors: StepExecutor[] = defaultExecutors(),
): Promise<Engine> {
  const engine = new Engine({
    store,
    workflows: compileAll(specs, executors),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: silentLogger,
    settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000, ...settings },
    env: {},
  });
  await engine.start();
  return engine;
}

/** Polls `probe` until it returns something other than undefined (or fails after `ms`). */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The run's first open task, once there is one (read from an engine or a store). */
export async function openTask(source: Pick<Store, 'listTasks'>, runId: string, timeoutMs = 20_000): Promise<TaskRecord> {
  return eventually(async () => (await source.listTasks({ runId, status: ['open'], limit: 10 })).items[0], timeoutMs, `an open task of run ${runId}`);
}
