/**
 * `RunTx` over SQL: the changes one transaction makes while it holds a run's lock. Each
 * method is a call into the concern's module under `sql/`; what this class adds is the
 * bookkeeping of the transaction — the run's steps cached in memory, and the events and the
 * run's changes buffered until `flush` writes them with one statement each.
 */
import {
  isItemStepId,
  type AttemptRecord,
  type EventRecord,
  type EventType,
  type RunRecord,
  type SignalRecord,
  type StepRecord,
  type StepStatus,
  type TaskRecord,
  type TaskStatus,
} from '../types.js';
import type { RunTx } from './store.js';
import type { AttemptPatch, ItemResult, NewRun, NewStep, RunPatch, StepGuard, StepPatch, TaskPatch } from './store-types.js';
import * as attempts from './sql/attempts.js';
import type { Db, SqlDialect } from './sql/dialect.js';
import * as events from './sql/events.js';
import { insertIdempotencyKey } from './sql/idempotency.js';
import * as items from './sql/items.js';
import * as runs from './sql/runs.js';
import * as signals from './sql/signals.js';
import * as steps from './sql/steps.js';
import * as tasks from './sql/tasks.js';

export class SqlRunTx implements RunTx {
  /** Events appended in this transaction, written together by `flush`. */
  private readonly events: EventRecord[] = [];
  /** Changes of the run row made in this transaction, written together by `flush`. */
  private runPatch: RunPatch | undefined;
  /** Other runs changed in this transaction (children created or cancelled), flushed with it. */
  private readonly others: SqlRunTx[] = [];

  /**
   * @param cached The run's steps when the caller knows them (a run just inserted). They
   * are read once per transaction and then kept up to date in memory: while the run's lock
   * is held no one else changes them (lease renewals touch only `lease_expires_at`).
   */
  constructor(
    private readonly trx: Db,
    public run: RunRecord,
    private readonly now: () => number,
    private readonly dialect: SqlDialect,
    private cached?: StepRecord[],
  ) {}

  /** Inserts a run with its steps in transaction `trx` and returns its transaction view (not yet flushed). */
  static async insert(trx: Db, run: NewRun, newSteps: NewStep[], now: () => number, dialect: SqlDialect): Promise<SqlRunTx> {
    const at = now();
    const inserted = await runs.insertRun(trx, run, newSteps, at);
    return new SqlRunTx(trx, inserted, now, dialect, steps.newStepRecords(newSteps, at));
  }

  /**
   * Writes what this transaction kept in memory: its events (one multi-row INSERT) and the
   * run's changes with its event counter (one UPDATE). Nothing inside a transition reads
   * them back from the database, so they need not be written earlier.
   */
  async flush(): Promise<void> {
    for (const other of this.others.splice(0)) await other.flush();
    await events.insertEvents(this.trx, this.events.splice(0));
    const patch = this.runPatch;
    if (patch === undefined) return;
    this.runPatch = undefined;
    await runs.updateRun(this.trx, this.run, patch);
  }

  async steps(): Promise<StepRecord[]> {
    this.cached ??= await steps.topLevelSteps(this.trx, this.run.id);
    return [...this.cached];
  }

  updateRun(patch: RunPatch): Promise<void> {
    this.runPatch = { ...this.runPatch, ...patch };
    this.run = { ...this.run, ...patch, updatedAt: this.now() };
    return Promise.resolve();
  }

  async updateStep(stepId: string, patch: StepPatch, guard: StepGuard = {}): Promise<boolean> {
    const updatedAt = this.now();
    const applied = await steps.updateStep(this.trx, this.run.id, stepId, patch, guard, updatedAt);
    const at = this.cached?.findIndex((step) => step.stepId === stepId) ?? -1;
    if (applied && this.cached && at >= 0) {
      const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
      this.cached[at] = { ...this.cached[at]!, ...defined, updatedAt };
    }
    return applied;
  }

  insertAttempt(attempt: AttemptRecord): Promise<void> {
    return attempts.insertAttempt(this.trx, attempt);
  }

  updateAttempt(stepId: string, attempt: number, patch: AttemptPatch): Promise<number | undefined> {
    return attempts.updateAttempt(this.trx, this.run.id, stepId, attempt, patch);
  }

