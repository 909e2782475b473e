/**
 * The Store over SQL, shared by both dialects. It composes the modules under `sql/` (one
 * per concern: runs, steps, items, queue, attempts, events, tasks, signals, schedules,
 * usage, idempotency, workers), each plain parameterised SQL valid in SQLite and PostgreSQL,
 * and adds what is the store's own: transactions, retries of transient failures
 * (`withRetry`), and the run lock a `RunTx` holds (`sql-run-tx.ts`). Dialect differences
 * (how a write transaction starts, how a row is locked, how migrations are serialised)
 * live in `SqlDialect` (`sql/dialect.ts`).
 */
import { sql } from 'kysely';
import { AgentryError } from '../lib/errors.js';
import type {
  ApiKeyRecord,
  AttemptKey,
  AttemptRecord,
  AuditRecord,
  BudgetReservation,
  BudgetState,
  CallRecord,
  LedgerBatch,
  EventRecord,
  JournalEntry,
  StoredJournalEntry,
  RunRecord,
  ScheduleRecord,
  SignalRecord,
  Spend,
  SpendQuery,
  StepRecord,
  TaskRecord,
} from '../types.js';
import { readMigrationHistory, readSchemaState, runMigrations } from './migrate.js';
import { SqlRunTx } from './sql-run-tx.js';
import { nameTaken, transactionFailure } from './sql-store-errors.js';
import { RunCache } from './run-cache.js';
import { IdempotencyKeyUsed, type RunTx, type Store, type WithRunOptions } from './store.js';
import type {
  ApiKeyListQuery,
  ApiKeyPage,
  AuditHead,
  AuditFilter,
  AuditListQuery,
  MigrateOptions,
  AuditPage,
  NewAuditEntry,
  RunPruneQuery,
  EventPruneQuery,
  DueStep,
  EventQuery,
  EventQueryPage,
  DueTask,
  ExpiredLease,
  IdempotencyClaim,
  IdempotencyRecord,
  MaintenanceRecord,
  ToolSwitchRecord,
  PolicyOverrideRecord,
  PluginSwitchRecord,
  MigrationRecord,
  MigrationReport,
  NewRun,
  NewStep,
  RunListQuery,
  RunPage,
  RunView,
  SchemaState,
  StoreKind,
  TaskListQuery,
  TaskLockResult,
  TaskPage,
  UsageQuery,
  CallListQuery,
  CallPage,
  MemoryMessage,
  MemoryMessagePage,
  MemoryMessageQuery,
  MemoryThreadPage,
  MemoryThreadQuery,
  UsageRow,
  WorkerInfo,
  WorkerRecord,
  LaneMove,
  LaneTake,
  LaneTakeResult,
  RateTake,
  RateTakeResult,
  RunQuota,
  TenantRunUsage,
  QueueStats,
  ActiveRunCounts,
  OpenTaskStats,
  StatusCounts,
  StoreObserver,
  TransactionOutcome,
} from './store-types.js';
import { isCommitUnknown, isConstraintViolation, isDiskFull, isTransient, storeFull, storeUnavailable, withRetry, type RetryOptions } from './transient.js';
import * as apiKeys from './sql/api-keys.js';
import * as attempts from './sql/attempts.js';
import * as audit from './sql/audit.js';
import * as retention from './sql/retention.js';
import * as toolSwitches from './sql/tool-switches.js';
import * as policies from './sql/policies.js';
import * as plugins from './sql/plugins.js';
import * as budgets from './sql/budgets.js';
import * as counts from './sql/counts.js';
import type { Db, SqlDialect } from './sql/dialect.js';
import * as eventQuery from './sql/event-query.js';
import * as events from './sql/events.js';
import * as idempotencyKeys from './sql/idempotency.js';
import * as items from './sql/items.js';
import * as limits from './sql/limits.js';
import * as maintenance from './sql/maintenance.js';
import * as queue from './sql/queue.js';
import * as runs from './sql/runs.js';
import * as runViews from './sql/run-view.js';
import * as schedules from './sql/schedules.js';
import * as signals from './sql/signals.js';
import * as steps from './sql/steps.js';
import * as tasks from './sql/tasks.js';
import * as usage from './sql/usage.js';
import * as responseCache from './sql/response-cache.js';
import * as memory from './sql/memory.js';
import * as sqlArtifacts from './sql/artifacts.js';
import { createArtifactStore, type ArtifactStore } from './artifacts.js';
import { recordCalls } from './sql/usage-batch.js';
import * as upstreamLanes from './sql/upstream-lanes.js';
import * as workers from './sql/workers.js';

