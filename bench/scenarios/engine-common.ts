/**
 * What the `engine` scenario's cases share: its knobs (environment variables, see
 * engine.scenario.ts), the worker child processes (engine-worker.ts) and the result record.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { compileWorkflow, STEP_KINDS } from '../../src/spec/index.js';
import type { LimitsSettings } from '../../src/spec/limits.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import type { FromWorker, ToWorker, WorkerSystem } from './engine-worker.js';
import { BENCH_WORKFLOWS } from './engine-workflows.js';

export const N = Number(process.env.BENCH_ENGINE_N ?? 10_000);
export const CONCURRENCY = Number(process.env.BENCH_ENGINE_CONCURRENCY ?? 10);
export const PACED_ITEMS = Number(process.env.BENCH_ENGINE_PACED ?? 100);
export const PACED_PER_S = Number(process.env.BENCH_ENGINE_PACED_PER_S ?? 20);
/** Runs parked in the store before the "waiting runs" cases (engine-parked.ts). */
export const PARKED = Number(process.env.BENCH_ENGINE_PARKED ?? 100_000);
/** How long one phase of a case may take before the bench gives up on it. */
const PHASE_TIMEOUT_MS = Number(process.env.BENCH_ENGINE_TIMEOUT_S ?? 900) * 1000;
export const TERMINAL = `('succeeded', 'failed', 'cancelled', 'timed_out')`;
const REPO = join(import.meta.dirname, '..', '..');

/**
 * graphile-worker 0.17's batching (https://worker.graphile.org/docs/performance#batching), as its
 * performance page's own configuration: a local queue of 500 jobs per process (fetched and
 * locked with one statement, handed to the pool's workers from memory) and batched completion
 * (`completeJobBatchDelay: 0`: the completions of one tick of the event loop go in one statement).
 */
export const GRAPHILE_BATCHING = { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };

/** Load average (1, 5, 15 min) now, rounded. */
export const loadAverage = (): number[] => loadavg().map((x) => round(x, 2));

export const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface EngineCase {
  store: 'postgres' | 'sqlite';
  /** `sqlite-raw`: the minimal claim + complete loop of engine-sqlite-raw.ts. */
  system: WorkerSystem | 'sqlite-raw';
  workload: 'noop-job' | 'one-step' | 'chain-10';
  /** Runs parked in the store (waiting on timers and people) while the case ran. */
  parked_runs: number;
  processes: number;
  concurrency_per_process: number;
  runs: number;
  steps: number;
  seconds: number;
  steps_per_s: number;
  /** Statements the worker processes sent per step (PostgreSQL; null on SQLite, not counted). */
  statements_per_step: number | null;
  /** CPU time of the worker processes per step (drain and latency phases), in ms. */
  worker_cpu_ms_per_step: number;
  /** PostgreSQL: CPU time of the database's server processes per step of the drain (engine-db-cpu.ts), in ms. */
  db_cpu_ms_per_step: number | null;
  /** null where no latency phase runs (the raw SQLite loop). */
  enqueue_to_start: { p50_ms: number; p99_ms: number; samples: number } | null;
  /**
   * Agentry: runs/s the first runs of the backlog were started at before the workers went
   * (`engine.startRun` from the bench process, 10 at once on PostgreSQL, one at a time on
   * SQLite; run quotas checked).
   */
  enqueue_runs_per_s: number | null;
  /** Load average (1, 5, 15 min) when the case began (before its setup) and when its throughput phase ended. */
  load_average: { before: number[]; after: number[] };
}

/** `postgres/agentry/one-step+parked×1`: what BENCH_ENGINE_ONLY matches and the report prints. */
export function caseName(c: Pick<EngineCase, 'store' | 'system' | 'workload' | 'parked_runs' | 'processes'>): string {
  return `${c.store}/${c.system}/${c.workload}${c.parked_runs > 0 ? '+parked' : ''}×${c.processes}`;
}

export interface WorkerProcess {
  child: ChildProcess;
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>>;
  send(message: ToWorker): void;
}

