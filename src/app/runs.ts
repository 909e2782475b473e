/**
 * Runs as the API and the CLI act on them: start (optionally waiting for the end), list, get
 * with steps, children and usage, cancel, retry or re-run, a step's attempts, a map step's
 * items, an agent step's journal, and the run's events (a page, or followed as they happen). Every method takes the
 * caller and answers `not_found` for a run of a tenant it is not scoped to, or one another key
 * started when the caller reaches only its own runs (`assertRunAccess`). A run is owned by
 * whoever started it; a retry by whoever retried it.
 */
import { AgentryError } from '../lib/errors.js';
import { pause } from '../lib/sleep.js';
import type { RunListQuery as StoreRunListQuery } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type RunOverrides, type RunRecord } from '../types.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { AuditService } from './audit.js';
import { assertRunAccess, assertVisible, runFilter, tenantFilter, type Caller } from './caller.js';
import {
  attemptHistoryDto,
  childRunDto,
  eventDto,
  runDto,
  runListItemDto,
  stepDto,
  type AttemptHistoryDto,
  type EventDto,
  type EventPageDto,
  type MapItemPageDto,
  type RetriedRunDto,
  type RunChangeDto,
  type RunChangePageDto,
  type RunDetailDto,
  type RunDto,
  type RunPageDto,
} from './dto/runs.js';
import type { StepJournalDto } from './dto/journal.js';
import { usageTotals } from './dto/usage.js';
import { stepJournal, type JournalQuery } from './journal.js';
import { followRunEvents, type FollowOptions } from './run-events.js';
import { followRunChanges, type RunChangeOptions } from './run-changes.js';
import type { ServiceDeps } from './service-deps.js';
import { DEFAULT_RUN_START_LIMITS, planRun, type RunTarget } from './run-start.js';
import type { RunDiffDto } from './dto/run-diff.js';
import { diffRuns } from './run-diff.js';
import type { CheckpointDiffDto, CheckpointPageDto } from './dto/checkpoints.js';
import { diffCheckpoints, listCheckpoints } from './run-checkpoints.js';