export class SqlStore implements Store {
  readonly kind: StoreKind;
  readonly artifacts: ArtifactStore;
  private readonly retryOptions: RetryOptions;
  /** What the run transactions of this process keep of a run for its next one (run-cache.ts). */
  private readonly runCache = new RunCache();

  constructor(
    private readonly db: Db,
    private readonly dialect: SqlDialect,
    readonly location: string,
    private readonly now: () => number = Date.now,
    /** Told how each write transaction ends and when one is retried (the process's metrics). */
    private readonly observer?: StoreObserver,
    /** Where the directory backend of artifacts keeps their files; undefined: in the `run_artifacts` table. */
    artifactDirectory?: string,
  ) {
    this.kind = dialect.kind;
    this.artifacts = createArtifactStore(
      {
        transact: (fn) => this.transact(fn),
        read: (fn) => this.retrying(fn),
        putRow: (trx, artifact, content) => sqlArtifacts.putArtifact(trx, this.dialect, artifact, content),
      },
      artifactDirectory,
      this.now,
    );
    this.retryOptions = {
      ...(dialect.retry ?? { attempts: 1, baseMs: 0, maxMs: 0 }),
      // A transaction whose COMMIT was cut off may have been applied: not ours to repeat.
      retryIf: (error) => isTransient(error) && !isCommitUnknown(error),
    };
  }

  /** Runs `fn` on the pool with the dialect's retries; a transient failure that outlasts them is `store_unavailable`. */
  private async retrying<T>(fn: (db: Db) => Promise<T>, onRetry?: () => void): Promise<T> {
    try {
      return await withRetry(() => fn(this.db), onRetry ? { ...this.retryOptions, onRetry } : this.retryOptions);
    } catch (error) {
      const what = this.location.replace(/^[a-z]+:/, '');
      if (isDiskFull(error)) throw storeFull(error, what);
      throw isTransient(error) ? storeUnavailable(error, what) : error;
    }
  }

