/**
 * Runs each transition in its own transaction on the run's lock, then acts on what it
 * says: wake workers when work became due, abort local work of a run that ended.
 */
import { AgentryError, type ErrorInfo } from '../lib/errors.js';
import { projectWorkflows } from '../spec/builtin.js';
import { compileWorkflow, specHash } from '../spec/index.js';
import type { CompiledWorkflow, StepKind } from '../spec/model.js';
import type { StepEventType, StepResult } from '../runtime/types.js';
import { IdempotencyKeyUsed, type IdempotencyRecord, type RunTx, type TaskLockResult, type WithRunOptions } from '../store/store.js';
import { newId } from '../lib/ids.js';
import { isItemStepId, TERMINAL_RUN_STATUSES, type AttemptKey, type RunRecord, type SignalRecord } from '../types.js';
import type { Actor, TaskDecisionInput, TaskDecisionResult } from './tasks-api.js';
import type { AttemptResult, Claim, RunTransitionsOptions, StartedRun, StartRunOptions } from './run-transitions-types.js';
import { advance } from './advance.js';
import { completeStep } from './completion.js';
import { emit, newEffects, specOf, type TransitionContext, type TransitionEffects } from './context.js';
import { expireLease, failStep } from './failure.js';
import { releaseStep } from './release.js';
import { newRunRecord, newSteps } from './new-run.js';
import { finishRun } from './run-end.js';
import { deliverSignal } from './signals.js';
import { startStep } from './start-step.js';
import { checkDecision, decideTask, mayDecide, TASK_LOCK_TTL_MS } from './task-decisions.js';
import { assertMatches } from '../spec/output.js';
import { Redactor } from '../lib/redact.js';
import { redactedNewRun, redactingTx, workflowSecrets } from './redacting-tx.js';
import { endRunSpan, newRunTraceContext } from '../obs/run-trace.js';
import { isTracingOn } from '../obs/tracing.js';
import { startLockSpan } from './tracing.js';
import type { RunPolicyCheck, RunPolicyGate } from './run-policy.js';

const MAX_CACHED_SPECS = 256;

const RUN_END_EVENTS: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);

export class RunTransitions {
  private readonly compiled = new Map<string, CompiledWorkflow>();
  /** What every write of a transition passes through (also the step journals the worker appends). */
  readonly redactor: Redactor;
  /** The environment policy every run start is judged by (`Engine.setRunPolicy`); none: nothing is judged. */
  policy: RunPolicyGate | undefined;
  /** The check last read from `policy`, for the transactions that may start a child run. */
  private policyCheck: RunPolicyCheck | undefined;

  constructor(private readonly o: RunTransitionsOptions) {
    this.redactor = o.redactor ?? new Redactor();
    // The built-in workflows read no `env.*` (no secret to mask): they stay uncompiled until used.
    for (const wf of projectWorkflows(o.workflows)) this.redactor.add(workflowSecrets(wf, o.env));
  }

  /** The compiled workflow a run was started with (from its stored snapshot). */
  workflowOf(run: RunRecord): CompiledWorkflow {
    let wf = this.compiled.get(run.specHash);
    if (!wf) {
      wf = compileWorkflow(run.spec, { availableKinds: this.o.availableKinds });
      this.redactor.add(workflowSecrets(wf, this.o.env));
      if (this.compiled.size >= MAX_CACHED_SPECS) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(run.specHash, wf);
    }
    return wf;
  }

  /** The step kinds a spec compiled for this engine may use. */
  get availableKinds(): ReadonlySet<StepKind> {
    return this.o.availableKinds;
  }

  /** Compiles a workflow spec for this engine's step kinds (an ad-hoc run's, or one with overrides applied); `SpecError` if invalid. */
  compile(spec: unknown, file?: string): CompiledWorkflow {
    return compileWorkflow(spec, { availableKinds: this.o.availableKinds, ...(file === undefined ? {} : { file }) });
  }

