/**
 * Workflow schedules. A workflow's `schedule:` (cron, time zone, input, overlap, catch-up)
 * is kept as one row in the store; every scheduler process fires the rows that are due.
 *
 * Exactly one run per tick, however many schedulers run: a tick's run is started with the
 * idempotency key `schedule:<workflow>:<tick as ISO time>`, so schedulers racing on one tick
 * create one run (the others get it back as a replay), and the row then moves on to the next
 * tick with a compare-and-set on `next_at`. The run is created before the row moves, so a
 * crash in between repeats the (idempotent) start instead of losing the tick.
 *
 *   await syncSchedules(store, workflows, Date.now());
 *   const report = await fireDueSchedules({ store, transitions, workflows, logger }, Date.now());
 *
 * Terms: a tick is an instant the cron expression matches (in the schedule's time zone);
 * `next_at` is the first tick not handled yet; a tick is on time while the tick after it has
 * not come yet, and missed once it has (the scheduler was down, or the schedule was paused).
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { AgentryError, type ErrorCode } from '../lib/errors.js';
import { DEFAULT_TENANT } from '../lib/tenant.js';
import { projectWorkflows } from '../spec/builtin.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { WorkflowSpec } from '../spec/schemas.js';
import type { Store } from '../store/store.js';
import { isTransient } from '../store/transient.js';
import { TERMINAL_RUN_STATUSES, type ScheduleRecord } from '../types.js';
import type { RunTransitions } from './run-transitions.js';

/** What a schedule is when its spec leaves a field out (its tenant: the deployment's, `AGENTRY_TENANT`). */
export const SCHEDULE_DEFAULTS = {
  timezone: 'UTC',
  overlap: 'skip',
  catchUp: 'none',
} as const satisfies Pick<ScheduleRecord, 'timezone' | 'overlap' | 'catchUp'>;

/**
 * Cron patterns accepted: 5 fields (minute precision) or 6 (seconds first), or a nickname
 * like `@daily`. `spec/compile.ts` validates with the same mode.
 */
export const CRON_MODE = '5-or-6-parts' as const;

const MAX_CACHED_CRONS = 512;
const crons = new Map<string, Cron>();

/** The parsed pattern (paused: croner never runs a timer for it); cached, patterns repeat on every sweep. */
function cronOf(cron: string, timezone: string): Cron {
  const key = `${timezone}\n${cron}`;
  let parsed = crons.get(key);
  if (parsed === undefined) {
    parsed = new Cron(cron, { timezone, paused: true, mode: CRON_MODE });
    if (crons.size >= MAX_CACHED_CRONS) crons.delete(crons.keys().next().value!);
    crons.set(key, parsed);
  }
  return parsed;
}

/** The first tick strictly after `after` (ms since epoch), or null when the pattern never matches again. */
export function nextTick(cron: string, timezone: string, after: number): number | null {
  return cronOf(cron, timezone).nextRun(new Date(after))?.getTime() ?? null;
}

/** The latest tick in [`from`, `now`] (`from` is a tick itself, so there is one). */
function latestTick(cron: string, timezone: string, from: number, now: number): number {
  // previousRuns looks strictly before its reference, but includes a run earlier in the same second.
  const [previous] = cronOf(cron, timezone).previousRuns(1, new Date(now + 1));
  const at = previous?.getTime();
  return at !== undefined && at >= from && at <= now ? at : from;
}

/** What to do with a due schedule. */
export type TickDecision =
  /** Start the run of `tick`; the schedule then waits for `nextAt`. */
  | { kind: 'fire'; tick: number; nextAt: number | null; caughtUp: boolean }
  /** `catch_up: none` after missed ticks: no run; the schedule waits for `nextAt`. */
  | { kind: 'skip_missed'; firstMissed: number; nextAt: number | null };

/**
 * Decides what a due schedule does at `now` (undefined when it is not due, paused or has no
 * next tick). A tick is on time while the tick after it has not come: it fires. Otherwise
 * ticks were missed: `catch_up: one` fires the most recent missed tick once, `catch_up: none`
 * skips them all and waits for the next tick after `now`.
 */