function spawnWorker(system: WorkerSystem, url: string): WorkerProcess {
  const child = fork(join(import.meta.dirname, 'engine-worker.ts'), [system, url, String(CONCURRENCY)], {
    cwd: REPO,
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of every worker process, written when it exits.
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    env: { ...process.env, BENCH_COUNT_QUERIES: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: FromWorker[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (message: FromWorker) => {
    inbox.push(message);
    for (const wake of waiting.splice(0)) wake();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${system} worker exited (${code})`))));
  exited.catch(() => undefined);
  return {
    child,
    async next(type) {
      for (;;) {
        const at = inbox.findIndex((m) => m.type === type);
        if (at >= 0) return inbox.splice(at, 1)[0] as Extract<FromWorker, { type: typeof type }>;
        await Promise.race([new Promise<void>((resolve) => waiting.push(resolve)), exited]);
      }
    },
    send: (message) => child.send(message),
  };
}

/** Starts `count` workers, waits until all are connected, then tells all of them to go. */
export async function startWorkers(system: WorkerSystem, url: string, count: number): Promise<WorkerProcess[]> {
  const workers = Array.from({ length: count }, () => spawnWorker(system, url));
  await Promise.all(workers.map((w) => w.next('ready')));
  for (const w of workers) w.send({ type: 'go' });
  return workers;
}

export async function stopWorkers(workers: WorkerProcess[]): Promise<{ queries: number; cpuMs: number; latenciesMs: number[]; firstStartAt: number }> {
  for (const w of workers) w.send({ type: 'stop' });
  const stats = await Promise.all(workers.map((w) => w.next('stats')));
  await Promise.all(workers.map((w) => (w.child.exitCode === null ? new Promise((resolve) => w.child.once('exit', resolve)) : Promise.resolve())));
  return {
    queries: stats.reduce((n, s) => n + s.queries, 0),
    cpuMs: stats.reduce((n, s) => n + s.cpuMs, 0),
    latenciesMs: stats.flatMap((s) => s.latenciesMs),
    firstStartAt: Math.min(...stats.map((s) => s.firstStartAt ?? Infinity)),
  };
}

/** Polls `check` every 20 ms until it holds; resolves with the time it did. */
export async function until(check: () => Promise<boolean>, timeoutMs = PHASE_TIMEOUT_MS): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('case did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function latency(values: number[]): { p50_ms: number; p99_ms: number; samples: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), samples: sorted.length };
}

/** Enqueues `count` items at `perSecond`, each with `enqueue()`; resolves with what each returned. */
export async function paced<T>(count: number, perSecond: number, enqueue: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    results.push(await enqueue());
  }
  return results;
}

export async function pgQuery<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * The run quotas of the bench's engines: raised far above the built-in ones (1,000 runs not ended,
 * 10,000 started an hour), which the backlog and the parked runs pass, as a deployment holding
 * that many runs would; still checked (counted) at each start, as they are there.
 */
export const BENCH_LIMITS: LimitsSettings = {
  defaults: { rate: null, maxConcurrentRuns: 10_000_000, maxRunsPerHour: 10_000_000 },
  tenants: {},
  roles: {},
  keys: {},
};

/**
 * An engine of the bench's workflows (`only`: just that one) on `store`; its worker pool, when
 * started, runs `concurrency` steps at once (the engine's default without it).
 */
export function benchEngine(store: Store, options: { only?: string; logger?: pino.Logger; concurrency?: number } = {}): Engine {
  // Every kind: the control steps (`human`, `wait`, `workflow`) are the engine's own, with no executor.
  const availableKinds = new Set(STEP_KINDS);
  const specs = BENCH_WORKFLOWS.filter((spec) => options.only === undefined || spec.name === options.only);
  return new Engine({
    store,
    workflows: new Map(specs.map((spec) => [spec.name, compileWorkflow(spec, { availableKinds })])),
    executors: createExecutorRegistry(defaultExecutors()),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: options.logger ?? pino({ level: 'silent' }),
    env: {},
    limits: BENCH_LIMITS,
    ...(options.concurrency === undefined ? {} : { settings: { concurrency: options.concurrency } }),
  });
}

/** An engine that only starts runs (no worker pool), as an API process would. */
export function clientEngine(url: string): Engine {
  return benchEngine(openStore(url, { poolSize: 10 }));
}