  /** Runs `fn` in one write transaction, retried as a whole (see `retrying`); the observer hears how it ended. */
  private async transact<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    const observer = this.observer;
    if (!observer) return this.retrying((db) => this.dialect.transaction(db, fn));
    const started = performance.now();
    let outcome: TransactionOutcome = 'committed';
    try {
      return await this.retrying(
        (db) => this.dialect.transaction(db, fn),
        () => observer.transactionRetried(),
      );
    } catch (error) {
      outcome = transactionFailure(error);
      throw error;
    } finally {
      observer.transactionEnded(outcome, (performance.now() - started) / 1000);
    }
  }

  migrate(options?: MigrateOptions): Promise<MigrationReport> {
    return runMigrations(this.db, this.dialect, options);
  }

  schemaState(): Promise<SchemaState> {
    return readSchemaState(this.db, this.dialect.kind);
  }

  migrationHistory(): Promise<MigrationRecord[]> {
    return readMigrationHistory(this.db, this.dialect.kind);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async databaseTime(): Promise<number> {
    const { rows } = await this.dialect.clockSql.execute(this.db);
    return Number((rows[0] as { t: unknown } | undefined)?.t);
  }

  close(): Promise<void> {
    return this.dialect.close(this.db);
  }

  async createRun<T>(run: NewRun, newSteps: NewStep[], fn: (tx: RunTx) => Promise<T>, idempotency?: IdempotencyClaim, quota?: RunQuota): Promise<T> {
    try {
      return await this.transact(async (trx) => {
        // The key is the starter's: a run's `createdBy` (none: '').
        const principal = run.createdBy ?? '';
        if (idempotency) {
          const existing = await idempotencyKeys.getIdempotencyKey(trx, run.tenantId, principal, idempotency.key);
          if (existing) throw new IdempotencyKeyUsed(existing);
        }
        if (quota && (quota.maxConcurrentRuns !== null || quota.maxRunsPerHour !== null)) {
          // One start of the tenant at a time counts and inserts (SQLite serialises writers anyway).
          // The key cannot be a concurrency key: those start with a workflow name, which has no '/'.
          if (this.dialect.keyLock) await this.dialect.keyLock(`quota/${run.tenantId}`).execute(trx);
          await limits.checkRunQuota(trx, run.tenantId, quota, run.createdAt);
        }
        const tx = await SqlRunTx.insert(trx, run, newSteps, this.now, this.dialect);
        if (idempotency) {
          const { key, requestHash } = idempotency;
          await idempotencyKeys.insertIdempotencyKey(trx, {
            tenantId: run.tenantId,
            principal,
            key,
            requestHash,
            runId: run.id,
            createdAt: tx.run.updatedAt,
          });
        }
        const result = await fn(tx);
        await tx.flush();
        return result;
      });
    } catch (error) {
      // Another start with the same key committed between our check and our insert; the
      // transaction rolled back, so read what the winner recorded.
      if (idempotency && idempotencyKeys.isIdempotencyKeyConflict(error)) {
        const existing = await this.findIdempotencyKey(run.tenantId, run.createdBy ?? '', idempotency.key);
        if (existing) throw new IdempotencyKeyUsed(existing);
      }
      throw error;
    }
  }

  findIdempotencyKey(tenantId: string, principal: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.retrying((db) => idempotencyKeys.getIdempotencyKey(db, tenantId, principal, key));
  }

  async withRun<T>(runId: string, fn: (tx: RunTx) => Promise<T>, options: WithRunOptions = {}): Promise<T | undefined> {
    const lock = options.skipLocked ? this.dialect.skipLockedSuffix : this.dialect.lockSuffix;
    let committed: SqlRunTx | undefined;
    const result = await this.transact(async (trx) => {
      committed = undefined; // a retried transaction starts over
      const tx = await SqlRunTx.lock(trx, runId, lock, this.now, this.dialect, this.runCache);
      if (!tx) return undefined;
      const result = await fn(tx);
      await tx.flush();
      committed = tx;
      return result;
    });
    committed?.remember(this.runCache);
    return result;
  }

  async withRuns<T>(runIds: readonly string[], fn: (tx: RunTx, index: number) => Promise<T>, options: WithRunOptions = {}): Promise<(T | undefined)[]> {
    if (new Set(runIds).size !== runIds.length) throw new AgentryError('internal', 'withRuns: a run is named twice');
    const lock = options.skipLocked ? this.dialect.skipLockedSuffix : this.dialect.lockSuffix;
    let committed: SqlRunTx | undefined;
    const results = await this.transact(async (trx) => {
      committed = undefined; // a retried transaction starts over
      const locked = await SqlRunTx.lockMany(trx, [...runIds].sort(), lock, this.now, this.dialect, this.runCache);
      const results: (T | undefined)[] = [];
      for (const [i, runId] of runIds.entries()) {
        const tx = locked.get(runId);
        results.push(tx ? await fn(tx, i) : undefined);
      }
      await SqlRunTx.flushAll([...locked.values()]);
      committed = locked.values().next().value;
      return results;
    });
    committed?.remember(this.runCache);
    return results;
  }

  // queue

  dueSteps(now: number, limit: number, workerId?: string): Promise<DueStep[]> {
    return this.retrying((db) => queue.dueSteps(db, now, limit, workerId, this.dialect));
  }

  nextDueAt(workerId?: string): Promise<number | null> {
    return this.retrying((db) => queue.nextDueAt(db, workerId));
  }

  async renewLeases(workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]> {
    if (keys.length === 0) return [];
    const batch = this.dialect.renewLeases?.bind(this.dialect);
    if (batch) return this.retrying((db) => batch(db, workerId, keys, expiresAt));
    return this.transact((trx) => queue.renewLeasesOneByOne(trx, workerId, keys, expiresAt));
  }

  expiredLeases(now: number, limit: number): Promise<ExpiredLease[]> {
    return this.retrying((db) => queue.expiredLeases(db, now, limit));
  }

  leasesOf(workerId: string): Promise<AttemptKey[]> {
    return this.retrying((db) => queue.leasesOf(db, workerId));
  }

  leaseCounts(): Promise<ReadonlyMap<string, number>> {
    return this.retrying((db) => queue.leaseCounts(db));
  }

  overdueRuns(now: number, limit: number): Promise<string[]> {
    return this.retrying((db) => runs.overdueRuns(db, now, limit));
  }

  dueTasks(now: number, limit: number): Promise<DueTask[]> {
    return this.retrying((db) => tasks.dueTasks(db, now, limit));
  }

  // deployment-wide counts

  queueStats(now: number): Promise<QueueStats> {
    return this.retrying((db) => queue.queueStats(db, now));
  }

  activeRunCounts(): Promise<ActiveRunCounts> {
    return this.retrying((db) => runs.activeRunCounts(db));
  }

  openTaskStats(): Promise<OpenTaskStats> {
    return this.retrying((db) => tasks.openTaskStats(db));
  }

  statusCounts(): Promise<StatusCounts> {
    return this.retrying((db) => counts.statusCounts(db));
  }

  databaseVersion(): Promise<string> {
    return this.retrying((db) => counts.databaseVersion(db, this.kind));
  }

  publishWake(): Promise<void> {
    return this.dialect.publishWake(this.db);
  }

  subscribeWake(fn: () => void): () => void {
    return this.dialect.subscribeWake(fn);
  }

  // reads

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.retrying((db) => runs.getRun(db, id));
  }

  listRuns(query: RunListQuery): Promise<RunPage> {
    return this.retrying((db) => runs.listRuns(db, query));
  }

  getSteps(runId: string): Promise<StepRecord[]> {
    return this.retrying((db) => steps.topLevelSteps(db, runId));
  }

  runView(id: string): Promise<RunView | undefined> {
    return this.retrying((db) => runViews.runView(db, id));
  }

  listAttempts(runId: string, stepId?: string): Promise<AttemptRecord[]> {
    return this.retrying((db) => attempts.listAttempts(db, runId, stepId));
  }

  listEvents(runId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    return this.retrying((db) => events.listEvents(db, runId, afterSeq, limit));
  }

  queryEvents(query: EventQuery): Promise<EventQueryPage> {
    return this.retrying((db) => eventQuery.queryEvents(db, query));
  }

  // map items, tasks, signals, sub-runs

  listItems(runId: string, parent: string, page?: { offset: number; limit: number }): Promise<StepRecord[]> {
    return this.retrying((db) => items.listItems(db, runId, parent, page));
  }

  getTask(id: string): Promise<TaskRecord | undefined> {
    return this.retrying((db) => tasks.getTask(db, id));
  }

  listTasks(query: TaskListQuery): Promise<TaskPage> {
    return this.retrying((db) => tasks.listTasks(db, query));
  }

  async lockTask(id: string, owner: string, until: number): Promise<TaskLockResult> {
    const now = this.now();
    if (await this.retrying((db) => tasks.takeTaskLock(db, id, owner, until, now))) return 'acquired';
    const task = await this.getTask(id);
    if (!task) return 'missing';
    return task.status === 'open' ? 'locked' : 'decided';
  }

  unlockTask(id: string, owner: string): Promise<void> {
    return this.retrying((db) => tasks.releaseTaskLock(db, id, owner));
  }

  listSignals(runId: string): Promise<SignalRecord[]> {
    return this.retrying((db) => signals.listSignals(db, runId));
  }

  childRuns(runId: string): Promise<RunRecord[]> {
    return this.retrying((db) => runs.childRuns(db, runId));
  }

  // schedules

  listSchedules(): Promise<ScheduleRecord[]> {
    return this.retrying((db) => schedules.listSchedules(db));
  }

  getSchedule(workflow: string): Promise<ScheduleRecord | undefined> {
    return this.retrying((db) => schedules.getSchedule(db, workflow));
  }

  saveSchedule(schedule: ScheduleRecord): Promise<void> {
    return this.retrying((db) => schedules.saveSchedule(db, schedule));
  }

  deleteSchedule(workflow: string): Promise<void> {
    return this.retrying((db) => schedules.deleteSchedule(db, workflow));
  }

  advanceSchedule(workflow: string, expectedNextAt: number, patch: schedules.ScheduleAdvance): Promise<boolean> {
    return this.retrying((db) => schedules.advanceSchedule(db, workflow, expectedNextAt, patch, this.now()));
  }

  setSchedulePaused(workflow: string, paused: boolean, nextAt: number | null): Promise<boolean> {
    return this.retrying((db) => schedules.setSchedulePaused(db, workflow, paused, nextAt, this.now()));
  }

  // LLM usage and step journals

  recordCall(record: CallRecord): Promise<void> {
    return this.transact((trx) => budgets.recordCall(trx, this.dialect, record, this.now()));
  }

  recordCalls(batch: LedgerBatch): Promise<void> {
    return this.transact((trx) => recordCalls(trx, this.dialect, batch, this.now()));
  }

  spent(query: SpendQuery): Promise<Spend> {
    return this.retrying((db) => budgets.ledgerSpent(db, query));
  }

  reserveBudget(reservation: BudgetReservation, admit: (states: BudgetState[]) => boolean): Promise<{ admitted: boolean; states: BudgetState[] }> {
    return this.transact((trx) => budgets.reserve(trx, this.dialect, reservation, admit));
  }

  renewBudgetReservation(id: string, expiresAt: number): Promise<boolean> {
    return this.retrying((db) => budgets.renewReservation(db, id, expiresAt));
  }

  pruneBudgets(now: number): Promise<{ reservations: number; counters: number }> {
    return this.retrying((db) => budgets.pruneBudgets(db, now));
  }

  budgetState(query: SpendQuery, at: number): Promise<BudgetState> {
    return this.retrying((db) => budgets.budgetState(db, query, at));
  }

  usage(query: UsageQuery): Promise<UsageRow[]> {
    return this.retrying((db) => usage.usage(db, query));
  }

  stepCalls(runId: string, stepId: string): Promise<CallRecord[]> {
    return this.retrying((db) => usage.stepCalls(db, runId, stepId));
  }

  listCalls(query: CallListQuery): Promise<CallPage> {
    return this.retrying((db) => usage.listCalls(db, query));
  }

  cacheGet(tenantId: string, key: string, now: number): Promise<unknown> {
    return this.retrying((db) => responseCache.cacheGet(db, tenantId, key, now));
  }

  cachePut(tenantId: string, key: string, response: unknown, now: number, expiresAt: number): Promise<void> {
    return this.retrying((db) => responseCache.cachePut(db, tenantId, key, response, now, expiresAt));
  }

  pruneCache(now: number): Promise<number> {
    return this.retrying((db) => responseCache.pruneCache(db, now));
  }

  loadMemory(tenantId: string, agent: string, thread: string, limit: number): Promise<MemoryMessage[]> {
    return this.retrying((db) => memory.loadMemory(db, tenantId, agent, thread, limit));
  }

  async appendMemory(tenantId: string, agent: string, thread: string, messages: readonly MemoryMessage[], keep: number, now: number): Promise<void> {
    // A writer of the same thread that committed first took the sequence numbers: go again after it.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transact((trx) => memory.appendMemory(trx, tenantId, agent, thread, messages, keep, now));
      } catch (error) {
        if (attempt >= 5 || !isConstraintViolation(error)) throw error;
      }
    }
  }

  clearMemory(tenantId: string | undefined, agent: string | undefined, thread: string): Promise<number> {
    return this.transact((trx) => memory.clearMemory(trx, tenantId, agent, thread));
  }

  listMemoryThreads(query: MemoryThreadQuery): Promise<MemoryThreadPage> {
    return this.retrying((db) => memory.listThreads(db, query));
  }

  listMemoryMessages(query: MemoryMessageQuery): Promise<MemoryMessagePage> {
    return this.retrying((db) => memory.listMessages(db, query));
  }

  pruneMemory(before: number, tenantId: string | undefined): Promise<number> {
    return this.transact((trx) => memory.pruneMemory(trx, before, tenantId));
  }

  loadJournal(runId: string, stepId: string): Promise<StoredJournalEntry[]> {
    return this.retrying((db) => usage.loadJournal(db, runId, stepId));
  }

  appendJournal(runId: string, stepId: string, entry: JournalEntry): Promise<void> {
    return this.retrying((db) => usage.appendJournal(db, runId, stepId, entry, this.now()));
  }

  // audit log

  appendAudit(entry: NewAuditEntry): Promise<AuditRecord> {
    return this.transact((trx) => audit.appendAudit(trx, this.dialect.lockSuffix, entry, this.now()));
  }

  appendAudits(entries: readonly NewAuditEntry[] | (() => readonly NewAuditEntry[])): Promise<AuditRecord[]> {
    let taken: readonly NewAuditEntry[] | undefined;
    return this.transact(async (trx) => {
      taken ??= typeof entries === 'function' ? entries() : entries;
      return audit.appendAudits(trx, this.dialect.lockSuffix, taken, this.now());
    });
  }

  listAudit(query: AuditListQuery): Promise<AuditPage> {
    return this.retrying((db) => audit.listAudit(db, query));
  }

  auditChain(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.retrying((db) => audit.auditChain(db, afterSeq, limit));
  }

  exportAudit(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.retrying((db) => audit.exportAudit(db, filter, afterSeq, limit));
  }

  auditHead(): Promise<AuditHead> {
    return this.retrying((db) => audit.auditHead(db));
  }

  countPrunableRuns(q: RunPruneQuery): Promise<number> {
    return this.retrying((db) => retention.countPrunableRuns(db, q));
  }

  async pruneRuns(q: RunPruneQuery): Promise<string[]> {
    const ids = await this.transact((trx) => retention.pruneRuns(trx, q));
    // Their artifacts' rows went with them; a directory backend's files go now.
    await this.artifacts.forgetRuns(ids);
    return ids;
  }

  countPrunableEvents(q: EventPruneQuery): Promise<number> {
    return this.retrying((db) => retention.countPrunableEvents(db, q));
  }

  pruneEvents(q: EventPruneQuery): Promise<number> {
    return this.transact((trx) => retention.pruneEvents(trx, q));
  }

  expireIdempotencyKeys(before: number, limit: number, dryRun: boolean): Promise<number> {
    return dryRun
      ? this.retrying((db) => retention.expireIdempotencyKeys(db, before, limit, true))
      : this.transact((trx) => retention.expireIdempotencyKeys(trx, before, limit, false));
  }

  pruneAudit(before: number, anchor: NewAuditEntry): Promise<AuditRecord | undefined> {
    return this.transact(async (trx) => {
      const pruned = await audit.pruneAudit(trx, this.dialect.lockSuffix, before);
      if (!pruned) return undefined;
      const details = { ...anchor.details, pruned_through_seq: pruned.seq, pruned_hash: pruned.hash, pruned_count: pruned.count };
      return audit.appendAudit(trx, this.dialect.lockSuffix, { ...anchor, details }, this.now());
    });
  }

  // managed API keys

  async insertApiKey(record: ApiKeyRecord): Promise<void> {
    await this.transact((trx) => apiKeys.insertApiKey(trx, record)).catch(nameTaken(record));
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.retrying((db) => apiKeys.getApiKey(db, id));
  }

  unrevokedApiKeys(tenantId: string, name: string): Promise<ApiKeyRecord[]> {
    return this.retrying((db) => apiKeys.unrevokedApiKeys(db, tenantId, name));
  }

  listApiKeys(query: ApiKeyListQuery): Promise<ApiKeyPage> {
    return this.retrying((db) => apiKeys.listApiKeys(db, query));
  }

  allApiKeys(): Promise<ApiKeyRecord[]> {
    return this.retrying((db) => apiKeys.allApiKeys(db));
  }

  apiKeyRevision(): Promise<number> {
    return this.retrying((db) => apiKeys.apiKeyRevision(db));
  }

  countUsableApiKeys(now: number): Promise<number> {
    return this.retrying((db) => apiKeys.countUsableApiKeys(db, now));
  }

  revokeApiKeys(ids: readonly string[], by: string): Promise<ApiKeyRecord[]> {
    return this.transact((trx) => apiKeys.revokeApiKeys(trx, ids, this.now(), by));
  }

  rotateApiKey(oldId: string, graceUntil: number, next: ApiKeyRecord): Promise<boolean> {
    return this.transact((trx) => apiKeys.rotateApiKey(trx, oldId, graceUntil, next)).catch(nameTaken(next));
  }

  touchApiKey(id: string, at: number): Promise<void> {
    return this.retrying((db) => apiKeys.touchApiKey(db, id, at));
  }

  // rate limits and run quotas

  takeRateToken(take: RateTake, now: number): Promise<RateTakeResult> {
    return this.retrying((db) => limits.takeRateToken(db, take, now));
  }

  takeUpstreamSlot(take: LaneTake): Promise<LaneTakeResult> {
    return this.transact((trx) => upstreamLanes.takeUpstreamSlot(trx, take, this.dialect.lockSuffix));
  }

  moveUpstreamLanes(moves: readonly LaneMove[]): Promise<void> {
    return this.transact((trx) => upstreamLanes.moveUpstreamLanes(trx, moves));
  }

  pruneRateBuckets(now: number): Promise<number> {
    return this.retrying((db) => limits.pruneRateBuckets(db, now));
  }

  pruneRunStartCounters(now: number): Promise<number> {
    return this.retrying((db) => limits.pruneRunStartCounters(db, now));
  }

  tenantRunUsage(now: number, tenantId?: string): Promise<TenantRunUsage[]> {
    return this.retrying((db) => limits.tenantRunUsage(db, now, tenantId));
  }

  // workers

  upsertWorker(worker: WorkerInfo): Promise<number | null> {
    return this.retrying((db) => workers.upsertWorker(db, worker));
  }

  removeWorker(id: string): Promise<void> {
    return this.retrying((db) => workers.removeWorker(db, id));
  }

  listWorkers(): Promise<WorkerRecord[]> {
    return this.retrying((db) => workers.listWorkers(db));
  }

  requestDrain(id: string, at: number): Promise<boolean> {
    return this.retrying((db) => workers.requestDrain(db, id, at));
  }

  getMaintenance(): Promise<MaintenanceRecord | null> {
    return this.retrying((db) => maintenance.getMaintenance(db));
  }

  startMaintenance(record: MaintenanceRecord): Promise<MaintenanceRecord> {
    return this.retrying((db) => maintenance.startMaintenance(db, record));
  }

  endMaintenance(): Promise<MaintenanceRecord | null> {
    return this.retrying((db) => maintenance.endMaintenance(db));
  }

  listToolSwitches(): Promise<ToolSwitchRecord[]> {
    return this.retrying((db) => toolSwitches.listToolSwitches(db));
  }

  disableTool(record: ToolSwitchRecord): Promise<ToolSwitchRecord> {
    return this.retrying((db) => toolSwitches.disableTool(db, record));
  }

  enableTool(server: string, tool: string | null): Promise<ToolSwitchRecord | null> {
    return this.retrying((db) => toolSwitches.enableTool(db, server, tool));
  }

  listPolicyOverrides(): Promise<PolicyOverrideRecord[]> {
    return this.retrying((db) => policies.listPolicyOverrides(db));
  }

  putPolicyOverride(record: PolicyOverrideRecord): Promise<PolicyOverrideRecord> {
    return this.retrying((db) => policies.putPolicyOverride(db, record));
  }

  deletePolicyOverride(environment: string): Promise<PolicyOverrideRecord | null> {
    return this.retrying((db) => policies.deletePolicyOverride(db, environment));
  }

  listPluginSwitches(): Promise<PluginSwitchRecord[]> {
    return this.retrying((db) => plugins.listPluginSwitches(db));
  }

  disablePlugin(record: PluginSwitchRecord): Promise<PluginSwitchRecord> {
    return this.retrying((db) => plugins.disablePlugin(db, record));
  }

  enablePlugin(plugin: string): Promise<PluginSwitchRecord | null> {
    return this.retrying((db) => plugins.enablePlugin(db, plugin));
  }

  getPluginValue(plugin: string, tenantId: string, key: string): Promise<string | undefined> {
    return this.retrying((db) => plugins.getPluginValue(db, plugin, tenantId, key));
  }

  setPluginValue(plugin: string, tenantId: string, key: string, value: string, at: number): Promise<void> {
    return this.retrying((db) => plugins.setPluginValue(db, plugin, tenantId, key, value, at));
  }

  deletePluginValue(plugin: string, tenantId: string, key: string): Promise<void> {
    return this.retrying((db) => plugins.deletePluginValue(db, plugin, tenantId, key));
  }
}