export function decideTick(schedule: Pick<ScheduleRecord, 'cron' | 'timezone' | 'catchUp' | 'paused' | 'nextAt'>, now: number): TickDecision | undefined {
  const { cron, timezone, nextAt: due } = schedule;
  if (schedule.paused || due === null || due > now) return undefined;
  const following = nextTick(cron, timezone, due);
  if (following === null || following > now) return { kind: 'fire', tick: due, nextAt: following, caughtUp: false };
  if (schedule.catchUp === 'one') {
    const tick = latestTick(cron, timezone, due, now);
    return { kind: 'fire', tick, nextAt: nextTick(cron, timezone, tick), caughtUp: true };
  }
  return { kind: 'skip_missed', firstMissed: due, nextAt: nextTick(cron, timezone, now) };
}

/** The idempotency key of a tick's run: the same in every scheduler process. */
export function tickKey(workflow: string, tick: number): string {
  return `schedule:${workflow}:${new Date(tick).toISOString()}`;
}

/**
 * Who a schedule's runs are started by (`RunRecord.createdBy`): no API key, so a name no key
 * can have (key names hold no `:`), read and acted on by keys with `runs:*:all` only.
 */
function scheduleOwner(workflow: string): string {
  return `schedule:${workflow}`;
}

// ---- keeping the rows in step with the project ----

type ScheduleSpec = NonNullable<WorkflowSpec['schedule']>;
type Definition = Pick<ScheduleRecord, 'workflow' | 'tenantId' | 'cron' | 'timezone' | 'input' | 'overlap' | 'catchUp'>;

/**
 * The schedule a workflow declares, with defaults filled in (undefined without `schedule:`).
 * Its runs belong to its `tenant:`, else to `tenant` (the deployment's).
 */
export function scheduleDefinition(wf: CompiledWorkflow, tenant: string = DEFAULT_TENANT): Definition | undefined {
  const spec = wf.spec['schedule'] as ScheduleSpec | undefined;
  if (spec === undefined) return undefined;
  return {
    workflow: wf.name,
    tenantId: spec.tenant ?? tenant,
    cron: spec.cron.trim(),
    timezone: spec.timezone ?? SCHEDULE_DEFAULTS.timezone,
    input: spec.input ?? {},
    overlap: spec.overlap ?? SCHEDULE_DEFAULTS.overlap,
    catchUp: spec.catch_up ?? SCHEDULE_DEFAULTS.catchUp,
  };
}

export interface SyncReport {
  /** Workflows whose row was created or changed. */
  saved: string[];
  /** Workflows whose row was removed (no `schedule:` any more). */
  deleted: string[];
}

/** How the rows are brought in step: `prune` rows of workflows without a schedule (default true); `tenant` of schedules without `tenant:`. */
export interface SyncOptions {
  prune?: boolean;
  /** The deployment's tenant (default `default`). */
  tenant?: string;
}

/**
 * Makes the store's schedules match the workflows: one row per workflow with `schedule:`.
 * An existing row keeps its pause switch, its last tick and run, and its `next_at` (unless the
 * cron or time zone changed, or it has none: then the next tick after `now`). Unchanged rows
 * are not written. With `prune` (default), rows of workflows without a schedule are deleted.
 */
