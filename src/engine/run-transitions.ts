/**
 * Runs each transition in its own transaction on the run's lock, then acts on what it
 * says: wake workers when work became due, abort local work of a run that ended.
 */
import { AgentryError, type ErrorInfo } from '../errors.js';
import { compileWorkflow, specHash } from '../spec/index.js';
import type { CompiledWorkflow, StepKind } from '../spec/model.js';
import type { StepResult } from '../runtime/types.js';
import { IdempotencyKeyUsed, type IdempotencyRecord, type RunTx, type Store, type WithRunOptions } from '../store/store.js';
import { newId } from '../ids.js';
import { TERMINAL_RUN_STATUSES, type AttemptKey, type RunRecord, type RunStatus } from '../types.js';
import {
  advance,
  completeStep,
  expireLease,
  failStep,
  finishRun,
  newEffects,
  startStep,
  type TransitionContext,
  type TransitionEffects,
} from './transitions.js';
import { assertMatches } from './output.js';

export interface RunTransitionsOptions {
  store: Store;
  env: NodeJS.ProcessEnv;
  availableKinds: ReadonlySet<StepKind>;
  now: () => number;
  /** Work became due now. */
  onWake: () => void;
  /** A run reached a terminal status. */
  onFinished: (runId: string, status: RunStatus) => void;
}

export interface StartRunOptions {
  tenantId?: string;
  priority?: number;
  /** Starting again with the same key returns the first run instead of a new one. */
  idempotencyKey?: string;
}

export interface StartedRun {
  run: RunRecord;
  /** True when the idempotency key had been used before and `run` is that first run. */
  replayed: boolean;
}

export interface Claim {
  key: AttemptKey;
  kind: StepKind;
  workflow: string;
  tenantId: string;
  config: unknown;
  /** The step's rendered `input:` (agent and workflow steps). */
  input: unknown;
  state: unknown;
  timeoutMs: number | undefined;
  /** The workflow's `budget:`. */
  budget: { maxTokens?: number; maxCostUsd?: number } | undefined;
}

const MAX_CACHED_SPECS = 256;

export class RunTransitions {
  private readonly compiled = new Map<string, CompiledWorkflow>();

  constructor(private readonly o: RunTransitionsOptions) {}

  /** The compiled workflow a run was started with (from its stored snapshot). */
  workflowOf(run: RunRecord): CompiledWorkflow {
    let wf = this.compiled.get(run.specHash);
    if (!wf) {
      wf = compileWorkflow(run.spec, { availableKinds: this.o.availableKinds });
      if (this.compiled.size >= MAX_CACHED_SPECS) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(run.specHash, wf);
    }
    return wf;
  }

  async create(wf: CompiledWorkflow, input: unknown, options: StartRunOptions = {}): Promise<StartedRun> {
    const tenantId = options.tenantId ?? 'default';
    const priority = options.priority ?? 0;
    const key = options.idempotencyKey;
    const requestHash = specHash({ workflow: wf.name, input: input ?? null, priority });
    if (key !== undefined) {
      const existing = await this.o.store.findIdempotencyKey(tenantId, key);
      if (existing) return this.replay(existing, requestHash);
    }
    if (wf.inputSchema) assertMatches(wf.inputSchema, input, 'input_invalid', 'run input');
    const now = this.o.now();
    const id = newId('run', now);
    this.compiled.set(wf.hash, wf);
    const run = {
      id,
      tenantId,
      workflow: wf.name,
      specHash: wf.hash,
      spec: wf.spec,
      status: 'queued' as const,
      input: input ?? null,
      output: null,
      error: null,
      priority,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      deadlineAt: wf.deadlineMs === undefined ? null : now + wf.deadlineMs,
    };
    const steps = wf.order.map((stepId) => ({ runId: id, stepId, kind: wf.steps.get(stepId)!.kind, status: 'pending' as const }));
    const effects = newEffects();
    try {
      const created = await this.o.store.createRun(
        run,
        steps,
        async (tx) => {
          await tx.appendEvent('run.created', { workflow: wf.name, spec_hash: wf.hash, priority });
          await advance(tx, { wf, env: this.o.env, now }, effects);
          return tx.run;
        },
        key === undefined ? undefined : { key, requestHash },
      );
      this.apply(id, effects);
      return { run: created, replayed: false };
    } catch (error) {
      if (error instanceof IdempotencyKeyUsed) return this.replay(error.record, requestHash);
      throw error;
    }
  }

