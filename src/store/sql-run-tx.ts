/**
 * `RunTx` over SQL: the changes one transaction makes while it holds a run's lock. Each
 * method is a call into the concern's module under `sql/`; what this class adds is the
 * bookkeeping of the transaction — the run's steps cached in memory; changes of those steps
 * and their attempts buffered (`sql/run-writes.ts`) until a statement that could read them or
 * `flush`; the events and the run's changes buffered until `flush`. On PostgreSQL `flush`
 * sends all of it as one statement.
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
import { rows, type Query } from './sql/values.js';
import * as events from './sql/events.js';
import { insertIdempotencyKey } from './sql/idempotency.js';
import * as items from './sql/items.js';
import { storedStep, stepsWithKeptJson, STEP_JSON_COLUMNS, type CachedRun, type RunCache, type StepJsonColumn } from './run-cache.js';
import * as runs from './sql/runs.js';
import { guardHolds, PendingRunWrites, writeAll } from './sql/run-writes.js';
import * as signals from './sql/signals.js';
import * as steps from './sql/steps.js';
import * as tasks from './sql/tasks.js';

/** The runs one database transaction holds: their buffered writes, and one view per run. */
interface TxRuns {
  buffered: PendingRunWrites[];
  open: Map<string, SqlRunTx>;
}

const newTxRuns = (): TxRuns => ({ buffered: [], open: new Map() });

/** Events of several runs written by one INSERT at most (6 parameters each, under every dialect's limit). */
const MAX_EVENTS_PER_INSERT = 1000;

