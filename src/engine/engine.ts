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
import { AgentryError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { DEFAULT_TENANT } from '../lib/tenant.js';
import { Notifier } from '../queue/notifier.js';
import type { ExecutorRegistry } from '../runtime/registry.js';
import type { ExecutorSettings } from '../runtime/types.js';
import { STEP_KINDS, type CompiledWorkflow, type StepKind } from '../spec/model.js';
import { DEFAULT_LIMITS, tenantLimits, type LimitsSettings } from '../spec/limits.js';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { TaskListQuery, TaskPage } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type EventRecord, type RunRecord, type RunStatus, type SignalRecord, type StepRecord, type TaskRecord } from '../types.js';
import type { Actor, TaskDecisionInput, TaskDecisionResult } from './tasks-api.js';
import { assertWorkflowStep, attemptHistory, planReuse, type StepAttempt } from './reruns.js';
import type { CommittedEvent } from './context.js';
import type { LoopStatus } from './loop-status.js';
import { logCommitted } from './run-log.js';
import { RunTransitions, type QuotaRefusal, type StartRunOptions, type StartedRun } from './run-transitions.js';
import { Scheduler, type MaintenanceTask, type ScheduleObserver } from './scheduler.js';
import { Worker } from './worker.js';
import { pause } from '../lib/sleep.js';
import type { Redactor } from '../lib/redact.js';

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
  /** Masks secrets in everything the engine stores (default: the workflows' secret env values only). */
  redactor?: Redactor;
  /** What this engine's scheduler also does now and then (the audit log's retention); see `MaintenanceTask`. */
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

export type { CommittedEvent } from './context.js';
export type { ScheduleObserver } from './scheduler.js';
export type { QuotaRefusal } from './run-transitions.js';
export type { LoopStatus } from './loop-status.js';

/** This process's engine loops as readiness sees them (`Engine.loops()`). */
export interface EngineLoops {
  /** The engine's clock now (what the loops' times are measured against). */
  now: number;
  /** The worker pool's claim loop, while it runs here. */
  worker: (LoopStatus & { busy: number; slots: number }) | undefined;
  /** The scheduler's sweep loop, while it runs here. */
  scheduler: LoopStatus | undefined;
  /** When this process's heartbeat last reached the store; undefined before the first. */
  heartbeatAt: number | undefined;
}

