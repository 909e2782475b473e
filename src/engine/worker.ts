/**
 * The worker pool: claims due steps up to its concurrency, runs each attempt with an
 * AbortSignal, renews its leases with heartbeats and records each result.
 */
import type { Logger } from 'pino';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import type { Notifier } from '../queue/notifier.js';
import type { ExecutorSettings, StepResult } from '../runtime/types.js';
import { ARTIFACT_LIMIT_DEFAULTS, stepArtifacts } from '../runtime/artifacts.js';
import type { ExecutorRegistry } from '../runtime/registry.js';
import type { DueStep, Store } from '../store/store.js';
import type { StoreKind } from '../store/store-types.js';
import { OutageLog, isTransient, withRetry } from '../store/transient.js';
import { isItemStepId, type AttemptKey, type RunRecord } from '../types.js';
import { isTracingOn, withSpan } from '../obs/tracing.js';
import type { LoopStatus } from './loop-status.js';
import { ResultBatcher } from './result-batch.js';
import type { RunTransitions } from './run-transitions.js';
import type { Claim } from './run-transitions-types.js';
import { endAttemptSpan, startAttemptSpan, traceClaim, type AttemptOutcome } from './tracing.js';

export interface WorkerOptions {
  store: Store;
  transitions: RunTransitions;
  executors: ExecutorRegistry;
  executorSettings: ExecutorSettings;
  notifier: Notifier;
  logger: Logger;
  workerId: string;
  concurrency: number;
  leaseTtlMs: number;
  pollIntervalMs: number;
  now: () => number;
  /**
   * How long a finished attempt's result is retried while the database is unreachable
   * (default 60 s, longer than a typical database restart). Past it the result is dropped,
   * the lease lapses and the step runs again.
   */
  recordRetryMs?: number;
}

export const DEFAULT_RECORD_RETRY_MS = 60_000;

interface InFlight {
  key: AttemptKey;
  workflow: string;
  controller: AbortController;
  done: Promise<void>;
  /** Its attempt runs (takes a slot); false once it ended and only its result is being recorded. */
  executing: boolean;
}

/**
 * Workers in other processes read the same best-first list of due steps. Each reads a few
 * times more candidates than it has free slots and picks among those of equal priority at
 * random, so that they mostly claim different steps instead of racing for the same ones
 * (a lost race costs a transaction). Priority still decides; order among equally urgent
 * due steps is first-come only within that window. An SQLite file has one process working
 * on it (a single host, one server), so it reads one candidate per slot: nobody to spread
 * against, and the due-steps read is a third of the rows.
 */
const CANDIDATES_PER_SLOT: Record<StoreKind, number> = { postgres: 3, sqlite: 1 };

function spread(due: DueStep[], count: number): DueStep[] {
  const picked: DueStep[] = [];
  for (let start = 0; start < due.length && picked.length < count;) {
    let end = start;
    while (end < due.length && due[end]!.priority === due[start]!.priority) end++;
    const group = due.slice(start, end);
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
    picked.push(...group.slice(0, count - picked.length));
    start = end;
  }
  return picked;
}

const keyOf = (k: { runId: string; stepId: string }) => `${k.runId}/${k.stepId}`;