export class SqlRunTx implements RunTx {
  /** Events appended in this transaction, written together by `flush`. */
  private readonly events: EventRecord[] = [];
  /** Changes of the run row made in this transaction, written together by `flush`. */
  private runPatch: RunPatch | undefined;
  /** Other runs changed in this transaction (children created or cancelled), flushed with it. */
  private readonly others: SqlRunTx[] = [];
  /** Changes of cached steps and of their attempts, not yet written. */
  private readonly pending: PendingRunWrites;
  /** The JSON columns this transaction changed, by step (kept in the run cache as stored: `remember`). */
  private readonly touched = new Map<string, Set<StepJsonColumn>>();
  /** Inserted by this transaction (not read): not kept in the run cache. */
  private inserted = false;

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
    /** What the runs this transaction changes share (this one included). */
    private readonly shared: TxRuns = newTxRuns(),
  ) {
    this.pending = new PendingRunWrites(run.id);
    shared.buffered.push(this.pending);
    shared.open.set(run.id, this);
  }

  /**
   * Locks run `runId` (`lockSuffix`: the dialect's `FOR UPDATE …`) and reads its steps after
   * the lock is taken, in one round trip where the dialect can; undefined when there is no
   * such run (or it is locked and `lockSuffix` skips locked rows).
   */
  static async lock(trx: Db, runId: string, lockSuffix: string, now: () => number, dialect: SqlDialect, cache?: RunCache): Promise<SqlRunTx | undefined> {
    return (await SqlRunTx.lockMany(trx, [runId], lockSuffix, now, dialect, cache)).get(runId);
  }

  /**
   * Locks several runs (in the order given: callers sort them, so that two batches cannot
   * deadlock) and reads their steps, in one round trip where the dialect can. The runs that
   * exist (and, with a `SKIP LOCKED` suffix, were free), by id; they share the transaction.
   */
  static async lockMany(
    trx: Db,
    runIds: readonly string[],
    lockSuffix: string,
    now: () => number,
    dialect: SqlDialect,
    cache?: RunCache,
  ): Promise<Map<string, SqlRunTx>> {
    const shared = newTxRuns();
    const locked = new Map<string, SqlRunTx>();
    const kept = runIds.map((id) => cache?.get(id));
    const answers = await readRuns(trx, runIds, kept, lockSuffix, dialect);
    for (const [i, id] of runIds.entries()) {
      const row = answers[2 * i]?.[0];
      const cached = kept[i];
      if (!row) {
        cache?.forget(id);
        continue;
      }
      const read = runs.runFromRow(row);
      const run = cached ? { ...read, spec: cached.spec, input: cached.input } : read;
      const tx = new SqlRunTx(trx, run, now, dialect, undefined, shared);
      const stepRows = answers[2 * i + 1] ?? [];
      tx.know(cache && cached && cached.steps.size > 0 ? await stepsWithKeptJson(trx, id, stepRows, cache, cached) : steps.stepsWithAttempts(stepRows));
      locked.set(id, tx);
    }
    return locked;
  }

  /** Keeps in `cache` what this committed transaction left of each run it read (not of runs it inserted). */
  remember(cache: RunCache): void {
    for (const tx of this.shared.open.values()) {
      if (tx.inserted) continue;
      const stored = tx.cached?.map((step) => {
        const columns = tx.touched.get(step.stepId);
        return columns ? storedStep(step, columns) : step;
      });
      cache.remember(tx.run, stored);
    }
  }

  /** Inserts a run with its steps in transaction `trx` and returns its transaction view (not yet flushed). */
  static async insert(trx: Db, run: NewRun, newSteps: NewStep[], now: () => number, dialect: SqlDialect, shared?: TxRuns): Promise<SqlRunTx> {
    const at = now();
    const inserted = await runs.insertRun(trx, run, newSteps, at);
    const tx = new SqlRunTx(trx, inserted, now, dialect, steps.newStepRecords(newSteps, at), shared);
    tx.inserted = true;
    return tx;
  }

  /**
   * Writes what this transaction kept in memory: its events (one multi-row INSERT) and the
   * run's changes with its event counter (one UPDATE). Nothing inside a transition reads
   * them back from the database, so they need not be written earlier.
   */
  async flush(): Promise<void> {
    for (const other of this.others.splice(0)) await other.flush();
    const queries = this.pending.take();
    const appended = this.events.splice(0);
    if (appended.length > 0) queries.push(events.insertEventsQuery(appended));
    const patch = this.runPatch;
    this.runPatch = undefined;
    if (patch !== undefined) queries.push(runs.updateRunQuery(this.run, patch));
    await writeAll(this.trx, queries, this.dialect);
  }

  /**
   * `flush` of several runs of one transaction (`txs`, which share it): their new attempts and
   * their events each in one multi-row INSERT for all of them, not one per run.
   */
  static async flushAll(txs: readonly SqlRunTx[]): Promise<void> {
    if (txs.length <= 1) return txs[0]?.flush();
    const queries: Query[] = [];
    const inserts: AttemptRecord[] = [];
    const appended: EventRecord[] = [];
    const runUpdates: Query[] = [];
    for (const tx of txs) {
      for (const other of tx.others.splice(0)) await other.flush();
      const parts = tx.pending.takeParts();
      queries.push(...parts.updates);
      inserts.push(...parts.inserts);
      appended.push(...tx.events.splice(0));
      const patch = tx.runPatch;
      tx.runPatch = undefined;
      if (patch !== undefined) runUpdates.push(runs.updateRunQuery(tx.run, patch));
    }
    if (inserts.length > 0) queries.push(attempts.insertAttemptsQuery(inserts));
    for (let at = 0; at < appended.length; at += MAX_EVENTS_PER_INSERT) queries.push(events.insertEventsQuery(appended.slice(at, at + MAX_EVENTS_PER_INSERT)));
    queries.push(...runUpdates);
    await writeAll(txs[0]!.trx, queries, txs[0]!.dialect);
  }

  /**
   * Writes the buffered step and attempt changes (of every run of the transaction) before a
   * statement that could read them or that must follow them, so that every statement sees
   * the transaction's writes in order.
   */
  private async settle(): Promise<void> {
    const queries = this.shared.buffered.flatMap((pending) => (pending.isEmpty ? [] : pending.take()));
    await writeAll(this.trx, queries, this.dialect);
  }

  /**
   * `settle`, and the run rows (with their events) of every run the transaction holds: before
   * a statement that reads runs' status (several runs' transitions in one transaction, a
   * group of claims under one concurrency key, must see each other's starts).
   */
  private async settleRuns(): Promise<void> {
    for (const tx of this.shared.open.values()) await tx.flush();
  }

  async steps(): Promise<StepRecord[]> {
    if (!this.cached) {
      await this.settle();
      this.know(await steps.topLevelStepsWithAttempts(this.trx, this.run.id));
    }
    return [...this.cached!];
  }

  /** Caches the run's steps as read (under its lock), and when their current attempts started. */
  private know(read: steps.StepWithAttempt[]): void {
    for (const { step, attemptStartedAt } of read) if (attemptStartedAt !== null) this.pending.knowAttempt(step.stepId, step.attempt, attemptStartedAt);
    this.cached = read.map((r) => r.step);
  }

  updateRun(patch: RunPatch): Promise<void> {
    this.runPatch = { ...this.runPatch, ...patch };
    this.run = { ...this.run, ...patch, updatedAt: this.now() };
    return Promise.resolve();
  }

  async updateStep(stepId: string, patch: StepPatch, guard: StepGuard = {}): Promise<boolean> {
    const updatedAt = this.now();
    const at = this.cached?.findIndex((step) => step.stepId === stepId) ?? -1;
    if (!this.cached || at < 0) {
      await this.settle();
      return steps.updateStep(this.trx, this.run.id, stepId, patch, guard, updatedAt);
    }
    // A cached step: the run's lock makes the copy exact for what guards compare.
    if (!guardHolds(this.cached[at]!, guard)) return false;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    this.cached[at] = { ...this.cached[at]!, ...defined, updatedAt };
    this.pending.updateStep(stepId, patch, updatedAt);
    for (const column of STEP_JSON_COLUMNS) {
      if (!(column in defined)) continue;
      const columns = this.touched.get(stepId) ?? new Set();
      this.touched.set(stepId, columns.add(column));
    }
    return true;
  }

  insertAttempt(attempt: AttemptRecord): Promise<void> {
    this.pending.insertAttempt(attempt);
    return Promise.resolve();
  }

  async updateAttempt(stepId: string, attempt: number, patch: AttemptPatch): Promise<number | undefined> {
    const startedAt = this.pending.updateAttempt(stepId, attempt, patch);
    if (startedAt !== undefined) return startedAt;
    await this.settle();
    return attempts.updateAttempt(this.trx, this.run.id, stepId, attempt, patch);
  }

  async releasedAttempts(stepId: string): Promise<number> {
    await this.settle();
    return attempts.countAttempts(this.trx, this.run.id, stepId, 'released');
  }

  appendEvent(type: EventType, data: Record<string, unknown> = {}, stepId: string | null = null): Promise<EventRecord> {
    const event: EventRecord = { runId: this.run.id, seq: this.run.eventSeq + 1, type, stepId, data, at: this.now() };
    this.events.push(event);
    this.run = { ...this.run, eventSeq: event.seq };
    this.runPatch ??= {};
    return Promise.resolve(event);
  }

  async insertItems(parent: string, kind: string, list: unknown[]): Promise<void> {
    await this.settle();
    return items.insertItems(this.trx, this.run, parent, kind, list, this.now());
  }

  async step(stepId: string): Promise<StepRecord | undefined> {
    // A top-level step comes from the run's steps (read once per transaction; the caller
    // usually needs them all anyway); only a map item is read on its own.
    if (!isItemStepId(stepId)) return (await this.steps()).find((s) => s.stepId === stepId);
    await this.settle();
    return steps.getStep(this.trx, this.run.id, stepId);
  }

  async itemCounts(parent: string): Promise<Partial<Record<StepStatus, number>>> {
    await this.settle();
    return items.itemCounts(this.trx, this.run.id, parent);
  }

  async pendingItems(parent: string, limit: number): Promise<StepRecord[]> {
    await this.settle();
    return items.pendingItems(this.trx, this.run.id, parent, limit);
  }

  async itemResults(parent: string): Promise<ItemResult[]> {
    await this.settle();
    return items.itemResults(this.trx, this.run.id, parent);
  }

  async cancelItems(parent: string | undefined, finishedAt: number): Promise<StepRecord[]> {
    await this.settle();
    return items.cancelItems(this.trx, this.run.id, parent, finishedAt);
  }

  async recordIdempotencyKey(key: string, requestHash: string, principal: string): Promise<void> {
    await this.settle();
    const { tenantId, id: runId } = this.run;
    return insertIdempotencyKey(this.trx, { tenantId, principal, key, requestHash, runId, createdAt: this.now() });
  }

  async insertTask(task: TaskRecord): Promise<void> {
    await this.settle();
    return tasks.insertTask(this.trx, task);
  }

  async updateTask(id: string, patch: TaskPatch, statuses?: readonly TaskStatus[]): Promise<boolean> {
    await this.settle();
    return tasks.updateTask(this.trx, this.run.id, id, patch, statuses, this.now());
  }

  async task(id: string): Promise<TaskRecord | undefined> {
    await this.settle();
    return tasks.getTask(this.trx, id, this.run.id);
  }

  async openTasks(stepId?: string): Promise<TaskRecord[]> {
    await this.settle();
    return tasks.openTasks(this.trx, this.run.id, stepId);
  }

  async insertSignal(name: string, payload: unknown): Promise<SignalRecord | undefined> {
    await this.settle();
    return signals.insertSignal(this.trx, this.run.id, name, payload, this.now());
  }

  async signal(name: string): Promise<SignalRecord | undefined> {
    await this.settle();
    return signals.getSignal(this.trx, this.run.id, name);
  }

  async createRun(run: NewRun, newSteps: NewStep[]): Promise<RunTx> {
    await this.settle();
    const child = await SqlRunTx.insert(this.trx, run, newSteps, this.now, this.dialect, this.shared);
    this.others.push(child);
    return child;
  }

  async lockRun(runId: string): Promise<RunTx | undefined> {
    // A run this transaction holds already (several runs' transitions in one): the same view of it.
    const open = this.shared.open.get(runId);
    if (open) return open;
    await this.settle();
    const locked = await runs.lockRun(this.trx, runId, this.dialect.lockSuffix);
    if (!locked) return undefined;
    const other = new SqlRunTx(this.trx, locked, this.now, this.dialect, undefined, this.shared);
    this.others.push(other);
    return other;
  }

  async childRuns(): Promise<RunRecord[]> {
    await this.settle();
    return runs.childRuns(this.trx, this.run.id);
  }

  async wakeStep(runId: string, stepId: string): Promise<void> {
    await this.settle();
    return steps.wakeStep(this.trx, runId, stepId, this.now());
  }

  async lockKey(key: string): Promise<void> {
    await this.settle();
    if (this.dialect.keyLock) await this.dialect.keyLock(key).execute(this.trx);
  }

  async countActive(key: string): Promise<number> {
    await this.settleRuns();
    return runs.countActive(this.trx, key);
  }

  async wakeBlocked(key: string, limit: number): Promise<void> {
    await this.settleRuns();
    return steps.wakeBlocked(this.trx, key, this.run.id, limit, this.now());
  }
}

