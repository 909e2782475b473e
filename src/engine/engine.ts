/**
 * The engine: starts and cancels runs, and (when started) runs a worker pool and the
 * scheduler's sweeps in this process. Embeddable:
 *
 *   const engine = new Engine({ store, workflows: project.workflows, ... });
 *   await engine.start();
 *   const run = await engine.startRun('demo', { name: 'Ada' });
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AgentryError } from '../errors.js';
import { newId } from '../ids.js';
import { Notifier } from '../queue/notifier.js';
import type { ExecutorRegistry } from '../runtime/registry.js';
import type { ExecutorSettings } from '../runtime/types.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import { TERMINAL_RUN_STATUSES, type EventRecord, type RunRecord, type RunStatus, type StepRecord } from '../types.js';
import { RunTransitions, type StartRunOptions, type StartedRun } from './run-transitions.js';
import { Scheduler } from './scheduler.js';
import { Worker } from './worker.js';

/** Run statuses a run can be retried from. */
export const RETRYABLE_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['failed', 'cancelled', 'timed_out']);

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
}

/** What `start()` runs in this process: the worker pool, the scheduler's sweeps, or both. */
export const ENGINE_ROLES = ['worker', 'scheduler'] as const;
export type EngineRole = (typeof ENGINE_ROLES)[number];

export interface WaitOptions {
  timeoutMs?: number;
  /** Called with each new event, in order. */
  onEvent?: (event: EventRecord) => void;
  pollMs?: number;
  signal?: AbortSignal;
}

export class Engine {
  readonly settings: EngineSettings;
  readonly workerId: string;
  readonly transitions: RunTransitions;
  private readonly notifier = new Notifier();
  private readonly now: () => number;
  private worker: Worker | undefined;
  private scheduler: Scheduler | undefined;
  private started = false;
  private roles: readonly EngineRole[] = ENGINE_ROLES;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribeWake: (() => void) | undefined;
  private readonly startedAt: number;
  private readonly beatOutage: OutageLog;
  private readonly wakeOutage: OutageLog;

  constructor(private readonly o: EngineOptions) {
    this.settings = { ...DEFAULT_ENGINE_SETTINGS, ...o.settings };
    this.now = o.now ?? Date.now;
    this.workerId = o.workerId ?? newId('wrk');
    this.startedAt = this.now();
    this.beatOutage = new OutageLog(o.logger, 'worker heartbeat');
    this.wakeOutage = new OutageLog(o.logger, 'publishing a wake-up');
    this.transitions = new RunTransitions({
      store: o.store,
      env: o.env ?? process.env,
      availableKinds: o.executors.kinds(),
      now: this.now,
      onWake: () => this.wake(),
      onFinished: (runId, status) =>
        this.worker?.abortRun(runId, new AgentryError('cancelled', `run ended ${status}`)),
    });
  }

  get store(): Store {
    return this.o.store;
  }

  get workflows(): ReadonlyMap<string, CompiledWorkflow> {
    return this.o.workflows;
  }