/** Called with the events of each committed transaction of this engine, in order, each once. */
export type CommittedListener = (events: readonly CommittedEvent[]) => void;

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
  /** The deployment's tenant: runs started without a tenant, and schedules without `tenant:`, belong to it. */
  readonly tenant: string;
  /** Request rate limits and run quotas in force (`EngineOptions.limits`). */
  readonly limits: LimitsSettings;
  private readonly notifier = new Notifier();
  private readonly now: () => number;
  private worker: Worker | undefined;
  private scheduler: Scheduler | undefined;
  private started = false;
  private roles: readonly EngineRole[] = ENGINE_ROLES;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastBeatAt: number | undefined;
  private unsubscribeWake: (() => void) | undefined;
  private readonly startedAt: number;
  private readonly beatOutage: OutageLog;
  private readonly wakeOutage: OutageLog;
  private readonly committedListeners = new Set<CommittedListener>();
  private readonly quotaListeners = new Set<(refusal: QuotaRefusal) => void>();

  constructor(private readonly o: EngineOptions) {
    this.settings = { ...DEFAULT_ENGINE_SETTINGS, ...o.settings };
    this.now = o.now ?? Date.now;
    this.workerId = o.workerId ?? newId('wrk');
    this.tenant = o.tenant ?? DEFAULT_TENANT;
    this.startedAt = this.now();
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.beatOutage = new OutageLog(o.logger, 'worker heartbeat');
    this.wakeOutage = new OutageLog(o.logger, 'publishing a wake-up');
    this.transitions = new RunTransitions({
      store: o.store,
      env: o.env ?? process.env,
      // A run's stored spec compiles whatever executors this process has: a process without
      // one (the CLI reading runs) never claims such a step, and a worker without one fails
      // the step with `executor_unavailable`.
      availableKinds: new Set(STEP_KINDS),
      now: this.now,
      onWake: () => this.wake(),
      onFinished: (runId, status) => this.worker?.abortRun(runId, new AgentryError('cancelled', `run ended ${status}`)),
      onAbortStep: (runId, stepId) => this.worker?.abortStep(runId, stepId, new AgentryError('cancelled', `step ${stepId} was cancelled`)),
      workflows: o.workflows,
      tenant: this.tenant,
      onCommitted: (events) => this.publishCommitted(events),
      quotaOf: (tenantId) => {
        const { maxConcurrentRuns, maxRunsPerHour } = tenantLimits(this.limits, tenantId);
        return { maxConcurrentRuns, maxRunsPerHour };
      },
      onQuotaExceeded: (refusal) => {
        for (const listener of this.quotaListeners) {
          try {
            listener(refusal);
          } catch (error) {
            o.logger.warn({ err: error }, 'a quota listener failed');
          }
        }
      },
      ...(o.redactor ? { redactor: o.redactor } : {}),
    });
  }

  /**
   * Calls `listener` after each transaction of this engine commits, with the events it
   * appended (to every run it changed), in order; never for a transaction that rolled back
   * or was retried. Events written by other processes are not reported (poll the store).
   * Returns the unsubscribe function.
   */
  onCommitted(listener: CommittedListener): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  /** Calls `listener` whenever this engine refuses to start a run for a tenant's quota. Returns the unsubscribe function. */
  onQuotaExceeded(listener: (refusal: QuotaRefusal) => void): () => void {
    this.quotaListeners.add(listener);
    return () => this.quotaListeners.delete(listener);
  }

  private publishCommitted(events: readonly CommittedEvent[]): void {
    if (this.o.logRuns !== false) {
      try {
        logCommitted(this.o.logger, events);
      } catch {
        // The transaction committed: a log line that could not be written must not fail its caller.
      }
    }
    for (const listener of this.committedListeners) {
      try {
        listener(events);
      } catch (error) {
        // The transaction committed: a listener's failure must not fail its caller.
        this.o.logger.warn({ err: error }, 'a committed-event listener failed');
      }
    }
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
    if (runsWorker)
      this.worker = new Worker({
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
    if (this.roles.includes('scheduler'))
      this.scheduler = new Scheduler({
        store,
        transitions: this.transitions,
        logger,
        intervalMs: this.settings.pollIntervalMs,
        now: this.now,
        workerTtlMs: this.settings.leaseTtlMs * 3,
        workflows: this.o.workflows,
        ...(this.o.maintenance ? { maintenance: this.o.maintenance } : {}),
        tenant: this.tenant,
        ...(this.o.scheduleObserver ? { observer: this.o.scheduleObserver } : {}),
      });
    this.worker?.start();
    this.scheduler?.start();
    logger.info({ worker: this.workerId, roles: this.roles, concurrency: this.settings.concurrency, store: store.location }, 'engine started');
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

  /** The step kinds this engine has an executor for (the kinds it carries out itself, `CONTROL_KINDS`, need none). */
  get executorKinds(): ReadonlySet<StepKind> {
    return this.o.executors.kinds();
  }

  /** What this process's worker and scheduler loops are doing (for readiness). */
  loops(): EngineLoops {
    const worker = this.worker;
    return {
      now: this.now(),
      worker: worker && { ...worker.status, busy: worker.activeCount, slots: worker.concurrency },
      scheduler: this.scheduler?.status,
      heartbeatAt: this.lastBeatAt,
    };
  }

  /** Runs attempts now (running or not): what a worker pool in this process is doing. */
  get activeAttempts(): number {
    return this.worker?.activeCount ?? 0;
  }

  /** Attempts this process's worker pool runs now, by workflow (empty without a pool). */
  attemptsByWorkflow(): ReadonlyMap<string, number> {
    return this.worker?.activeByWorkflow() ?? new Map<string, number>();
  }

  /** Size of this process's worker pool: its concurrency while it runs one, else 0. */
  get workerSlots(): number {
    return this.worker ? this.settings.concurrency : 0;
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
   * Re-runs an ended run as a new run of the same workflow spec (its snapshot, not a newer
   * file), input, priority and tenant, linked by `retry_of`. Steps that need not run again are
   * reused: their output is taken over and no attempt is made (see `planReuse`).
   *
   * Without `fromStep` it retries from the failed step: only failed, cancelled or timed-out
   * runs, and every step that succeeded or was skipped is reused. With `fromStep` it re-runs
   * from that step: any ended run (a succeeded one too), and `fromStep` and the steps downstream
   * of it run again. A run that has not ended (or a succeeded one without `fromStep`) is a
   * `conflict`; an unknown `fromStep` is `invalid_request`. The new run is owned by `createdBy`
   * (who retried it), not by the starter of the old one.
   */
  async retryRun(runId: string, options: { fromStep?: string; createdBy?: string } = {}): Promise<RunRecord> {
    const { fromStep, createdBy } = options;
    const old = await this.getRun(runId);
    const wf = this.transitions.workflowOf(old);
    if (fromStep !== undefined) assertWorkflowStep(wf, fromStep, 'invalid_request');
    if (fromStep === undefined && !RETRYABLE_RUN_STATUSES.has(old.status)) {
      throw new AgentryError(
        'conflict',
        `run ${old.id} is ${old.status}; only failed, cancelled or timed_out runs can be retried from their failed step; re-run it from a step instead`,
        {
          details: { status: old.status },
        },
      );
    }
    if (fromStep !== undefined && !TERMINAL_RUN_STATUSES.has(old.status)) {
      throw new AgentryError('conflict', `run ${old.id} is ${old.status}; only a run that has ended can be re-run from a step`, {
        details: { status: old.status },
      });
    }
    const reuse = planReuse(wf, await this.o.store.getSteps(old.id), fromStep);
    const started = await this.transitions.create(wf, old.input, {
      priority: old.priority,
      tenantId: old.tenantId,
      retryOf: old.id,
      reuse,
      ...(createdBy === undefined ? {} : { createdBy }),
    });
    return started.run;
  }

  /**
   * The attempts of one step in this run and in the runs it re-ran (following `retry_of` back),
   * oldest first, each with the id of the run that made it: a step a re-run reused shows the
   * attempts of the run it was taken from. `not_found` for an unknown run or a step the run
   * does not have.
   */
  async stepAttempts(runId: string, stepId: string): Promise<StepAttempt[]> {
    return attemptHistory(this.o.store, await this.getRun(runId), stepId);
  }

  /** The run and its steps, in the workflow's order (dependencies first). */
  async getRunWithSteps(runId: string): Promise<{ run: RunRecord; steps: StepRecord[] }> {
    const run = await this.getRun(runId);
    const order = new Map(this.transitions.workflowOf(run).order.map((stepId, i) => [stepId, i]));
    const steps = await this.o.store.getSteps(runId);
    steps.sort((a, b) => (order.get(a.stepId) ?? Infinity) - (order.get(b.stepId) ?? Infinity));
    return { run, steps };
  }

  // ---- human tasks and signals (see tasks.ts) ----

  listTasks(query: TaskListQuery): Promise<TaskPage> {
    return this.o.store.listTasks(query);
  }

  async getTask(taskId: string): Promise<TaskRecord> {
    const task = await this.o.store.getTask(taskId);
    if (!task) throw new AgentryError('not_found', `task ${taskId} not found`);
    return task;
  }

  /**
   * Decides an open task and resumes its run. Errors: `not_found`; `forbidden` (the actor
   * holds neither the task's role nor is an assignee); `invalid_request` (form data fails
   * the form schema; a decision the task does not take); `resource_locked` (another decision
   * is being applied); `conflict` (already decided, expired or cancelled).
   */
  async completeTask(taskId: string, input: TaskDecisionInput, actor: Actor): Promise<TaskRecord> {
    return (await this.transitions.completeTask(taskId, input, actor)).task;
  }

  /**
   * Like `completeTask`, with an idempotency key: repeating the same decision with the same
   * key returns the decided task again (`replayed`) instead of a `conflict`; another decision
   * under the key is an `idempotency_conflict`.
   */
  completeTaskIdempotent(taskId: string, input: TaskDecisionInput, actor: Actor, idempotencyKey: string): Promise<TaskDecisionResult> {
    return this.transitions.completeTask(taskId, input, actor, idempotencyKey);
  }

  /**
   * Delivers signal `name` with `payload` to a run: a `wait` step for it resumes. Sending the
   * same signal again changes nothing (`duplicate: true`); with another payload it is a
   * `conflict`. `not_found` for an unknown run, `invalid_request` when no step of the run
   * waits for `name`, `conflict` when the run has ended.
   */
  sendSignal(runId: string, name: string, payload: unknown): Promise<{ signal: SignalRecord; duplicate: boolean }> {
    return this.transitions.sendSignal(runId, name, payload);
  }

  /** Child runs started by this run's `workflow:` steps. */
  childRuns(runId: string): Promise<RunRecord[]> {
    return this.o.store.childRuns(runId);
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
      await pause(Math.min(pollMs, Math.max(0, deadline - this.now())), signal);
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
    const beatAt = this.now();
    await this.o.store
      .upsertWorker({
        id: this.workerId,
        host: hostname(),
        pid: process.pid,
        roles: [...this.roles],
        concurrency: this.settings.concurrency,
        startedAt: this.startedAt,
        heartbeatAt: beatAt,
      })
      .then(
        () => {
          this.lastBeatAt = beatAt;
          this.beatOutage.ok();
        },
        (error: unknown) => this.beatOutage.failed(error),
      );
  }
}