/** Rejects when `signal` aborts, with its reason; never settles otherwise. */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(toAgentryError(signal.reason));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** What every line about an attempt names (the executor's lines too: they log through a child with these). */
function attemptFields(claim: Claim): Record<string, unknown> {
  const { key } = claim;
  return { run_id: key.runId, step_id: key.stepId, attempt: key.attempt, workflow: claim.workflow, tenant_id: claim.tenantId };
}

export class Worker {
  /** The steps this pool holds: attempts running, and attempts ended whose results are being recorded. */
  private readonly inflight = new Map<string, InFlight>();
  /** Of `inflight`, the attempts running: what takes a slot. */
  private executing = 0;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly claimOutage: OutageLog;
  private readonly renewOutage: OutageLog;
  /** Results that finish together are recorded in one transaction. */
  private readonly results: ResultBatcher;
  private lastRoundAt: number | undefined;
  private roundStartedAt: number | undefined;
  private lastError: string | undefined;

  constructor(private readonly o: WorkerOptions) {
    this.claimOutage = new OutageLog(o.logger, 'claiming steps');
    this.renewOutage = new OutageLog(o.logger, 'renewing leases');
    this.results = new ResultBatcher(o.transitions);
  }

  /** Attempts running now (not those only waiting for their results to be recorded). */
  get activeCount(): number {
    return this.executing;
  }

  /** The claim loop: running or stopping, and when it last looked for due steps. */
  get status(): LoopStatus {
    return {
      state: this.stopping.signal.aborted ? 'stopping' : 'running',
      lastRoundAt: this.lastRoundAt,
      roundStartedAt: this.roundStartedAt,
      lastError: this.lastError,
      intervalMs: this.o.pollIntervalMs,
    };
  }

  get concurrency(): number {
    return this.o.concurrency;
  }

  /** Attempts running now, by the workflow of their run. */
  activeByWorkflow(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { workflow, executing } of this.inflight.values()) if (executing) counts.set(workflow, (counts.get(workflow) ?? 0) + 1);
    return counts;
  }

  /** True while this pool is running and has a free slot: it will look for due work itself. */
  get hasFreeSlot(): boolean {
    return !this.stopping.signal.aborted && this.freeSlots() > 0;
  }

  /**
   * Slots free to claim into. A slot frees when its attempt ends, before its result is
   * recorded: the next claim's transaction then overlaps the recording one, instead of the
   * pool waiting for each in turn (one transaction in flight per process, the database and the
   * process taking turns). The steps held while their results are recorded count too, up to
   * the concurrency again, so a slow database cannot make the pool hold ever more leases.
   */
  private freeSlots(): number {
    const { concurrency } = this.o;
    return Math.min(concurrency - this.executing, 2 * concurrency - this.inflight.size);
  }

  start(): void {
    this.loop = this.run();
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.o.leaseTtlMs / 3)));
  }

  /** Claims nothing from now on (no new round starts; a round in flight ends with what it read). */
  stopClaiming(): void {
    this.stopping.abort();
  }

  /**
   * Stops claiming, waits up to `graceMs` for running attempts, then aborts the rest and
   * releases their leases, so that their steps are claimable at once (not after the lease TTL).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const all = [...this.inflight.values()];
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(all.map((f) => f.done)), grace]);
    clearTimeout(timer);
    const unfinished = [...this.inflight.values()];
    for (const f of unfinished) f.controller.abort(new AgentryError('lease_expired', 'worker shutting down', { retryable: true }));
    await Promise.all(unfinished.map((f) => f.done));
    clearInterval(this.heartbeat);
    await this.releaseLeases(unfinished.map((f) => f.key));
  }

  /** Hands back aborted attempts; one that cannot be released (database down) lapses with its lease. */
  private async releaseLeases(keys: AttemptKey[]): Promise<void> {
    const outcomes = await Promise.allSettled(keys.map((key) => this.o.transitions.releaseStep(key, this.o.workerId)));
    outcomes.forEach((outcome, i) => {
      const key = keys[i]!;
      const where = { run_id: key.runId, step_id: key.stepId, attempt: key.attempt };
      if (outcome.status === 'rejected') this.o.logger.warn({ ...where, err: outcome.reason }, 'could not release the lease; it lapses after the lease TTL');
      else if (outcome.value === true) this.o.logger.info(where, 'lease released: the step is queued again');
    });
  }

  /** Aborts this worker's running attempt of one step (e.g. an item of a map that failed). */
  abortStep(runId: string, stepId: string, reason: () => AgentryError): void {
    this.inflight.get(keyOf({ runId, stepId }))?.controller.abort(reason());
  }

  /**
   * Aborts this worker's running attempts of a run (it was cancelled or ended). `reason` is
   * made only when one runs here: every run that ends calls this, and an error's stack costs.
   */
  abortRun(runId: string, reason: () => AgentryError): void {
    for (const f of this.inflight.values()) if (f.key.runId === runId) f.controller.abort(reason());
  }

  private async run(): Promise<void> {
    const { store, notifier, now } = this.o;
    while (!this.stopping.signal.aborted) {
      let claimed = 0;
      let missed = 0;
      let failed = false;
      this.roundStartedAt = now();
      try {
        const free = this.freeSlots();
        if (free > 0) {
          const polledAt = isTracingOn() ? Date.now() : 0;
          const candidates = await store.dueSteps(now(), free * CANDIDATES_PER_SLOT[store.kind], this.o.workerId);
          const due = spread(
            candidates.filter((d) => !this.inflight.has(keyOf(d))),
            free,
          );
          // An idle poll is a lease attempt that found nothing to claim.
          if (due.length === 0 && isTracingOn()) traceClaim({ ...this.leaseTrace(), startTime: polledAt, claimed: false });
          const outcomes = await this.claimAll(due);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') throw outcome.reason;
            if (outcome.value) claimed++;
            else missed++;
          }
        }
        this.claimOutage.ok();
      } catch (error) {
        // Database down: logged once per outage; the loop keeps polling until it is back.
        this.claimOutage.failed(error);
        failed = true;
        this.lastError = toAgentryError(error).message;
      }
      if (!failed) this.lastError = undefined;
      this.lastRoundAt = now();
      this.roundStartedAt = undefined;
      if (claimed > 0 && this.freeSlots() > 0) continue;
      const next = !failed && this.freeSlots() > 0 ? await store.nextDueAt(this.o.workerId).catch(() => null) : null;
      let waitMs = next === null ? this.o.pollIntervalMs : Math.min(this.o.pollIntervalMs, next - now());
      // Every candidate was taken by, or locked by, another worker: pause briefly instead of spinning.
      if (missed > 0 && claimed === 0) waitMs = Math.max(waitMs, 5 + Math.random() * 20);
      await notifier.wait(waitMs, this.stopping.signal);
    }
  }

  private leaseTrace(): { workerId: string; leaseTtlMs: number } {
    return { workerId: this.o.workerId, leaseTtlMs: this.o.leaseTtlMs };
  }

  /**
   * Claims the due steps of a round: those of different runs in one transaction (when not
   * tracing, which follows each claim's run), the rest, or all of them should that
   * transaction fail, each in a transaction of its own, side by side (a claim is a few round
   * trips; serial claims would cap a process's rate).
   */
  private async claimAll(due: DueStep[]): Promise<PromiseSettledResult<boolean>[]> {
    // Items of a map wait for their run's lock when claimed alone (see `startStep`): not grouped.
    const runs = new Set(due.map((d) => d.runId));
    if (due.length > 1 && runs.size === due.length && !isTracingOn() && !due.some((d) => isItemStepId(d.stepId))) {
      const { transitions, workerId, now, leaseTtlMs } = this.o;
      try {
        const claims = await transitions.startSteps(due, workerId, now() + leaseTtlMs);
        return claims.map((claim) => ({ status: 'fulfilled', value: this.began(claim) }));
      } catch {
        // One by one below; a failure that persists is theirs to report.
      }
    }
    return Promise.allSettled(due.map((d) => this.claim(d.runId, d.stepId)));
  }

  private async claim(runId: string, stepId: string): Promise<boolean> {
    const { transitions, workerId, now, leaseTtlMs } = this.o;
    const tracing = isTracingOn();
    const startTime = tracing ? Date.now() : 0;
    let run: RunRecord | undefined;
    const claim = await transitions.startStep(runId, stepId, workerId, now() + leaseTtlMs, tracing ? (seen) => (run = seen) : undefined);
    if (tracing) traceClaim({ ...this.leaseTrace(), startTime, step: { runId, stepId }, ...(run ? { run } : {}), claimed: claim !== undefined });
    return this.began(claim);
  }

  /** Starts executing a claimed step; false when nothing was claimed. */
  private began(claim: Claim | 'handled' | undefined): boolean {
    if (!claim) return false;
    if (claim === 'handled') return true; // carried out (or parked) by the engine itself
    const controller = new AbortController();
    const entry: InFlight = { key: claim.key, workflow: claim.workflow, controller, done: Promise.resolve(), executing: true };
    this.inflight.set(keyOf(claim.key), entry);
    this.executing++;
    // The attempt ended: its slot is free while its result is recorded (see `freeSlots`).
    const ended = () => {
      if (!entry.executing) return;
      entry.executing = false;
      this.executing--;
      this.o.notifier.notify();
    };
    entry.done = this.execute(claim, controller, ended)
      .catch((error: unknown) => this.o.logger.error({ err: error, ...attemptFields(claim) }, 'recording a step result failed'))
      .finally(() => {
        ended();
        this.inflight.delete(keyOf(claim.key));
        this.o.notifier.notify();
      });
    return true;
  }

  /** One attempt, inside its span (`agentry.step.attempt`): its log lines and its calls downstream carry the run's trace. */
  private async execute(claim: Claim, controller: AbortController, ended: () => void): Promise<void> {
    const span = startAttemptSpan(claim);
    if (!span) return this.attempt(claim, controller, ended);
    const outcome: AttemptOutcome = {};
    try {
      await withSpan(span, () => this.attempt(claim, controller, ended, outcome));
    } finally {
      endAttemptSpan(span, outcome);
    }
  }

  /**
   * Executes the attempt, says when it `ended`, and records its result; `traced` (tracing on) is
   * told what became of it, for its span.
   */
  private async attempt(claim: Claim, controller: AbortController, ended: () => void, traced?: AttemptOutcome): Promise<void> {
    const { key, kind, config, state, timeoutMs, workflow } = claim;
    const { executors, transitions, workerId } = this.o;
    // Made when first used: most attempts log nothing (a pino child serialises its fields).
    let attemptLogger: Logger | undefined;
    const logger = () => (attemptLogger ??= this.o.logger.child(attemptFields(claim)));
    // Without a timeout the attempt's signal is its controller's (`AbortSignal.any` costs a signal, weak references and listeners per attempt).
    const signal = timeoutMs === undefined ? controller.signal : AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
    let result: StepResult | undefined;
    let failure: AgentryError | undefined;
    try {
      const executor = executors.get(kind);
      if (!executor) throw new AgentryError('executor_unavailable', `no executor for step kind '${kind}'`);
      result = await Promise.race([
        executor.execute(config, {
          runId: key.runId,
          stepId: key.stepId,
          attempt: key.attempt,
          workflow,
          signal,
          ...(timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs }),
          state,
          settings: this.o.executorSettings,
          get logger() {
            return logger();
          },
          input: claim.input,
          tenantId: claim.tenantId,
          ...(claim.model === undefined ? {} : { model: claim.model }),
          ...(claim.budget ? { budget: claim.budget } : {}),
          ...(claim.egress ? { egress: claim.egress } : {}),
          journal: {
            load: () => this.o.store.loadJournal(key.runId, key.stepId),
            // Journals are stored like every other step row: secrets masked.
            append: (entry) => this.o.store.appendJournal(key.runId, key.stepId, transitions.redactor.value(entry)),
          },
          recordEvent: async (type, data) => {
            await transitions.stepEvent(key, workerId, type, data);
          },
          ...(claim.writeArtifacts ? { artifactTool: true } : {}),
          artifacts: stepArtifacts({
            store: this.o.store.artifacts,
            runId: key.runId,
            tenantId: claim.tenantId,
            stepId: key.stepId,
            workflow,
            patterns: claim.artifacts,
            limits: this.o.executorSettings.artifacts ?? ARTIFACT_LIMIT_DEFAULTS,
          }),
        }),
        whenAborted(signal),
      ]);
    } catch (error) {
      failure = toAgentryError(error);
    }
    ended();
    if (controller.signal.aborted) {
      // Cancelled, timed out as a run, or the lease was lost: the store already says what
      // happened to this attempt (or will, when the lease lapses). Record nothing.
      const reason = toAgentryError(controller.signal.reason).code;
      if (traced) traced.aborted = reason;
      logger().info({ reason }, 'step attempt aborted');
      return;
    }
    if (failure && signal.aborted) {
      failure = new AgentryError('step_timeout', `step ${key.stepId} took longer than ${timeoutMs} ms`, { retryable: true });
    }
    const outcome = failure;
    const done = result;
    if (traced) {
      traced.failure = outcome;
      traced.result = done;
    }
    if (!outcome && !done) return;
    // The result must not be lost to a database restart: retry recording it (each try is
    // guarded by the lease, so a try whose commit was cut off cannot apply twice). Give up
    // when the lease is lost or after `recordRetryMs`; then the step runs again.
    let warned = false;
    await withRetry(() => (outcome ? this.results.fail(key, workerId, outcome) : this.results.complete(key, workerId, done!)), {
      attempts: Infinity,
      baseMs: 200,
      maxMs: 5_000,
      deadlineMs: this.o.recordRetryMs ?? DEFAULT_RECORD_RETRY_MS,
      retryIf: isTransient,
      signal: controller.signal,
      onRetry: (error) => {
        if (!warned) logger().warn({ err: error }, 'recording the step result failed; retrying until the database is back');
        warned = true;
      },
    });
    if (warned) logger().info('step result recorded after the database came back');
  }

  private async renewLeases(): Promise<void> {
    if (this.inflight.size === 0) return;
    const entries = [...this.inflight.values()];
    try {
      const held = await this.o.store.renewLeases(
        this.o.workerId,
        entries.map((e) => e.key),
        this.o.now() + this.o.leaseTtlMs,
      );
      const heldKeys = new Set(held.map((k) => `${keyOf(k)}#${k.attempt}`));
      for (const e of entries) {
        if (!heldKeys.has(`${keyOf(e.key)}#${e.key.attempt}`) && this.inflight.get(keyOf(e.key)) === e) {
          e.controller.abort(new AgentryError('lease_expired', 'lease lost: the step was cancelled or re-assigned'));
        }
      }
      this.renewOutage.ok();
    } catch (error) {
      this.renewOutage.failed(error);
    }
  }
}
