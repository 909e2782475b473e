/**
 * The engine: starts and cancels runs, and (when started) runs a worker pool and the
 * scheduler's sweeps in this process. Embeddable:
 *
 *   const engine = new Engine({ store, workflows: project.workflows, ... });
 *   await engine.start();
 *   const run = await engine.startRun('demo', { name: 'Ada' });
 *
 * What it is built with is `engine-options.ts`; its parts are the process's heartbeat
 * (`heartbeat.ts`), its listeners (`engine-listeners.ts`) and `wait-for-run.ts`.
 */
import { AgentryError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { DEFAULT_TENANT } from '../lib/tenant.js';
import { Notifier } from '../queue/notifier.js';
import { STEP_KINDS, type CompiledWorkflow, type StepKind } from '../spec/model.js';
import { DEFAULT_LIMITS, tenantLimits, type LimitsSettings } from '../spec/limits.js';
import type { MaintenanceRecord, Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { TaskListQuery, TaskPage } from '../store/store.js';
import type { RunRecord, SignalRecord, StepRecord, TaskRecord } from '../types.js';
import type { Actor, TaskDecisionInput, TaskDecisionResult } from './tasks-api.js';
import { assertRerunnable, attemptHistory, planReuse, type StepAttempt } from './reruns.js';
import { DEFAULT_ENGINE_SETTINGS, ENGINE_ROLES, type EngineOptions, type EngineRole, type EngineSettings } from './engine-options.js';
import { EngineListeners, type CommittedListener } from './engine-listeners.js';
import { FleetWatch } from './fleet-watch.js';
import { Heartbeat } from './heartbeat.js';
import type { LoopStatus } from './loop-status.js';
import { RunTransitions } from './run-transitions.js';
import type { QuotaRefusal, StartRunOptions, StartedRun } from './run-transitions-types.js';
import { Scheduler, type SweepReport } from './scheduler.js';
import type { RunPolicyGate } from './run-policy.js';
import { waitForRun, type WaitOptions } from './wait-for-run.js';
import { Worker } from './worker.js';

export { DEFAULT_ENGINE_SETTINGS, ENGINE_ROLES, type EngineOptions, type EngineRole, type EngineSettings } from './engine-options.js';
export type { CommittedEvent } from './context.js';
export type { QuotaRefusal } from './run-transitions-types.js';
export type { LoopStatus } from './loop-status.js';
export type { WaitOptions } from './wait-for-run.js';

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

/**
 * Why a run's attempts still running here are aborted once it ended: one reason per status, made
 * once. Every run end aborts the attempt whose result ended it (it leaves the worker's in-flight
 * set only after that commit), and an error's stack costs more than the rest of the abort.
 */
const endedReasons = new Map<string, AgentryError>();
function runEnded(status: string): AgentryError {
  let reason = endedReasons.get(status);
  if (!reason) endedReasons.set(status, (reason = new AgentryError('cancelled', `run ended ${status}`)));
  return reason;
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
  private unsubscribeWake: (() => void) | undefined;
  private readonly heartbeat: Heartbeat;
  private readonly wakeOutage: OutageLog;
  private readonly listeners: EngineListeners;
  private stopping: Promise<void> | undefined;
  private readonly fleet: FleetWatch;

  constructor(private readonly o: EngineOptions) {
    this.settings = { ...DEFAULT_ENGINE_SETTINGS, ...o.settings };
    this.now = o.now ?? Date.now;
    this.workerId = o.workerId ?? newId('wrk');
    this.tenant = o.tenant ?? DEFAULT_TENANT;
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.heartbeat = new Heartbeat({
      store: o.store,
      logger: o.logger,
      workerId: this.workerId,
      concurrency: this.settings.concurrency,
      leaseTtlMs: this.settings.leaseTtlMs,
      now: this.now,
      onBeat: (state) => {
        if (this.started) this.fleet.heard(state);
      },
    });
    this.fleet = new FleetWatch({
      logger: o.logger,
      workerId: this.workerId,
      shutdownGraceMs: this.settings.shutdownGraceMs,
      stop: () => this.stop(),
      running: () => this.activeAttempts,
    });
    this.listeners = new EngineListeners(o.logger, o.logRuns !== false);
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
      onFinished: (runId, status) => this.worker?.abortRun(runId, () => runEnded(status)),
      onAbortStep: (runId, stepId) => this.worker?.abortStep(runId, stepId, () => new AgentryError('cancelled', `step ${stepId} was cancelled`)),
      workflows: o.workflows,
      tenant: this.tenant,
      onCommitted: (events) => this.listeners.committed(events),
      quotaOf: (tenantId) => {
        const { maxConcurrentRuns, maxRunsPerHour } = tenantLimits(this.limits, tenantId);
        return { maxConcurrentRuns, maxRunsPerHour };
      },
      onQuotaExceeded: (refusal) => this.listeners.quotaExceeded(refusal),
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
    return this.listeners.onCommitted(listener);
  }

  /**
   * The environment policy every run start of this engine is judged by from now on (`run-policy.ts`):
   * starts through the API and the CLI, schedule ticks, retries and re-runs, `workflow:` steps'
   * child runs. The application sets it (`bootstrap`, `createServices`); without one nothing is judged.
   */
  setRunPolicy(gate: RunPolicyGate | undefined): void {
    this.transitions.policy = gate;
  }

  /** Calls `listener` whenever this engine refuses to start a run for a tenant's quota. Returns the unsubscribe function. */
  onQuotaExceeded(listener: (refusal: QuotaRefusal) => void): () => void {
    return this.listeners.onQuotaExceeded(listener);
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
    const roles: readonly EngineRole[] = options.roles ?? ENGINE_ROLES;
    const { store, logger } = this.o;
    const runsWorker = roles.includes('worker');
    // Work made due by other processes (PostgreSQL NOTIFY); the worker's poll is the safety net.
    if (runsWorker) this.unsubscribeWake = store.subscribeWake(() => this.notifier.notify());
    await this.heartbeat.start(roles);
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
    if (roles.includes('scheduler')) this.scheduler = this.newScheduler();
    this.worker?.start();
    this.scheduler?.start();
    logger.info({ worker: this.workerId, roles, concurrency: this.settings.concurrency, store: store.location }, 'engine started');
  }

  private newScheduler(): Scheduler {
    return new Scheduler({
      store: this.o.store,
      transitions: this.transitions,
      logger: this.o.logger,
      intervalMs: this.settings.pollIntervalMs,
      now: this.now,
      workerTtlMs: this.settings.leaseTtlMs * 3,
      workflows: this.o.workflows,
      ...(this.o.maintenance ? { maintenance: this.o.maintenance } : {}),
      tenant: this.tenant,
      ...(this.o.scheduleObserver ? { observer: this.o.scheduleObserver } : {}),
    });
  }

  /**
   * One pass of the scheduler's sweeps now, whether or not a scheduler runs here (`agentry admin
   * sweep --now`): lapsed leases, overdue runs and human tasks, due schedules, and every
   * maintenance task this engine was given. Safe beside running schedulers, as their sweeps are.
   */
  sweepNow(): Promise<SweepReport> {
    return this.newScheduler().sweep({ force: true });
  }

  /**
   * Calls `listener` once this engine has stopped because an operator drained it (`agentry
   * workers drain`): a process then exits (its supervisor may start a fresh one). Returns the
   * unsubscribe function.
   */
  onDrained(listener: () => void): () => void {
    return this.fleet.onDrained(listener);
  }

  /** True once a drain of this process was requested: it claims nothing more and is stopping (or stopped). */
  get draining(): boolean {
    return this.fleet.draining;
  }

  /** The fleet's maintenance mode as this process's worker pool last read it (null: off; undefined: not read). */
  get maintenance(): MaintenanceRecord | null | undefined {
    return this.fleet.maintenance;
  }

  /**
   * Stops claiming work, lets running attempts finish within the grace period, then stops.
   * A second call while stopping waits for the first.
   */
  stop(graceMs = this.settings.shutdownGraceMs): Promise<void> {
    this.stopping ??= this.stopNow(graceMs).finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async stopNow(graceMs: number): Promise<void> {
    // First, before anything is awaited: no claim starts once `stop()` was called.
    this.worker?.stopClaiming();
    this.heartbeat.stop();
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
      heartbeatAt: this.heartbeat.lastAt,
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
   * Starts a run of a workflow compiled by the caller (`transitions.compile`): an ad-hoc spec, or
   * a project workflow with overrides applied. The run stores `wf.spec` as its snapshot.
   */
  async startCompiledRun(wf: CompiledWorkflow, input: unknown, options: StartRunOptions): Promise<StartedRun> {
    return this.transitions.create(wf, input, options);
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
    assertRerunnable(wf, old, fromStep);
    const reuse = planReuse(wf, await this.o.store.getSteps(old.id), fromStep);
    const started = await this.transitions.create(wf, old.input, {
      priority: old.priority,
      tenantId: old.tenantId,
      retryOf: old.id,
      reuse,
      metadata: old.metadata,
      overrides: old.overrides,
      adhoc: old.adhoc,
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
  waitForRun(runId: string, options: WaitOptions = {}): Promise<RunRecord> {
    return waitForRun(this.o.store, runId, options, this.now);
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
}
