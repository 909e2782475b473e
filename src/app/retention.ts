/**
 * Retention of runs (docs/operations/retention.md): ended runs older than their status's window
 * are deleted with every row that references them, events of ended runs older than the events
 * window are deleted, idempotency keys (run starts, schedule ticks, task decisions) expire, and
 * agents' conversation memory messages older than the memory window are deleted. The
 * LLM call ledger is kept (usage history and budgets outlive runs). Windows come from the
 * deployment (`AGENTRY_RETENTION_*`) and a workflow's `retention:` overrides them. A server's
 * scheduler applies them as a maintenance task, in batches (one transaction each); `agentry
 * prune` applies one window by hand. The store never deletes a run that has not ended, nor one
 * whose parent or a child has not.
 */
import type { Logger } from 'pino';
import type { MaintenanceTask } from '../engine/scheduler.js';
import type { CompiledWorkflow, WorkflowRetention } from '../spec/model.js';
import type { EventPruneQuery, RunPruneQuery, Store } from '../store/store.js';
import type { AuditService } from './audit.js';
import { EVERY_RUN, type Caller } from './caller.js';
import type { RetentionSettings } from './config.js';

/** How often a server's scheduler applies retention (and once when it starts). */
const RETENTION_INTERVAL_MS = 15 * 60 * 1000;
/** Runs (or events, or keys) deleted per transaction. */
export const RETENTION_BATCH = 500;
/** Batches of each kind one turn of the task deletes at most; the rest waits for the next turn. */
const MAX_BATCHES_PER_TURN = 20;

/** Who the scheduler's retention is in the audit log. */
const SYSTEM: Caller = { name: 'system', roles: [], runAccess: EVERY_RUN };

/** The statuses `agentry prune --status` takes: the ended ones. */
export const PRUNABLE_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export type PrunableStatus = (typeof PRUNABLE_STATUSES)[number];

/** Told what each turn of the scheduler's retention deleted (the process's metrics). */
export interface RetentionObserver {
  retentionPruned(kind: keyof PruneCounts, count: number): void;
}

export interface PruneCounts {
  runs: number;
  events: number;
  idempotency_keys: number;
  memory: number;
}

export interface ManualPrune {
  olderThanMs: number;
  /** Default: every ended status. */
  statuses?: readonly PrunableStatus[];
  workflow?: string;
  dryRun?: boolean;
}

export interface ManualPruneResult {
  runs: number;
  older_than_ms: number;
  statuses: PrunableStatus[];
  workflow: string | null;
  dry_run: boolean;
}