export interface StartOptions {
  /** Starting again with the same key returns the first run (`replayed`). */
  idempotencyKey?: string;
  priority?: number;
  /** Labels of the run (string → string). */
  metadata?: Record<string, string> | undefined;
  /** Overrides of settings the workflow marks `overridable:`. */
  overrides?: RunOverrides | undefined;
  /** The run's own deadline: a duration from now (`30m`) or an ISO 8601 time. */
  deadline?: string | undefined;
  /** Wait for the run to end, at most this long (or until `signal` aborts). */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface StartedRunDto {
  run: RunDto;
  /** An idempotency key returned an earlier run. */
  replayed: boolean;
  /** The run had ended when `start` returned (only ever true with `waitMs`). */
  ended: boolean;
}

/** The longest text a listing searches run ids for (`?q=`, `runs list --search`): an id is its prefix and 26 characters. */
export const RUN_SEARCH_MAX = 64;

/** A listing as a caller asks for it; the tenant comes from the caller. */
export type RunListQuery = Omit<StoreRunListQuery, 'tenantId'>;

export interface MapItemQuery {
  offset: number;
  limit: number;
}

/** What a refused run start's `Retry-After` says while the deployment is quiesced. */
const QUIESCED_RETRY_AFTER_MS = 60_000;

/** How long one wait for a run's end sleeps at most between looks at the run. */
const END_WAIT_SLICE_MS = { woken: 250, polling: 50 } as const;

const stepOrders = new WeakMap<CompiledWorkflow, ReadonlyMap<string, number>>();

/** Each step's position in the workflow's order (dependencies first), computed once per compiled workflow. */
function stepOrder(wf: CompiledWorkflow): ReadonlyMap<string, number> {
  let order = stepOrders.get(wf);
  if (!order) stepOrders.set(wf, (order = new Map(wf.order.map((stepId, i) => [stepId, i]))));
  return order;
}

export class RunService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
  ) {}

  /**
   * The run a gateway call is recorded against, if it is in the caller's tenant (`not_found`
   * otherwise). Not limited to the caller's own runs: a worker's key records the calls of every
   * run's agent steps (docs/gateway.md).
   */
  async forGatewayCall(caller: Caller, id: string): Promise<RunDto> {
    const run = await this.deps.engine.getRun(id);
    assertVisible(caller, run.tenantId, `run ${id}`);
    return runDto(run);
  }

  /** Starts a run of a workflow of the project. */
  async start(caller: Caller, workflow: string, input: unknown, options: StartOptions = {}): Promise<StartedRunDto> {
    return this.launch(caller, { workflow }, input, options);
  }

  /**
   * Starts an ad-hoc run: of a workflow spec given inline (YAML text or an object), validated
   * like a file of the project and stored as the run's snapshot. Needs `specs:write` (checked by
   * the route; the CLI's local user has every scope).
   */
  async startAdhoc(caller: Caller, spec: string | Record<string, unknown>, input: unknown, options: StartOptions = {}): Promise<StartedRunDto> {
    return this.launch(caller, { spec }, input, options);
  }

  /**
   * The one start path: plan (checks, compile), create (audited; the engine judges the run by the
   * active environment's policy first: a refused run leaves nothing behind), then wait if asked.
   */
  private async launch(caller: Caller, target: RunTarget, input: unknown, options: StartOptions): Promise<StartedRunDto> {
    await this.assertAcceptingRuns();
    const plan = planRun(this.deps.engine, this.deps.runLimits ?? DEFAULT_RUN_START_LIMITS, {
      target,
      metadata: options.metadata,
      overrides: options.overrides,
      deadline: options.deadline,
    });
    const { run, replayed } = await this.audit.audited(
      caller,
      'run.start',
      `workflow:${plan.wf.name}`,
      () =>
        this.deps.engine.startCompiledRun(plan.wf, input, {
          ...tenantFilter(caller),
          createdBy: caller.name,
          ...plan.options,
          ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
          ...(options.priority === undefined ? {} : { priority: options.priority }),
        }),
      (started) => ({ run_id: started.run.id, replayed: started.replayed, ...(plan.options.adhoc === true ? { adhoc: true } : {}) }),
    );
    const current = options.waitMs === undefined ? run : await this.waitForEnd(run, options.waitMs, options.signal);
    return { run: runDto(current), replayed, ended: TERMINAL_RUN_STATUSES.has(current.status) };
  }

  async list(caller: Caller, query: RunListQuery): Promise<RunPageDto> {
    const { search } = query;
    if (search !== undefined && (search.length === 0 || search.length > RUN_SEARCH_MAX)) {
      throw new AgentryError('invalid_request', `the id search must be 1 to ${RUN_SEARCH_MAX} characters`);
    }
    const page = await this.deps.store.listRuns({ ...query, ...runFilter(caller) });
    return { items: page.items.map(runListItemDto), next_cursor: page.nextCursor };
  }

  /** The run with its steps in the workflow's order, the runs it started, and its LLM usage. */
  async get(caller: Caller, id: string): Promise<RunDetailDto> {
    const { engine, store } = this.deps;
    // One statement for the run, its steps and usage (and one more each only for a run with children, with artifacts).
    const view = await store.runView(id);
    if (!view) throw new AgentryError('not_found', `run ${id} not found`);
    const { run } = view;
    assertRunAccess(caller, run, 'read');
    const [children, artifacts] =
      view.hasChildren || view.hasArtifacts
        ? await Promise.all([view.hasChildren ? engine.childRuns(id) : [], view.hasArtifacts ? store.artifacts.list(id) : []])
        : [[], []];
    const order = stepOrder(engine.transitions.workflowOf(run));
    const steps = view.steps.sort((a, b) => (order.get(a.stepId) ?? Infinity) - (order.get(b.stepId) ?? Infinity));
    return {
      ...runDto(run),
      steps: steps.map(stepDto),
      children: children.map(childRunDto),
      usage: usageTotals([view.usage]),
      artifacts: artifacts.map((a) => a.name),
    };
  }

  /** Cancels a run that has not ended; the reason defaults to who cancelled it. */
  async cancel(caller: Caller, id: string, reason?: string): Promise<RunDto> {
    return this.audit.audited(caller, 'run.cancel', `run:${id}`, async () => {
      await this.visible(caller, id, 'write');
      return runDto(await this.deps.engine.cancelRun(id, reason ?? `cancelled by ${caller.name}`));
    });
  }

  /**
   * A new run of the same spec and input, from the failed step or (with `fromStep`) from that
   * step. The caller who retried owns the new run.
   */
  async retry(caller: Caller, id: string, options: { fromStep?: string } = {}): Promise<RetriedRunDto> {
    await this.assertAcceptingRuns();
    return this.audit.audited(
      caller,
      'run.retry',
      `run:${id}`,
      async () => {
        await this.visible(caller, id, 'write');
        return { ...runDto(await this.deps.engine.retryRun(id, { ...options, createdBy: caller.name })), retry_of: id };
      },
      (retried) => ({ new_run_id: retried.id, ...(options.fromStep === undefined ? {} : { from_step: options.fromStep }) }),
    );
  }

  /**
   * What differs from run `a` to run `b` (`diffRuns`), at most `limit` differences. Both runs
   * must be readable by the caller: another tenant's run, or another key's where the caller
   * reaches only its own, is `not_found`.
   */
  async diff(caller: Caller, a: string, b: string, limit: number): Promise<RunDiffDto> {
    const left = await this.get(caller, a);
    const right = await this.get(caller, b);
    return diffRuns(left, right, limit);
  }

  /** A page of the run's checkpoints (its `run.*` and `step.*` events) after seq `after`. */
  async checkpoints(caller: Caller, id: string, after: number, limit: number): Promise<CheckpointPageDto> {
    await this.visible(caller, id, 'read');
    return listCheckpoints(this.deps.store, id, after, limit);
  }

  /** What changed in the run's state from checkpoint `from` to `to` (see `run-checkpoints.ts`). */
  async checkpointDiff(caller: Caller, id: string, from: number, to: number, limit: number): Promise<CheckpointDiffDto> {
    await this.visible(caller, id, 'read');
    const { run, steps } = await this.deps.engine.getRunWithSteps(id);
    return diffCheckpoints(this.deps.store, { run, steps }, from, to, limit);
  }

  /** A step's attempts across the run and the runs it re-ran; with `diff` (1-based positions), what changed. */
  async attempts(caller: Caller, id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    await this.visible(caller, id, 'read');
    return attemptHistoryDto(await this.deps.engine.stepAttempts(id, step), diff);
  }

  /** A page of a `for_each` step's items, in input order. */
  async items(caller: Caller, id: string, step: string, page: MapItemQuery): Promise<MapItemPageDto> {
    const run = await this.visible(caller, id, 'read');
    const spec = this.deps.engine.transitions.workflowOf(run).steps.get(step);
    if (!spec) throw new AgentryError('not_found', `run ${id} has no step '${step}'`);
    if (!spec.forEach) throw new AgentryError('invalid_request', `step '${step}' has no for_each; it has no items`);
    const { offset, limit } = page;
    const rows = await this.deps.store.listItems(id, step, { offset, limit: limit + 1 });
    const items = rows.slice(0, limit).map((row) => ({ ...stepDto(row), index: row.itemIndex ?? 0, item: row.item }));
    return { items, next_offset: rows.length > limit ? offset + limit : null };
  }

  /**
   * A page of an agent step's turns (model calls, tool calls with arguments and results, secrets
   * masked) with what the usage ledger adds; `invalid_request` for a step of another kind.
   */
  async journal(caller: Caller, id: string, step: string, query: JournalQuery): Promise<StepJournalDto> {
    return stepJournal(this.deps, await this.visible(caller, id, 'read'), step, query);
  }

  /** Up to `limit` events after seq `after`, in order. */
  async events(caller: Caller, id: string, after: number, limit: number): Promise<EventPageDto> {
    await this.visible(caller, id, 'read');
    const events = await this.deps.store.listEvents(id, after, limit);
    return { items: events.map(eventDto), next_after: events.at(-1)?.seq ?? after };
  }

  /**
   * The run's events as they happen (see `followRunEvents`). Whether the run exists and is
   * visible is checked before this resolves, so a caller can answer `not_found` before it
   * starts streaming.
   */
  async follow(caller: Caller, id: string, options: FollowOptions): Promise<AsyncGenerator<EventDto>> {
    await this.visible(caller, id, 'read');
    return followRunEvents(this.deps, id, options);
  }

  /**
   * The changes of the runs the caller may list, as they happen (see `followRunChanges`): a bad
   * `after` is `invalid_request` here, before a caller starts streaming.
   */
  changes(caller: Caller, options: RunChangeOptions): AsyncGenerator<RunChangeDto> {
    return followRunChanges(this.deps, caller, options);
  }

  /** The changes up to now after `options.after` (one look), at most `limit`. */
  async changePage(caller: Caller, options: Omit<RunChangeOptions, 'once' | 'signal'>, limit: number): Promise<RunChangePageDto> {
    const stop = new AbortController();
    const items: RunChangeDto[] = [];
    for await (const change of followRunChanges(this.deps, caller, { ...options, once: true, signal: stop.signal })) {
      items.push(change);
      if (items.length >= limit) stop.abort();
    }
    return { items, next_after: items.at(-1)?.id ?? options.after ?? null };
  }

  /**
   * `maintenance_quiesced` while the deployment is quiesced (`agentry maintenance on --quiesce`):
   * no new run is accepted, while the accepted ones finish. Checked before the audit entry, so a
   * client retrying through a quiesce writes nothing.
   */
  private async assertAcceptingRuns(): Promise<void> {
    const m = await this.deps.store.getMaintenance();
    if (m?.quiesce !== true) return;
    const reason = m.reason === null ? '' : ` (${m.reason})`;
    throw new AgentryError(
      'maintenance_quiesced',
      `the deployment is quiesced for maintenance since ${new Date(m.startedAt).toISOString()}${reason}: it accepts no new runs until agentry maintenance off; runs already accepted finish`,
      { retryable: true, retryAfterMs: QUIESCED_RETRY_AFTER_MS },
    );
  }

  /** The run, if the caller may read it or act on it (see `assertRunAccess`). */
  private async visible(caller: Caller, id: string, access: 'read' | 'write'): Promise<RunRecord> {
    const run = await this.deps.engine.getRun(id);
    assertRunAccess(caller, run, access);
    return run;
  }

  /** Waits for the run to end, `signal` to abort, or `ms` to pass; returns the run as it is then. */
  private async waitForEnd(run: RunRecord, ms: number, signal: AbortSignal | undefined): Promise<RunRecord> {
    const { engine, waker } = this.deps;
    const deadline = Date.now() + ms;
    let current = run;
    while (!TERMINAL_RUN_STATUSES.has(current.status) && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (waker) await waker.wait(run.id, Math.min(left, END_WAIT_SLICE_MS.woken), signal, current.eventSeq);
      else await pause(Math.min(left, END_WAIT_SLICE_MS.polling), signal);
      current = await engine.getRun(run.id);
    }
    return current;
  }
}