  releasedAttempts(stepId: string): Promise<number> {
    return attempts.countAttempts(this.trx, this.run.id, stepId, 'released');
  }

  appendEvent(type: EventType, data: Record<string, unknown> = {}, stepId: string | null = null): Promise<EventRecord> {
    const event: EventRecord = { runId: this.run.id, seq: this.run.eventSeq + 1, type, stepId, data, at: this.now() };
    this.events.push(event);
    this.run = { ...this.run, eventSeq: event.seq };
    this.runPatch ??= {};
    return Promise.resolve(event);
  }

  insertItems(parent: string, kind: string, list: unknown[]): Promise<void> {
    return items.insertItems(this.trx, this.run, parent, kind, list, this.now());
  }

  async step(stepId: string): Promise<StepRecord | undefined> {
    // A top-level step comes from the run's steps (read once per transaction; the caller
    // usually needs them all anyway); only a map item is read on its own.
    if (!isItemStepId(stepId)) return (await this.steps()).find((s) => s.stepId === stepId);
    return steps.getStep(this.trx, this.run.id, stepId);
  }

  itemCounts(parent: string): Promise<Partial<Record<StepStatus, number>>> {
    return items.itemCounts(this.trx, this.run.id, parent);
  }

  pendingItems(parent: string, limit: number): Promise<StepRecord[]> {
    return items.pendingItems(this.trx, this.run.id, parent, limit);
  }

  itemResults(parent: string): Promise<ItemResult[]> {
    return items.itemResults(this.trx, this.run.id, parent);
  }

  cancelItems(parent: string | undefined, finishedAt: number): Promise<StepRecord[]> {
    return items.cancelItems(this.trx, this.run.id, parent, finishedAt);
  }

  recordIdempotencyKey(key: string, requestHash: string, principal: string): Promise<void> {
    const { tenantId, id: runId } = this.run;
    return insertIdempotencyKey(this.trx, { tenantId, principal, key, requestHash, runId, createdAt: this.now() });
  }

  insertTask(task: TaskRecord): Promise<void> {
    return tasks.insertTask(this.trx, task);
  }

  updateTask(id: string, patch: TaskPatch, statuses?: readonly TaskStatus[]): Promise<boolean> {
    return tasks.updateTask(this.trx, this.run.id, id, patch, statuses, this.now());
  }

  task(id: string): Promise<TaskRecord | undefined> {
    return tasks.getTask(this.trx, id, this.run.id);
  }

  openTasks(stepId?: string): Promise<TaskRecord[]> {
    return tasks.openTasks(this.trx, this.run.id, stepId);
  }

  insertSignal(name: string, payload: unknown): Promise<SignalRecord | undefined> {
    return signals.insertSignal(this.trx, this.run.id, name, payload, this.now());
  }

  signal(name: string): Promise<SignalRecord | undefined> {
    return signals.getSignal(this.trx, this.run.id, name);
  }

  async createRun(run: NewRun, newSteps: NewStep[]): Promise<RunTx> {
    const child = await SqlRunTx.insert(this.trx, run, newSteps, this.now, this.dialect);
    this.others.push(child);
    return child;
  }

  async lockRun(runId: string): Promise<RunTx | undefined> {
    const locked = await runs.lockRun(this.trx, runId, this.dialect.lockSuffix);
    if (!locked) return undefined;
    const other = new SqlRunTx(this.trx, locked, this.now, this.dialect);
    this.others.push(other);
    return other;
  }

  childRuns(): Promise<RunRecord[]> {
    return runs.childRuns(this.trx, this.run.id);
  }

  wakeStep(runId: string, stepId: string): Promise<void> {
    return steps.wakeStep(this.trx, runId, stepId, this.now());
  }

  async lockKey(key: string): Promise<void> {
    if (this.dialect.keyLock) await this.dialect.keyLock(key).execute(this.trx);
  }

  countActive(key: string): Promise<number> {
    return runs.countActive(this.trx, key);
  }

  wakeBlocked(key: string, limit: number): Promise<void> {
    return steps.wakeBlocked(this.trx, key, this.run.id, limit, this.now());
  }
}