  async create(wf: CompiledWorkflow, input: unknown, options: StartRunOptions = {}): Promise<StartedRun> {
    const tenantId = options.tenantId ?? this.o.tenant;
    const priority = options.priority ?? 0;
    const key = options.idempotencyKey;
    const createdBy = options.createdBy ?? null;
    // What a start asks for besides workflow, input and priority enters the hash only when given,
    // so the keys of starts recorded before those options existed still match their repeats.
    const extras = {
      ...(options.adhoc === true ? { spec_hash: wf.hash } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.overrides ? { overrides: options.overrides } : {}),
      ...(options.deadline ? { deadline: options.deadline } : {}),
    };
    const requestHash = specHash({ workflow: wf.name, input: input ?? null, priority, ...extras });
    if (key !== undefined) {
      const existing = await this.o.store.findIdempotencyKey(tenantId, createdBy ?? '', key);
      if (existing) return this.replay(existing, requestHash, createdBy);
    }
    if (wf.inputSchema) assertMatches(wf.inputSchema, input, 'input_invalid', 'run input');
    // The active environment's policy, before anything is stored (a replayed start above is not judged again).
    const check = await this.policy?.current();
    check?.(wf, { adHoc: options.adhoc === true });
    const now = this.o.now();
    this.redactor.add(workflowSecrets(wf, this.o.env));
    const traceContext = newRunTraceContext(options.newTrace === true ? 'root' : 'active');
    const deadline = options.deadline;
    const record = newRunRecord(wf, input, now, {
      tenantId,
      priority,
      retryOf: options.retryOf ?? null,
      createdBy,
      traceContext,
      metadata: options.metadata ?? null,
      overrides: options.overrides ?? null,
      adhoc: options.adhoc === true,
      ...(deadline === undefined ? {} : { deadlineAt: 'at' in deadline ? deadline.at : now + deadline.inMs }),
    });
    const { run, steps } = redactedNewRun(this.redactor, record, newSteps(wf, record.id, options.reuse));
    this.compiled.set(wf.hash, wf);
    let effects = newEffects();
    try {
      const created = await this.o.store.createRun(
        run,
        steps,
        async (raw) => {
          const tx = redactingTx(raw, this.redactor);
          const ctx = this.context(wf, now); // a retried transaction starts over with empty effects
          effects = ctx.effects;
          await emit(tx, ctx, 'run.created', {
            workflow: wf.name,
            spec_hash: wf.hash,
            priority,
            ...(options.retryOf ? { retry_of: options.retryOf } : {}),
            ...(options.adhoc === true ? { adhoc: true } : {}),
            ...(options.overrides ? { overrides: options.overrides } : {}),
          });
          for (const step of steps) {
            if (step.status !== 'pending') await emit(tx, ctx, 'step.reused', { from_run: options.retryOf, status: step.status }, step.stepId);
          }
          await advance(tx, ctx);
          return tx.run;
        },
        key === undefined ? undefined : { key, requestHash },
        this.o.quotaOf?.(tenantId),
      );
      this.apply(effects);
      return { run: created, replayed: false };
    } catch (error) {
      if (error instanceof IdempotencyKeyUsed) return this.replay(error.record, requestHash, createdBy);
      if (error instanceof AgentryError && error.code === 'quota_exceeded') {
        const quota = (error.details as { quota?: unknown } | undefined)?.quota;
        this.o.onQuotaExceeded?.({ tenantId, quota: typeof quota === 'string' ? quota : 'unknown' });
      }
      throw error;
    }
  }

  /**
   * The first run of an idempotency key, for a repeat by the same starter. Keys are per tenant
   * and starter, so another starter's use of the same key is never found here; should a record
   * still name another starter's run, the answer is a conflict that names no run, never the
   * other's run. A run stored before owners were recorded replays as it did then (a schedule's
   * tick started before an upgrade is found again, not refused).
   */
  private async replay(record: IdempotencyRecord, requestHash: string, createdBy: string | null): Promise<StartedRun> {
    const run = await this.o.store.getRun(record.runId);
    if (run && run.createdBy !== null && run.createdBy !== createdBy) {
      throw new AgentryError('idempotency_conflict', `idempotency key '${record.key}' was used by another caller; choose another key`);
    }
    if (record.requestHash !== requestHash) {
      throw new AgentryError('idempotency_conflict', `idempotency key '${record.key}' was used for a different request (run ${record.runId})`, {
        details: { run_id: record.runId },
      });
    }
    if (!run) throw new AgentryError('not_found', `run ${record.runId} of idempotency key '${record.key}' no longer exists`);
    return { run, replayed: true };
  }