  /** Starts this process's worker pool and scheduler (or only the `roles` given). */
  async start(options: { roles?: readonly EngineRole[] } = {}): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.roles = options.roles ?? ENGINE_ROLES;
    const { store, logger } = this.o;
    const runsWorker = this.roles.includes('worker');
    // Work made due by other processes (PostgreSQL NOTIFY); the worker's poll is the safety net.
    if (runsWorker) this.unsubscribeWake = store.subscribeWake(() => this.notifier.notify());
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.settings.leaseTtlMs / 3)));
    if (runsWorker) this.worker = new Worker({
      store,
      transitions: this.transitions,
      executors: this.o.executors,
      executorSettings: this.o.executorSettings,
      notifier: this.notifier,
      logger,
      workerId: this.workerId,
      concurrency: this.settings.concurrency,
      leaseTtlMs: this.settings.leaseTtlMs,
      pollIntervalMs: this.settings.pollIntervalMs,
      now: this.now,
    });
    if (this.roles.includes('scheduler')) this.scheduler = new Scheduler({
      store,
      transitions: this.transitions,
      logger,
      intervalMs: this.settings.pollIntervalMs,
      now: this.now,
      workerTtlMs: this.settings.leaseTtlMs * 3,
    });
    this.worker?.start();
    this.scheduler?.start();
    logger.info(
      { worker: this.workerId, roles: this.roles, concurrency: this.settings.concurrency, store: store.location },
      'engine started',
    );
  }

  /** Stops claiming work, lets running attempts finish within the grace period, then stops. */
  async stop(graceMs = this.settings.shutdownGraceMs): Promise<void> {
    clearInterval(this.heartbeat);
    this.unsubscribeWake?.();
    this.unsubscribeWake = undefined;
    await this.scheduler?.stop();
    await this.worker?.stop(graceMs);
    if (this.started) await this.o.store.removeWorker(this.workerId).catch(() => undefined);
    this.worker = undefined;
    this.scheduler = undefined;
    this.started = false;
  }

  /** Runs attempts now (running or not): what a worker pool in this process is doing. */
  get activeAttempts(): number {
    return this.worker?.activeCount ?? 0;
  }

  workflow(name: string): CompiledWorkflow {
    const wf = this.o.workflows.get(name);
    if (!wf) throw new AgentryError('not_found', `workflow '${name}' not found`, { details: { workflow: name } });
    return wf;
  }

  async startRun(workflow: string, input: unknown, options?: StartRunOptions): Promise<RunRecord> {
    return (await this.transitions.create(this.workflow(workflow), input, options)).run;
  }

  /** Like `startRun`, and says whether an idempotency key returned an earlier run. */
  async startRunIdempotent(workflow: string, input: unknown, options: StartRunOptions): Promise<StartedRun> {
    return this.transitions.create(this.workflow(workflow), input, options);
  }

  /**
   * Starts a new run of a failed, cancelled or timed-out run: the same workflow spec (its
   * snapshot), input, priority and tenant. Any other status is a `conflict`.
   */
  async retryRun(runId: string): Promise<RunRecord> {
    const old = await this.getRun(runId);
    if (!RETRYABLE_RUN_STATUSES.has(old.status)) {
      throw new AgentryError('conflict', `run ${old.id} is ${old.status}; only failed, cancelled or timed_out runs can be retried`, {
        details: { status: old.status },
      });
    }
    const started = await this.transitions.create(this.transitions.workflowOf(old), old.input, { priority: old.priority, tenantId: old.tenantId });
    return started.run;
  }

  /** The run and its steps, in the workflow's order (dependencies first). */
  async getRunWithSteps(runId: string): Promise<{ run: RunRecord; steps: StepRecord[] }> {
    const run = await this.getRun(runId);
    const order = new Map(this.transitions.workflowOf(run).order.map((stepId, i) => [stepId, i]));
    const steps = await this.o.store.getSteps(runId);
    steps.sort((a, b) => (order.get(a.stepId) ?? Infinity) - (order.get(b.stepId) ?? Infinity));
    return { run, steps };
  }

  async cancelRun(runId: string, reason?: string): Promise<RunRecord> {
    return this.transitions.cancel(runId, reason);
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.o.store.getRun(runId);
    if (!run) throw new AgentryError('not_found', `run ${runId} not found`);
    return run;
  }

  /** Resolves with the run once it has ended (or when the timeout passes, as it is then). */
  async waitForRun(runId: string, options: WaitOptions = {}): Promise<RunRecord> {
    const { timeoutMs = Infinity, onEvent, pollMs = 100, signal } = options;
    const deadline = this.now() + timeoutMs;
    let seq = 0;
    for (;;) {
      if (onEvent) {
        for (;;) {
          const events = await this.o.store.listEvents(runId, seq, 500);
          for (const event of events) onEvent(event);
          seq = events.at(-1)?.seq ?? seq;
          if (events.length < 500) break;
        }
      }
      const run = await this.getRun(runId);
      if (TERMINAL_RUN_STATUSES.has(run.status) && (!onEvent || run.eventSeq <= seq)) return run;
      if (this.now() >= deadline || signal?.aborted) return run;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - this.now()))));
    }
  }

  /**
   * Work became due: wake this process's workers now, and other processes' through the store.
   * When this process's pool has a free slot it takes the work itself, so other processes are
   * not woken (on PostgreSQL that saves a NOTIFY per transition and a herd of idle workers
   * racing for one step); they still find work on their own when this pool is full.
   */
  private wake(): void {
    this.notifier.notify();
    if (this.worker?.hasFreeSlot) return;
    this.o.store.publishWake().then(
      () => this.wakeOutage.ok(),
      (error: unknown) => this.wakeOutage.failed(error),
    );
  }

  private async beat(): Promise<void> {
    await this.o.store
      .upsertWorker({
        id: this.workerId,
        host: hostname(),
        pid: process.pid,
        roles: [...this.roles],
        concurrency: this.settings.concurrency,
        startedAt: this.startedAt,
        heartbeatAt: this.now(),
      })
      .then(
        () => this.beatOutage.ok(),
        (error: unknown) => this.beatOutage.failed(error),
      );
  }
}