type Rows = readonly Record<string, unknown>[];

/**
 * Locks runs `runIds` and reads them with their top-level steps: for each run, its row (none:
 * not there, or locked under SKIP LOCKED) and its steps' rows — from the cache's point of view
 * (`kept`) where it has the run. In one round trip where the dialect can; on a dialect without
 * row locks (SQLite), the runs of a group in two statements in all, not two per run.
 */
async function readRuns(
  trx: Db,
  runIds: readonly string[],
  kept: readonly (CachedRun | undefined)[],
  lockSuffix: string,
  dialect: SqlDialect,
): Promise<Rows[]> {
  const knownAt = (i: number) => (kept[i] && kept[i].steps.size > 0 ? kept[i].knownAt : null);
  if (dialect.readMany || runIds.length === 1 || lockSuffix !== '') {
    const queries = runIds.map(
      (id, i) => [runs.lockRunQuery(id, lockSuffix, kept[i] !== undefined), steps.topLevelStepsOfRunsQuery([id], knownAt(i))] as const,
    );
    if (dialect.readMany) return dialect.readMany(trx, queries.flat());
    const answers: Rows[] = [];
    for (const [lockQuery, stepsQuery] of queries) {
      const run = (await lockQuery.execute(trx)).rows as Rows;
      // A run that is not there (or is locked, with SKIP LOCKED): its steps are not read.
      answers.push(run, run.length === 0 ? [] : ((await stepsQuery.execute(trx)).rows as Rows));
    }
    return answers;
  }
  const byRun = new Map<string, Record<string, unknown>>();
  const stepsByRun = new Map<string, Record<string, unknown>[]>();
  for (const known of [false, true]) {
    const ids = runIds.filter((_, i) => (kept[i] !== undefined) === known);
    if (ids.length > 0) for (const row of await rows(trx, runs.readRunsQuery(ids, known))) byRun.set(row.id as string, row);
  }
  for (const withJson of [true, false]) {
    // Runs the cache has steps of are read from the earliest of their last known changes: a step changed since carries its JSON.
    const at = runIds.map((id, i) => [id, knownAt(i)] as const).filter(([id, k]) => byRun.has(id) && (k === null) === withJson);
    if (at.length === 0) continue;
    const since = withJson ? null : Math.min(...at.map(([, k]) => k!));
    for (const row of await rows(
      trx,
      steps.topLevelStepsOfRunsQuery(
        at.map(([id]) => id),
        since,
      ),
    )) {
      const list = stepsByRun.get(row.run_id as string) ?? [];
      stepsByRun.set(row.run_id as string, list);
      list.push(row);
    }
  }
  return runIds.flatMap((id) => {
    const row = byRun.get(id);
    return [row ? [row] : [], stepsByRun.get(id) ?? []];
  });
}