  /**
   * Claims a due step for `workerId`. Undefined when it is not due any more, or when another
   * transaction holds its run (the claim does not wait: the worker tries other work).
   * `seen` is given the run as the claim's transaction left it (for the claim's spans).
   */
  async startStep(
    runId: string,
    stepId: string,
    workerId: string,
    leaseExpiresAt: number,
    seen?: (run: RunRecord) => void,
  ): Promise<Claim | 'handled' | undefined> {
    await this.refreshPolicy();
    return this.transact(
      runId,
      async (tx, ctx) => {
        const started = await this.claimStep(tx, ctx, stepId, workerId, leaseExpiresAt);
        seen?.(tx.run);
        return started;
      },
      // Items of one map all lock the same run: waiting for it beats skipping it (a worker that
      // skipped would back off although the lock is held for a few milliseconds at a time).
      { skipLocked: !isItemStepId(stepId) },
    );
  }

  /**
   * `startStep` for due steps of different runs, in one transaction (runs another holds are
   * skipped: undefined). If one throws, none is claimed and the call throws (claim them one
   * by one then).
   */
  async startSteps(steps: readonly { runId: string; stepId: string }[], workerId: string, leaseExpiresAt: number): Promise<(Claim | 'handled' | undefined)[]> {
    await this.refreshPolicy();
    // By step: a retried transaction replaces what its rolled-back try collected.
    const effects = new Map<number, TransitionEffects>();
    const claims = await this.o.store.withRuns(
      steps.map((s) => s.runId),
      (tx, i) => {
        const ctx = this.context(this.workflowOf(tx.run), this.o.now());
        effects.set(i, ctx.effects);
        return this.claimStep(redactingTx(tx, this.redactor), ctx, steps[i]!.stepId, workerId, leaseExpiresAt);
      },
      { skipLocked: true },
    );
    for (const i of [...effects.keys()].sort((a, b) => a - b)) this.apply(effects.get(i)!);
    return claims.map((c) => c ?? undefined);
  }

  private async claimStep(tx: RunTx, ctx: TransitionContext, stepId: string, workerId: string, leaseExpiresAt: number): Promise<Claim | 'handled' | undefined> {
    const started = await startStep(tx, ctx, stepId, workerId, leaseExpiresAt);
    if (started === undefined || started === 'handled') return started;
    const { spec, ...claim } = started;
    const budget = ctx.wf.spec.budget as { max_tokens?: number; max_cost_usd?: number } | undefined;
    return {
      ...claim,
      kind: spec.kind,
      workflow: ctx.wf.name,
      tenantId: tx.run.tenantId,
      traceContext: tx.run.traceContext,
      timeoutMs: spec.timeoutMs,
      model: spec.model,
      writeArtifacts: spec.writeArtifacts,
      egress: ctx.wf.egress,
      artifacts: ctx.wf.artifacts,
      budget: budget && {
        ...(budget.max_tokens === undefined ? {} : { maxTokens: budget.max_tokens }),
        ...(budget.max_cost_usd === undefined ? {} : { maxCostUsd: budget.max_cost_usd }),
      },
    };
  }