export class RetentionService {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
    private readonly batch: number = RETENTION_BATCH,
  ) {}

  /** `agentry prune`: ended runs of `statuses` that ended more than `olderThanMs` ago, every batch; an audit entry by `by` unless a dry run. */
  async prune(p: ManualPrune, by: Caller): Promise<ManualPruneResult> {
    const statuses = [...(p.statuses ?? PRUNABLE_STATUSES)];
    const cutoff = this.now() - p.olderThanMs;
    const q: RunPruneQuery = {
      before: Object.fromEntries(statuses.map((s) => [s, cutoff])),
      ...(p.workflow === undefined ? {} : { workflow: p.workflow }),
      limit: this.batch,
    };
    const dryRun = p.dryRun === true;
    const runs = dryRun ? await this.store.countPrunableRuns(q) : await this.drainRuns(q, Number.POSITIVE_INFINITY);
    const result: ManualPruneResult = { runs, older_than_ms: p.olderThanMs, statuses, workflow: p.workflow ?? null, dry_run: dryRun };
    if (!dryRun) await this.audit.record(by, 'runs.prune', null, 'success', { ...result });
    return result;
  }

  /**
   * One turn of the scheduler's retention: each workflow with its own `retention:` under its
   * windows, the other workflows under the deployment's, then idempotency keys. At most
   * `MAX_BATCHES_PER_TURN` batches of each kind. An audit entry by `system` when anything went.
   */
  async apply(settings: RetentionSettings, workflows: readonly CompiledWorkflow[]): Promise<PruneCounts> {
    const counts: PruneCounts = { runs: 0, events: 0, idempotency_keys: 0, memory: 0 };
    const own = workflows.filter((w) => w.retention !== undefined);
    const scopes: { windows: WorkflowRetention; filter: Pick<RunPruneQuery, 'workflow' | 'excludeWorkflows'> }[] = [
      ...own.map((w) => ({ windows: { ...windowsOf(settings), ...w.retention }, filter: { workflow: w.name } })),
      { windows: windowsOf(settings), filter: own.length === 0 ? {} : { excludeWorkflows: own.map((w) => w.name) } },
    ];
    const now = this.now();
    for (const { windows, filter } of scopes) {
      const before = runWindows(windows, now);
      if (Object.keys(before).length > 0) counts.runs += await this.drainRuns({ before, ...filter, limit: this.batch }, MAX_BATCHES_PER_TURN);
      if (windows.eventsMs !== undefined) counts.events += await this.drainEvents({ before: now - windows.eventsMs, ...filter, limit: this.batch });
    }
    if (settings.idempotencyKeysMs !== undefined) {
      for (let i = 0; i < MAX_BATCHES_PER_TURN; i++) {
        const n = await this.store.expireIdempotencyKeys(now - settings.idempotencyKeysMs, this.batch, false);
        counts.idempotency_keys += n;
        if (n < this.batch) break;
      }
    }
    // Memory is kept by tenant, agent and thread, not by workflow: only the deployment's window applies.
    if (settings.memoryMs !== undefined) counts.memory = await this.store.pruneMemory(now - settings.memoryMs, undefined);
    if (counts.runs + counts.events + counts.memory > 0) await this.audit.record(SYSTEM, 'runs.retention', null, 'success', { ...counts });
    return counts;
  }

  private async drainRuns(q: RunPruneQuery, maxBatches: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const ids = await this.store.pruneRuns(q);
      total += ids.length;
      if (ids.length < q.limit) break;
    }
    return total;
  }

  private async drainEvents(q: EventPruneQuery): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_TURN; i++) {
      const n = await this.store.pruneEvents(q);
      total += n;
      if (n < q.limit) break;
    }
    return total;
  }
}

function windowsOf(s: RetentionSettings): WorkflowRetention {
  const w: WorkflowRetention = {};
  if (s.succeededMs !== undefined) w.succeededMs = s.succeededMs;
  if (s.failedMs !== undefined) w.failedMs = s.failedMs;
  if (s.cancelledMs !== undefined) w.cancelledMs = s.cancelledMs;
  if (s.eventsMs !== undefined) w.eventsMs = s.eventsMs;
  return w;
}

/** The runs' windows as cut-off times per status (`failed` covers `timed_out`). */
function runWindows(w: WorkflowRetention, now: number): RunPruneQuery['before'] {
  const before: RunPruneQuery['before'] = {};
  if (w.succeededMs !== undefined) before.succeeded = now - w.succeededMs;
  if (w.failedMs !== undefined) before.failed = before.timed_out = now - w.failedMs;
  if (w.cancelledMs !== undefined) before.cancelled = now - w.cancelledMs;
  return before;
}

/** Whether the deployment or a workflow sets any window: when none does, the task is not given. */
export function retentionConfigured(settings: RetentionSettings, workflows: readonly CompiledWorkflow[]): boolean {
  return Object.values(settings).some((v) => v !== undefined) || workflows.some((w) => w.retention !== undefined);
}

/** Retention as a scheduler's maintenance task: on start and every 15 minutes. Safe in several processes at once (each batch deletes what is still there). */
export function retentionTask(
  retention: RetentionService,
  settings: RetentionSettings,
  workflows: readonly CompiledWorkflow[],
  logger: Logger,
  observer?: RetentionObserver,
): MaintenanceTask {
  return {
    name: 'run retention',
    everyMs: RETENTION_INTERVAL_MS,
    async run() {
      const counts = await retention.apply(settings, workflows);
      for (const kind of ['runs', 'events', 'idempotency_keys', 'memory'] as const) observer?.retentionPruned(kind, counts[kind]);
      const level = counts.runs + counts.events + counts.idempotency_keys + counts.memory > 0 ? 'info' : 'debug';
      logger[level](
        counts,
        `retention: pruned ${counts.runs} runs, ${counts.events} events, ${counts.idempotency_keys} idempotency keys, ${counts.memory} memory messages`,
      );
      return { ...counts };
    },
  };
}
