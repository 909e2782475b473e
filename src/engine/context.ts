/**
 * What every transition shares: the context of one transaction attempt, the effects it
 * collects for after the commit, and the small helpers all of them use. The transitions
 * themselves live one use case per module (advance.ts, start-step.ts, completion.ts,
 * failure.ts, waiting.ts, map-steps.ts, run-end.ts, control.ts, child-runs.ts, signals.ts,
 * task-decisions.ts); each is called inside one store transaction that holds the run's lock
 * (`RunTx`). They decide; the store records.
 */
import type { CompiledStep, CompiledWorkflow } from '../spec/model.js';
import type { AttemptPatch, RunTx } from '../store/store.js';
import type { RunPolicyCheck } from './run-policy.js';
import { TERMINAL_RUN_STATUSES, type EventRecord, type EventType, type RunRecord, type RunStatus, type StepRecord } from '../types.js';

/** An event a committed transaction appended, with its run as the transaction left it then. */
export interface CommittedEvent {
  event: EventRecord;
  run: RunRecord;
}

/** What the caller should do after the transaction commits. Collected per attempt: a retried transaction starts empty. */
export interface TransitionEffects {
  /** Steps were queued that are due now: wake the workers. */
  wake: boolean;
  /** Runs that ended (this one, children cancelled with it); their running work must be aborted. */
  finished: Map<string, RunStatus>;
  /** Single steps whose running attempts must be aborted (items of a map that failed). */
  aborted: { runId: string; stepId: string }[];
  /** Events appended (to this run and to others changed with it), in order; published once committed. */
  events: CommittedEvent[];
}

export interface TransitionContext {
  wf: CompiledWorkflow;
  env: NodeJS.ProcessEnv;
  now: number;
  /** The environment policy a child run is judged by (`run-policy.ts`); undefined: none. */
  policy: RunPolicyCheck | undefined;
  /** The project's workflow of that name (what a `workflow:` step starts), if loaded. */
  workflowNamed: (name: string) => CompiledWorkflow | undefined;
  /** The compiled workflow another run (a parent or child) was started with. */
  workflowOf: (run: RunRecord) => CompiledWorkflow;
  /** Shared by every run this transaction attempt changes. */
  effects: TransitionEffects;
}

export function newEffects(): TransitionEffects {
  return { wake: false, finished: new Map(), aborted: [], events: [] };
}

/** The context of another run (a parent or a child) changed in the same transaction. */
export function contextFor(ctx: TransitionContext, run: RunRecord): TransitionContext {
  return run.specHash === ctx.wf.hash ? ctx : { ...ctx, wf: ctx.workflowOf(run) };
}

/** The compiled step a step row runs: its own, or its map step's for an item. */
export function specOf(ctx: TransitionContext, step: Pick<StepRecord, 'stepId' | 'parentStep'>): CompiledStep | undefined {
  return ctx.wf.steps.get(step.parentStep ?? step.stepId);
}

export function isTerminalRun(tx: RunTx): boolean {
  return TERMINAL_RUN_STATUSES.has(tx.run.status);
}

/**
 * Appends an event to `tx`'s run and records it in the effects, so that it is published
 * once (and only if) the transaction commits. Every event a transition appends goes
 * through here.
 */
export async function emit(tx: RunTx, ctx: TransitionContext, type: EventType, data?: Record<string, unknown>, stepId?: string | null): Promise<EventRecord> {
  const event = await tx.appendEvent(type, data, stepId);
  ctx.effects.events.push({ event, run: tx.run });
  return event;
}

/**
 * Ends an attempt's row with `patch` (its final status and `finishedAt`) and returns what the
 * event reporting that end carries about it: `duration_ms`, from the attempt's start (the
 * metrics' step duration histogram reads it from the committed event).
 */
export async function endAttempt(
  tx: RunTx,
  ctx: TransitionContext,
  stepId: string,
  attempt: number,
  patch: AttemptPatch & { finishedAt: number },
): Promise<{ duration_ms?: number }> {
  const startedAt = await tx.updateAttempt(stepId, attempt, patch);
  return startedAt === undefined ? {} : { duration_ms: Math.max(0, ctx.now - startedAt) };
}

export async function insertAttempt(
  tx: RunTx,
  ctx: TransitionContext,
  stepId: string,
  attempt: number,
  workerId: string | null,
  input: unknown,
  status: 'running' | 'suspended' = 'running',
): Promise<void> {
  await tx.insertAttempt({
    runId: tx.run.id,
    stepId,
    attempt,
    status,
    workerId,
    input,
    output: null,
    error: null,
    startedAt: ctx.now,
    finishedAt: null,
  });
}