export async function syncSchedules(
  store: Store,
  workflows: ReadonlyMap<string, CompiledWorkflow>,
  now: number,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const existing = new Map((await store.listSchedules()).map((s) => [s.workflow, s]));
  const report: SyncReport = { saved: [], deleted: [] };
  // The built-in workflows declare no schedule: they stay uncompiled until used.
  for (const wf of projectWorkflows(workflows)) {
    const def = scheduleDefinition(wf, options.tenant);
    if (def === undefined) continue;
    const old = existing.get(def.workflow);
    const sameTiming = old !== undefined && old.cron === def.cron && old.timezone === def.timezone;
    // A paused row has no next tick; resuming computes one.
    const nextAt = old?.paused ? null : sameTiming && old.nextAt !== null ? old.nextAt : nextTick(def.cron, def.timezone, now);
    if (old !== undefined && sameTiming && old.nextAt === nextAt && sameDefinition(old, def)) continue;
    await store.saveSchedule({
      ...def,
      paused: old?.paused ?? false,
      nextAt,
      lastTickAt: old?.lastTickAt ?? null,
      lastRunId: old?.lastRunId ?? null,
      updatedAt: now,
    });
    report.saved.push(def.workflow);
  }
  if (options.prune !== false) {
    for (const name of existing.keys()) {
      const wf = workflows.get(name);
      if (wf !== undefined && scheduleDefinition(wf) !== undefined) continue;
      await store.deleteSchedule(name);
      report.deleted.push(name);
    }
  }
  return report;
}

function sameDefinition(row: ScheduleRecord, def: Definition): boolean {
  return row.tenantId === def.tenantId && row.overlap === def.overlap && row.catchUp === def.catchUp && JSON.stringify(row.input) === JSON.stringify(def.input);
}

/**
 * Adds the rows of scheduled workflows that have none yet (deletes nothing): for processes
 * that act on schedules without running the scheduler (the API).
 */
export async function ensureSchedules(store: Store, workflows: ReadonlyMap<string, CompiledWorkflow>, now: number, tenant?: string): Promise<void> {
  const rows = new Set((await store.listSchedules()).map((s) => s.workflow));
  const missing = [...projectWorkflows(workflows)].some((wf) => !rows.has(wf.name) && scheduleDefinition(wf) !== undefined);
  if (missing) await syncSchedules(store, workflows, now, { prune: false, ...(tenant === undefined ? {} : { tenant }) });
}

// ---- pause and resume ----

async function scheduleOrThrow(store: Store, workflow: string): Promise<ScheduleRecord> {
  const schedule = await store.getSchedule(workflow);
  if (schedule !== undefined) return schedule;
  const names = (await store.listSchedules()).map((s) => s.workflow);
  const known = names.length === 0 ? 'no workflow has a schedule' : `scheduled workflows: ${names.join(', ')}`;
  throw new AgentryError('not_found', `no schedule for workflow '${workflow}' (${known})`, { details: { workflow } });
}

/** Pauses a schedule: no runs until it is resumed. Pausing a paused schedule changes nothing. `not_found` without one. */
export async function pauseSchedule(store: Store, workflow: string): Promise<ScheduleRecord> {
  const schedule = await scheduleOrThrow(store, workflow);
  if (schedule.paused) return schedule;
  await store.setSchedulePaused(workflow, true, null);
  return scheduleOrThrow(store, workflow);
}

/**
 * Resumes a paused schedule from the next tick after `now`: ticks that passed while it was
 * paused are not run (whatever `catch_up` says). Resuming a running schedule changes nothing.
 */
export async function resumeSchedule(store: Store, workflow: string, now: number): Promise<ScheduleRecord> {
  const schedule = await scheduleOrThrow(store, workflow);
  if (!schedule.paused) return schedule;
  await store.setSchedulePaused(workflow, false, nextTick(schedule.cron, schedule.timezone, now));
  return scheduleOrThrow(store, workflow);
}

// ---- firing ----

export interface ScheduleContext {
  store: Store;
  transitions: Pick<RunTransitions, 'create'>;
  /** This process's workflows; a row of a workflow it does not know is left to other processes. */
  workflows: ReadonlyMap<string, CompiledWorkflow>;
  logger: Logger;
}

export interface FiredTick {
  workflow: string;
  tick: number;
  runId: string;
  /** False when another scheduler had already started the tick's run (the start was a replay). */
  created: boolean;
  /** Set when the tick is the latest of several that passed while no scheduler ran (`catch_up: one`). */
  caughtUp?: true;
}