  completeStep(key: AttemptKey, workerId: string, result: StepResult): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx) => completeStep(tx, ctx, key, workerId, result));
  }

  failStep(key: AttemptKey, workerId: string, error: AgentryError): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx) => failStep(tx, ctx, key, workerId, error));
  }

  /**
   * Records the results of attempts of different runs in one transaction (a group commit):
   * each is `completeStep` (`error` undefined) or `failStep`, with what that returns. If one
   * throws, none is recorded and the call throws (record them one by one then).
   */
  async recordResults(results: readonly AttemptResult[]): Promise<(boolean | undefined)[]> {
    // By result: a retried transaction replaces what its rolled-back try collected.
    const effects = new Map<number, TransitionEffects>();
    const recorded = await this.o.store.withRuns(
      results.map((r) => r.key.runId),
      (tx, i) => {
        const ctx = this.context(this.workflowOf(tx.run), this.o.now());
        effects.set(i, ctx.effects);
        const { key, workerId, error, result } = results[i]!;
        const redacted = redactingTx(tx, this.redactor);
        return error ? failStep(redacted, ctx, key, workerId, error) : completeStep(redacted, ctx, key, workerId, result!);
      },
    );
    for (const i of [...effects.keys()].sort((a, b) => a - b)) this.apply(effects.get(i)!);
    return recorded.map((r) => r ?? undefined);
  }

  /**
   * Appends an event an attempt's executor reports while it runs (`StepContext.recordEvent`), with
   * the attempt's number; false (nothing written) when the attempt no longer holds its lease.
   */
  stepEvent(key: AttemptKey, workerId: string, type: StepEventType, data: Record<string, unknown>): Promise<boolean | undefined> {
    return this.transact(key.runId, async (tx, ctx) => {
      const step = await tx.step(key.stepId);
      if (step?.status !== 'running' || step.attempt !== key.attempt || step.leaseOwner !== workerId) return false;
      await emit(tx, ctx, type, { attempt: key.attempt, ...data }, key.stepId);
      return true;
    });
  }

  expireLease(key: AttemptKey, force = false): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx) => expireLease(tx, ctx, key, force));
  }

  /** A stopping worker hands back an attempt it aborted: the step is queued again at once. */
  releaseStep(key: AttemptKey, workerId: string): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx) => releaseStep(tx, ctx, key, workerId));
  }

  /** Cancels a run that has not finished; a finished one is a `conflict`. */
  async cancel(runId: string, reason = 'cancelled by request'): Promise<RunRecord> {
    const run = await this.transact(runId, async (tx, ctx) => {
      if (TERMINAL_RUN_STATUSES.has(tx.run.status)) {
        throw new AgentryError('conflict', `run ${runId} already ended ${tx.run.status}; it cannot be cancelled`, {
          details: { status: tx.run.status },
        });
      }
      await finishRun(tx, ctx, 'cancelled', { code: 'cancelled', message: reason });
      return tx.run;
    });
    if (!run) throw new AgentryError('not_found', `run ${runId} not found`);
    return run;
  }

  /**
   * Resumes the `human` step of a task whose deadline passed, without a worker (the scheduler's
   * sweep): the task expires or escalates as its step says, as when a worker claims the due step.
   * False when there was nothing to do (decided meanwhile, not due, the run ended).
   */
  resumeDueTask(runId: string, stepId: string, by: string): Promise<boolean | undefined> {
    return this.transact(
      runId,
      async (tx, ctx) => {
        const step = await tx.step(stepId);
        if (step?.status !== 'waiting' || specOf(ctx, step)?.kind !== 'human') return false;
        return (await startStep(tx, ctx, stepId, by, ctx.now)) === 'handled';
      },
      { skipLocked: true },
    );
  }

  /** Ends a run past its deadline `timed_out` (no-op when it already ended). */
  timeout(runId: string): Promise<boolean | undefined> {
    return this.transact(runId, async (tx, ctx) => {
      if (TERMINAL_RUN_STATUSES.has(tx.run.status) || (tx.run.deadlineAt ?? Infinity) > ctx.now) return false;
      const error: ErrorInfo = {
        code: 'run_timed_out',
        message: `run passed its deadline (${new Date(tx.run.deadlineAt!).toISOString()})`,
      };
      await finishRun(tx, ctx, 'timed_out', error);
      return true;
    });
  }

  /** See `Engine.completeTask`. The task's resume lock is held while the decision is applied. */
  async completeTask(taskId: string, input: TaskDecisionInput, actor: Actor, idempotencyKey?: string): Promise<TaskDecisionResult> {
    const { store } = this.o;
    const task = await store.getTask(taskId);
    if (!task) throw new AgentryError('not_found', `task ${taskId} not found`);
    const keyed = idempotencyKey === undefined ? undefined : { key: `task:${taskId}:${idempotencyKey}`, requestHash: specHash({ ...input, by: actor.name }) };
    if (keyed) {
      const earlier = await store.findIdempotencyKey(task.tenantId, actor.name, keyed.key);
      if (earlier) {
        if (earlier.requestHash !== keyed.requestHash) {
          throw new AgentryError('idempotency_conflict', `idempotency key '${idempotencyKey}' was used for another decision on task ${taskId}`);
        }
        return { task: (await store.getTask(taskId)) ?? task, replayed: true };
      }
    }
    if (task.status !== 'open') {
      throw new AgentryError('conflict', `task ${taskId} is ${task.status}; it cannot be decided again`, { details: { status: task.status } });
    }
    if (!mayDecide(task, actor)) {
      const who = [task.role && `role ${task.role}`, task.assignees && `assignees ${task.assignees.join(', ')}`].filter(Boolean).join(' or ');
      throw new AgentryError('forbidden', `${actor.name} may not decide task ${taskId} (it is for ${who})`);
    }
    checkDecision(task, input);
    const owner = newId('lck');
    const span = startLockSpan(taskId, TASK_LOCK_TTL_MS);
    let lock: TaskLockResult | undefined;
    try {
      lock = await store.lockTask(taskId, owner, this.o.now() + TASK_LOCK_TTL_MS);
      span?.acquired(lock);
    } finally {
      if (lock !== 'acquired') span?.end();
    }
    if (lock === 'missing') throw new AgentryError('not_found', `task ${taskId} not found`);
    if (lock === 'decided') {
      const now = await store.getTask(taskId);
      throw new AgentryError('conflict', `task ${taskId} is ${now?.status ?? 'gone'}; it cannot be decided again`, { details: { status: now?.status } });
    }
    if (lock === 'locked') {
      throw new AgentryError('resource_locked', `another decision on task ${taskId} is being applied; try again shortly`, {
        details: { lock: `task:${taskId}` },
      });
    }
    try {
      const decided = await this.transact(task.runId, async (tx, ctx) => {
        const result = await decideTask(tx, ctx, taskId, input, actor);
        if (keyed) await tx.recordIdempotencyKey(keyed.key, keyed.requestHash, actor.name);
        return result;
      });
      if (!decided) throw new AgentryError('not_found', `run ${task.runId} of task ${taskId} not found`);
      return { task: decided, replayed: false };
    } finally {
      await store.unlockTask(taskId, owner).catch(() => undefined);
      span?.end();
    }
  }

  /** See `Engine.sendSignal`. */
  async sendSignal(runId: string, name: string, payload: unknown): Promise<{ signal: SignalRecord; duplicate: boolean }> {
    const sent = await this.transact(runId, (tx, ctx) => deliverSignal(tx, ctx, name, payload));
    if (!sent) throw new AgentryError('not_found', `run ${runId} not found`);
    return sent;
  }

  /** Reads the policy in force before a claim: starting a `workflow:` step's child run judges it inside the transaction. */
  private async refreshPolicy(): Promise<void> {
    this.policyCheck = await this.policy?.current();
  }

  private context(wf: CompiledWorkflow, now: number): TransitionContext {
    return {
      wf,
      env: this.o.env,
      now,
      policy: this.policyCheck,
      workflowNamed: (name) => this.o.workflows.get(name),
      workflowOf: (run) => this.workflowOf(run),
      effects: newEffects(),
    };
  }

  private async transact<T>(runId: string, fn: (tx: RunTx, ctx: TransitionContext) => Promise<T>, options?: WithRunOptions): Promise<T | undefined> {
    let effects = newEffects();
    const result = await this.o.store.withRun(
      runId,
      (tx) => {
        const ctx = this.context(this.workflowOf(tx.run), this.o.now()); // a retried transaction starts over with empty effects
        effects = ctx.effects;
        return fn(redactingTx(tx, this.redactor), ctx);
      },
      options,
    );
    this.apply(effects);
    return result;
  }

  /** Acts on what the committed transaction attempt collected (never on a rolled-back one's). */
  private apply(effects: TransitionEffects): void {
    if (effects.events.length > 0) this.o.onCommitted?.(effects.events);
    // Whichever process ends a run exports its span.
    if (isTracingOn()) for (const { event, run } of effects.events) if (RUN_END_EVENTS.has(event.type)) endRunSpan(run);
    if (effects.wake) this.o.onWake();
    for (const [runId, status] of effects.finished) this.o.onFinished(runId, status);
    for (const { runId, stepId } of effects.aborted) this.o.onAbortStep(runId, stepId);
  }
}