  private async replay(record: IdempotencyRecord, requestHash: string): Promise<StartedRun> {
    if (record.requestHash !== requestHash) {
      throw new AgentryError(
        'idempotency_conflict',
        `idempotency key '${record.key}' was used for a different request (run ${record.runId})`,
        { details: { run_id: record.runId } },
      );
    }
    const run = await this.o.store.getRun(record.runId);
    if (!run) throw new AgentryError('not_found', `run ${record.runId} of idempotency key '${record.key}' no longer exists`);
    return { run, replayed: true };
  }

  /**
   * Claims a due step for `workerId`. Undefined when it is not due any more, or when another
   * transaction holds its run (the claim does not wait: the worker tries other work).
   */
  startStep(runId: string, stepId: string, workerId: string, leaseExpiresAt: number): Promise<Claim | undefined> {
    return this.transact(
      runId,
      async (tx, ctx, effects) => {
        const started = await startStep(tx, ctx, stepId, workerId, leaseExpiresAt, effects);
        if (!started) return undefined;
        const spec = ctx.wf.steps.get(stepId)!;
        const budget = ctx.wf.spec.budget as { max_tokens?: number; max_cost_usd?: number } | undefined;
        return {
          ...started,
          kind: spec.kind,
          workflow: ctx.wf.name,
          tenantId: tx.run.tenantId,
          timeoutMs: spec.timeoutMs,
          budget: budget && {
            ...(budget.max_tokens === undefined ? {} : { maxTokens: budget.max_tokens }),
            ...(budget.max_cost_usd === undefined ? {} : { maxCostUsd: budget.max_cost_usd }),
          },
        };
      },
      { skipLocked: true },
    );
  }

  completeStep(key: AttemptKey, workerId: string, result: StepResult): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx, effects) => completeStep(tx, ctx, key, workerId, result, effects));
  }

  failStep(key: AttemptKey, workerId: string, error: AgentryError): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx, effects) => failStep(tx, ctx, key, workerId, error, effects));
  }

  expireLease(key: AttemptKey, force = false): Promise<boolean | undefined> {
    return this.transact(key.runId, (tx, ctx, effects) => expireLease(tx, ctx, key, effects, force));
  }

  /** Cancels a run that has not finished; a finished one is a `conflict`. */
  async cancel(runId: string, reason = 'cancelled by request'): Promise<RunRecord> {
    const run = await this.transact(runId, async (tx, ctx, effects) => {
      if (TERMINAL_RUN_STATUSES.has(tx.run.status)) {
        throw new AgentryError('conflict', `run ${runId} already ended ${tx.run.status}; it cannot be cancelled`, {
          details: { status: tx.run.status },
        });
      }
      await finishRun(tx, ctx, 'cancelled', { code: 'cancelled', message: reason }, effects);
      return tx.run;
    });
    if (!run) throw new AgentryError('not_found', `run ${runId} not found`);
    return run;
  }

  /** Ends a run past its deadline `timed_out` (no-op when it already ended). */
  timeout(runId: string): Promise<boolean | undefined> {
    return this.transact(runId, async (tx, ctx, effects) => {
      if (TERMINAL_RUN_STATUSES.has(tx.run.status) || (tx.run.deadlineAt ?? Infinity) > ctx.now) return false;
      const error: ErrorInfo = {
        code: 'run_timed_out',
        message: `run passed its deadline (${new Date(tx.run.deadlineAt!).toISOString()})`,
      };
      await finishRun(tx, ctx, 'timed_out', error, effects);
      return true;
    });
  }

  private async transact<T>(
    runId: string,
    fn: (tx: RunTx, ctx: TransitionContext, effects: TransitionEffects) => Promise<T>,
    options?: WithRunOptions,
  ): Promise<T | undefined> {
    let effects = newEffects();
    const result = await this.o.store.withRun(
      runId,
      (tx) => {
        effects = newEffects(); // a retried transaction starts over
        return fn(tx, { wf: this.workflowOf(tx.run), env: this.o.env, now: this.o.now() }, effects);
      },
      options,
    );
    this.apply(runId, effects);
    return result;
  }

  private apply(runId: string, effects: TransitionEffects): void {
    if (effects.wake) this.o.onWake();
    if (effects.finished) this.o.onFinished(runId, effects.finished);
  }
}