export interface SkippedTick {
  workflow: string;
  tick: number;
  /**
   * `quota`: the tenant was at a run quota (`limits:`); `policy`: the workflow breaks the active
   * environment's policy (`rule` names it). Either way the tick is not made up later.
   */
  reason: 'missed' | 'overlap' | 'error' | 'quota' | 'policy';
  /** The policy rule that refused the tick's run (`reason: policy`). */
  rule?: string;
}

export interface FireReport {
  fired: FiredTick[];
  skipped: SkippedTick[];
  /** The earliest `next_at` of the active schedules after this pass (when the scheduler should look again). */
  nextDueAt: number | null;
}

/** Errors that starting a tick's run will hit again on every try: the tick is skipped (and logged). */
const PERMANENT_START_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'input_invalid',
  'spec_invalid',
  'expression_error',
  'not_found',
  'invalid_request',
  // A plugin the workflow uses is disabled or cannot load: this tick is skipped, the next one tries again.
  'plugin_disabled',
  'plugin_failed',
]);

/**
 * Fires every active schedule that is due at `now` (see `decideTick`), honouring
 * `overlap: skip` (no run while the schedule's last run has not ended). Safe to call from
 * several processes at once. A store outage is thrown; another failure is logged and leaves
 * that schedule for the next pass (or skips the tick when retrying cannot help).
 */
export async function fireDueSchedules(ctx: ScheduleContext, now: number): Promise<FireReport> {
  const report: FireReport = { fired: [], skipped: [], nextDueAt: null };
  const wakeAt = (at: number | null) => {
    if (at !== null && (report.nextDueAt === null || at < report.nextDueAt)) report.nextDueAt = at;
  };
  for (const schedule of await ctx.store.listSchedules()) {
    const wf = ctx.workflows.get(schedule.workflow);
    if (wf === undefined || schedule.paused) continue;
    const decision = decideTick(schedule, now);
    if (decision === undefined) {
      wakeAt(schedule.nextAt);
      continue;
    }
    try {
      await handleDue(ctx, schedule, wf, decision, report);
    } catch (error) {
      if (isTransient(error)) throw error;
      ctx.logger.error(
        { event: 'schedule.failed', err: error, workflow: schedule.workflow, tenant_id: schedule.tenantId },
        `schedule of ${schedule.workflow} failed; trying again on the next sweep`,
      );
      continue;
    }
    wakeAt(decision.nextAt);
  }
  return report;
}

async function handleDue(ctx: ScheduleContext, schedule: ScheduleRecord, wf: CompiledWorkflow, decision: TickDecision, report: FireReport): Promise<void> {
  const { store, logger } = ctx;
  const expected = schedule.nextAt!;
  const log = { workflow: schedule.workflow, tenant_id: schedule.tenantId, cron: schedule.cron, timezone: schedule.timezone };
  if (decision.kind === 'skip_missed') {
    if (await store.advanceSchedule(schedule.workflow, expected, { nextAt: decision.nextAt })) {
      report.skipped.push({ workflow: schedule.workflow, tick: decision.firstMissed, reason: 'missed' });
      logger.warn(
        { event: 'schedule.missed', ...log, first_missed: iso(decision.firstMissed), next_at: iso(decision.nextAt) },
        'schedule missed ticks while no scheduler ran; skipped them (catch_up: none)',
      );
    }
    return;
  }
  const { tick, nextAt } = decision;
  if (schedule.overlap === 'skip' && (await stillRunning(store, schedule.lastRunId))) {
    if (await store.advanceSchedule(schedule.workflow, expected, { nextAt })) {
      report.skipped.push({ workflow: schedule.workflow, tick, reason: 'overlap' });
      logger.info(
        { event: 'schedule.skipped', ...log, reason: 'overlap', tick: iso(tick), last_run_id: schedule.lastRunId },
        'schedule tick skipped: the previous run has not ended (overlap: skip)',
      );
    }
    return;
  }
  const started = await startTickRun(ctx, schedule, wf, tick);
  if (started === undefined || started === 'quota' || 'refusedBy' in started) {
    const skipped: SkippedTick =
      started === undefined || started === 'quota'
        ? { workflow: schedule.workflow, tick, reason: started ?? 'error' }
        : { workflow: schedule.workflow, tick, reason: 'policy', rule: started.refusedBy };
    if (await store.advanceSchedule(schedule.workflow, expected, { nextAt })) report.skipped.push(skipped);
    return;
  }
  // Another scheduler may have moved the row first; the run is the same either way (same key).
  const moved = await store.advanceSchedule(schedule.workflow, expected, { nextAt, lastTickAt: tick, lastRunId: started.runId });
  report.fired.push({
    workflow: schedule.workflow,
    tick,
    runId: started.runId,
    created: started.created,
    ...(decision.caughtUp ? { caughtUp: true as const } : {}),
  });
  if (started.created) {
    logger.info(
      { event: 'schedule.fired', ...log, tick: iso(tick), run_id: started.runId, caught_up: decision.caughtUp, advanced: moved },
      `schedule started a run of ${schedule.workflow}`,
    );
  }
}

/**
 * Starts (or finds) the tick's run; undefined when it cannot be started, `quota` when its tenant
 * is at a run quota, `refusedBy` the rule of the environment policy it breaks (each logged).
 */
async function startTickRun(
  ctx: ScheduleContext,
  schedule: ScheduleRecord,
  wf: CompiledWorkflow,
  tick: number,
): Promise<{ runId: string; created: boolean } | { refusedBy: string } | 'quota' | undefined> {
  const key = tickKey(schedule.workflow, tick);
  try {
    const { run, replayed } = await ctx.transitions.create(wf, schedule.input, {
      idempotencyKey: key,
      tenantId: schedule.tenantId,
      createdBy: scheduleOwner(schedule.workflow),
      newTrace: true,
    });
    return { runId: run.id, created: !replayed };
  } catch (error) {
    if (!(error instanceof AgentryError)) throw error;
    // The tick's run exists, started with another input (a process with another version of the project).
    if (error.code === 'idempotency_conflict') {
      const runId = (error.details as { run_id?: unknown } | undefined)?.run_id;
      if (typeof runId === 'string') return { runId, created: false };
    }
    if (error.code === 'quota_exceeded') {
      // Waiting for room would pile ticks up behind the quota; the tick is skipped like an overlap.
      ctx.logger.warn(
        { event: 'schedule.skipped', workflow: schedule.workflow, tenant_id: schedule.tenantId, reason: 'quota', tick: iso(tick), details: error.details },
        `schedule of ${schedule.workflow} skipped its tick: ${error.message}`,
      );
      return 'quota';
    }
    if (error.code === 'policy_violation') {
      // The policy may change (PUT /v1/policies/{env}, a new project): the schedule keeps its next tick.
      const { rule, environment } = (error.details ?? {}) as { rule?: string; environment?: string };
      ctx.logger.warn(
        {
          event: 'schedule.refused',
          workflow: schedule.workflow,
          tenant_id: schedule.tenantId,
          reason: 'policy',
          rule,
          environment,
          tick: iso(tick),
          code: error.code,
        },
        `schedule of ${schedule.workflow} skipped its tick: ${error.message}`,
      );
      return { refusedBy: rule ?? 'unknown' };
    }
    if (!PERMANENT_START_ERRORS.has(error.code)) throw error;
    ctx.logger.error(
      { event: 'schedule.skipped', err: error, workflow: schedule.workflow, tenant_id: schedule.tenantId, reason: 'error', tick: iso(tick), code: error.code },
      `schedule of ${schedule.workflow} could not start the run of its tick; skipped it: ${error.message}`,
    );
    return undefined;
  }
}

async function stillRunning(store: Store, runId: string | null): Promise<boolean> {
  if (runId === null) return false;
  const run = await store.getRun(runId);
  return run !== undefined && !TERMINAL_RUN_STATUSES.has(run.status);
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}
