/**
 * The Store: everything Agentry keeps durably. One interface, one implementation per
 * dialect (SQLite for one host, PostgreSQL for many). The engine decides what changes;
 * the store makes each change one transaction.
 *
 * The query, page and patch types live in `store-types.ts` and are re-exported here, so
 * callers import everything about the store from this module.
 */
import { AgentryError } from '../lib/errors.js';
import type { ArtifactStore } from './artifacts.js';
import type {
  ApiKeyRecord,
  AttemptKey,
  AttemptRecord,
  AuditRecord,
  CallRecord,
  LedgerBatch,
  EventRecord,
  EventType,
  JournalEntry,
  StoredJournalEntry,
  RunRecord,
  ScheduleRecord,
  SignalRecord,
  Spend,
  SpendQuery,
  BudgetReservation,
  BudgetState,
  StepRecord,
  StepStatus,
  TaskRecord,
  TaskStatus,
} from '../types.js';
import type {
  StoreKind,
  SchemaState,
  MigrationReport,
  MigrationRecord,
  MaintenanceRecord,
  ToolSwitchRecord,
  PolicyOverrideRecord,
  PluginSwitchRecord,
  WorkerRecord,
  RunListQuery,
  RunPage,
  RunPatch,
  RunView,
  StepPatch,
  StepGuard,
  AttemptPatch,
  NewRun,
  NewStep,
  TaskPatch,
  ItemResult,
  TaskListQuery,
  TaskPage,
  TaskLockResult,
  DueStep,
  DueTask,
  ExpiredLease,
  IdempotencyRecord,
  IdempotencyClaim,
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
  AuditFilter,
  AuditHead,
  MigrateOptions,
  AuditListQuery,
  AuditPage,
  EventQuery,
  EventQueryPage,
  NewAuditEntry,
  RunPruneQuery,
  EventPruneQuery,
  ApiKeyListQuery,
  ApiKeyPage,
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
} from './store-types.js';

export type * from './store-types.js';
export type { ArtifactStore } from './artifacts.js';

/** Changes inside one transaction that holds the lock of one run. */
export interface RunTx {
  readonly run: RunRecord;
  steps(): Promise<StepRecord[]>;
  updateRun(patch: RunPatch): Promise<void>;
  /** Returns false (and changes nothing) when the guard does not hold. */
  updateStep(stepId: string, patch: StepPatch, guard?: StepGuard): Promise<boolean>;
  insertAttempt(attempt: AttemptRecord): Promise<void>;
  /** Returns when the attempt started (undefined: there is no such attempt). */
  updateAttempt(stepId: string, attempt: number, patch: AttemptPatch): Promise<number | undefined>;
  /** How many attempts of the step a stopping worker released (they do not count against its retries). */
  releasedAttempts(stepId: string): Promise<number>;
  appendEvent(type: EventType, data?: Record<string, unknown>, stepId?: string | null): Promise<EventRecord>;

  // map items (rows of their own, not among `steps()`)
  /** Inserts the items of a `for_each` step as `pending` steps `<parent>[<index>]`. */
  insertItems(parent: string, kind: string, items: unknown[]): Promise<void>;
  /** One step row by id: a top-level step or a map item. */
  step(stepId: string): Promise<StepRecord | undefined>;
  /** How many items of `parent` are in each status. */
  itemCounts(parent: string): Promise<Partial<Record<StepStatus, number>>>;
  /** The first `limit` pending items of `parent`, by index. */
  pendingItems(parent: string, limit: number): Promise<StepRecord[]>;
  itemResults(parent: string): Promise<ItemResult[]>;
  /** Cancels every unfinished item (of `parent`, or of the whole run); returns the running ones. */
  cancelItems(parent: string | undefined, finishedAt: number): Promise<StepRecord[]>;

  // human tasks
  insertTask(task: TaskRecord): Promise<void>;
  /** Records `principal`'s idempotency key of a request applied in this transaction (a task decision). */
  recordIdempotencyKey(key: string, requestHash: string, principal: string): Promise<void>;
  /** Returns false (and changes nothing) when the task is not in one of `statuses`. */
  updateTask(id: string, patch: TaskPatch, statuses?: readonly TaskStatus[]): Promise<boolean>;
  task(id: string): Promise<TaskRecord | undefined>;
  /** The run's open tasks (of one step when given). */
  openTasks(stepId?: string): Promise<TaskRecord[]>;

  // signals
  /** Records a signal; when one of that name was already received, returns it and records nothing. */
  insertSignal(name: string, payload: unknown): Promise<SignalRecord | undefined>;
  signal(name: string): Promise<SignalRecord | undefined>;

  // sub-runs
  /** Inserts a run (a child of this one) in this transaction and returns its transaction view. */
  createRun(run: NewRun, steps: NewStep[]): Promise<RunTx>;
  /** Locks another run (a child) in this transaction. */
  lockRun(runId: string): Promise<RunTx | undefined>;
  /** Runs started by this run's steps. */
  childRuns(): Promise<RunRecord[]>;
  /** Makes a waiting step of another run (the parent) due now. */
  wakeStep(runId: string, stepId: string): Promise<void>;

  // concurrency keys
  /** Serialises transactions on `key` until this one ends (PostgreSQL advisory lock). */
  lockKey(key: string): Promise<void>;
  /** Runs with `key` that have started and not ended. */
  countActive(key: string): Promise<number>;
  /** Makes the queued steps of the first `limit` runs waiting on `key` due now (by priority, age). */
  wakeBlocked(key: string, limit: number): Promise<void>;
}

/** Thrown by `createRun` when its idempotency key was already used; nothing was created. */
export class IdempotencyKeyUsed extends AgentryError {
  constructor(readonly record: IdempotencyRecord) {
    super('idempotency_conflict', `idempotency key '${record.key}' was already used for run ${record.runId}`);
  }
}

export interface WithRunOptions {
  /**
   * Do not wait for the run's lock: when another transaction holds it, return undefined
   * at once (PostgreSQL `FOR UPDATE SKIP LOCKED`). Claims use it so that two workers never
   * queue up behind the same run.
   */
  skipLocked?: boolean;
}

export interface Store {
  readonly kind: StoreKind;
  /** The files runs' steps wrote (`artifacts.ts`): a directory beside an SQLite file, the `run_artifacts` table on PostgreSQL. */
  readonly artifacts: ArtifactStore;
  /** Where the data is, safe to print (no password). */
  readonly location: string;

  /** Applies pending migrations (each an audit entry by `options.principal`, default `system`). */
  migrate(options?: MigrateOptions): Promise<MigrationReport>;
  /** The database's schema version and this build's; reads only (never creates a table). */
  schemaState(): Promise<SchemaState>;
  /** The migrations applied to the database, oldest first, with when and how long; reads only. */
  migrationHistory(): Promise<MigrationRecord[]>;
  /** Throws when the database cannot answer a trivial query. */
  ping(): Promise<void>;
  /** The database server's clock now (epoch ms), to compare with this process's (`agentry doctor`). */
  databaseTime(): Promise<number>;
  close(): Promise<void>;

  /**
   * Inserts a run and its steps, then lets `fn` make the first transitions, in one
   * transaction. With `idempotency`, the key is recorded in the same transaction; a key
   * already used throws `IdempotencyKeyUsed` and creates nothing. With `quota`, the run's
   * tenant is locked and a run that would pass a quota throws `quota_exceeded` and creates
   * nothing (checked after the idempotency key, so a repeated start still gets its run).
   */
  createRun<T>(run: NewRun, steps: NewStep[], fn: (tx: RunTx) => Promise<T>, idempotency?: IdempotencyClaim, quota?: RunQuota): Promise<T>;
  /** `principal`'s key in the tenant (a run start's principal is its `createdBy`, `''` for none). */
  findIdempotencyKey(tenantId: string, principal: string, key: string): Promise<IdempotencyRecord | undefined>;
  /**
   * Runs `fn` in a transaction holding the run's lock (always taken before any step row's);
   * undefined when the run does not exist, or with `skipLocked` when another holds the lock.
   */
  withRun<T>(runId: string, fn: (tx: RunTx) => Promise<T>, options?: WithRunOptions): Promise<T | undefined>;
  /**
   * `withRun` for several different runs in one transaction (a group commit): their locks are
   * taken in id order, waiting (with `skipLocked`, a run another holds is left out); `fn` runs
   * for each run in turn (undefined for a run that does not exist or was left out). If one
   * `fn` throws, nothing is committed and the call throws.
   */
  withRuns<T>(runIds: readonly string[], fn: (tx: RunTx, index: number) => Promise<T>, options?: WithRunOptions): Promise<(T | undefined)[]>;

  // queue
  /**
   * Steps that are queued or waiting and due at `now`, best first. None while the fleet is in
   * maintenance mode (unless it is quiesced), nor for a `workerId` asked to drain.
   */
  dueSteps(now: number, limit: number, workerId?: string): Promise<DueStep[]>;
  /** Earliest `available_at` among queued or waiting steps, or null (also when `dueSteps` would answer none). */
  nextDueAt(workerId?: string): Promise<number | null>;
  /** Extends the leases `workerId` holds; returns the ones it still holds. */
  renewLeases(workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]>;
  expiredLeases(now: number, limit: number): Promise<ExpiredLease[]>;
  /** Attempts a worker holds leases on. */
  leasesOf(workerId: string): Promise<AttemptKey[]>;
  /** How many running steps each worker holds a lease on (a worker holding none is absent). */
  leaseCounts(): Promise<ReadonlyMap<string, number>>;
  /** Ids of unfinished runs whose deadline is past. */
  overdueRuns(now: number, limit: number): Promise<string[]>;
  /** Open human tasks (`human` steps) whose deadline is past, oldest first. */
  dueTasks(now: number, limit: number): Promise<DueTask[]>;

  // deployment-wide counts (every tenant), for the metrics gauges read at scrape time
  /** Steps due at `now` and not claimed: how many, and the longest-due one's time. */
  queueStats(now: number): Promise<QueueStats>;
  activeRunCounts(): Promise<ActiveRunCounts>;
  openTaskStats(): Promise<OpenTaskStats>;
  /** Every run and step by status (a full scan: the support bundle, not a scrape). */
  statusCounts(): Promise<StatusCounts>;
  /** The database engine's version (SQLite library, PostgreSQL server). */
  databaseVersion(): Promise<string>;

  // reads
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(query: RunListQuery): Promise<RunPage>;
  getSteps(runId: string): Promise<StepRecord[]>;
  /** The run with its top-level steps, LLM usage totals and whether it has children, in one statement (`GET /v1/runs/{id}`). */
  runView(id: string): Promise<RunView | undefined>;
  listAttempts(runId: string, stepId?: string): Promise<AttemptRecord[]>;
  listEvents(runId: string, afterSeq: number, limit: number): Promise<EventRecord[]>;
  /** Events across runs, in time order (see `EventQuery`): a page, and the cursor of the next one. */
  queryEvents(query: EventQuery): Promise<EventQueryPage>;

  // map items, tasks, signals, sub-runs
  /** Items of map step `parent`, by index (a page of them with `offset`/`limit`). */
  listItems(runId: string, parent: string, page?: { offset: number; limit: number }): Promise<StepRecord[]>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  listTasks(query: TaskListQuery): Promise<TaskPage>;
  /**
   * Takes a task's resume lock until `until` (a decision is being applied): `locked` when
   * another holder's lock has not lapsed, `decided` when the task is no longer open.
   */
  lockTask(id: string, owner: string, until: number): Promise<TaskLockResult>;
  unlockTask(id: string, owner: string): Promise<void>;
  listSignals(runId: string): Promise<SignalRecord[]>;
  childRuns(runId: string): Promise<RunRecord[]>;

  // schedules
  listSchedules(): Promise<ScheduleRecord[]>;
  getSchedule(workflow: string): Promise<ScheduleRecord | undefined>;
  /** Inserts or replaces a schedule's definition (keeps `paused`, `last_*` of an existing row). */
  saveSchedule(schedule: ScheduleRecord): Promise<void>;
  deleteSchedule(workflow: string): Promise<void>;
  /**
   * Moves a schedule past the tick `expectedNextAt` (compare-and-set). False when another
   * scheduler moved it first.
   */
  advanceSchedule(
    workflow: string,
    expectedNextAt: number,
    patch: Pick<ScheduleRecord, 'nextAt'> & Partial<Pick<ScheduleRecord, 'lastTickAt' | 'lastRunId'>>,
  ): Promise<boolean>;
  setSchedulePaused(workflow: string, paused: boolean, nextAt: number | null): Promise<boolean>;

  // wake-ups across processes
  /** Tells every process subscribed to this store that work became due (PostgreSQL NOTIFY). */
  publishWake(): Promise<void>;
  /**
   * Calls `fn` when any process published a wake-up (and after a lost subscription is
   * re-established, since wake-ups may have been missed). Returns the unsubscribe function.
   * SQLite: one host, one process at a time runs work; `fn` is never called.
   */
  subscribeWake(fn: () => void): () => void;

  // LLM usage (the gateway's ledger), budgets and step journals
  /**
   * Records one attempt of an LLM call; in the same transaction it counts in the budget counters
   * of its scopes and settles its reservation (the one with the record's id). Recording the same
   * call id again changes nothing.
   */
  recordCall(record: CallRecord): Promise<void>;
  /** Records many calls and settles their reservations or leases in one transaction (`LedgerBatch`); like `recordCall` for each. */
  recordCalls(batch: LedgerBatch): Promise<void>;
  /** What the ledger holds for a run, or a tenant's (or one of its workflows') UTC day or month. */
  spent(query: SpendQuery): Promise<Spend>;
  /**
   * Check-and-reserve in one transaction, atomic across processes: reads every scope's state
   * (ledger + live reservations of other attempts), and when `admit` accepts them, reserves
   * `reservation.amount` on each scope until `reservation.expiresAt`. `admit` may run more than
   * once (a transaction retried after a transient failure); it must have no side effects.
   */
  reserveBudget(reservation: BudgetReservation, admit: (states: BudgetState[]) => boolean): Promise<{ admitted: boolean; states: BudgetState[] }>;
  /** Extends a live reservation; false when it is gone (settled, or expired and dropped). */
  renewBudgetReservation(id: string, expiresAt: number): Promise<boolean>;
  /** Deletes expired reservations and long-unused budget counters (they are rebuilt from the ledger). */
  pruneBudgets(now: number): Promise<{ reservations: number; counters: number }>;
  /** A scope's state at `at`, for display (a snapshot: no locks). */
  budgetState(query: SpendQuery, at: number): Promise<BudgetState>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** The ledger's records of one step of a run (every attempt of every call), oldest first. */
  stepCalls(runId: string, stepId: string): Promise<CallRecord[]>;
  /** The ledger's call records matching `query`, newest first, a keyset page at a time. */
  listCalls(query: CallListQuery): Promise<CallPage>;
  /** The gateway's response cache: the live answer under `key` for the tenant at `now`. */
  cacheGet(tenantId: string, key: string, now: number): Promise<unknown>;
  /** Stores (or replaces) an answer of the response cache until `expiresAt`. */
  cachePut(tenantId: string, key: string, response: unknown, now: number, expiresAt: number): Promise<void>;
  /** Deletes the response cache's expired answers; how many. */
  pruneCache(now: number): Promise<number>;
  /** An agent's conversation memory: the thread's newest `limit` messages, oldest first. */
  loadMemory(tenantId: string, agent: string, thread: string, limit: number): Promise<MemoryMessage[]>;
  /** Appends messages to a thread and keeps only its newest `keep`, in one transaction. */
  appendMemory(tenantId: string, agent: string, thread: string, messages: readonly MemoryMessage[], keep: number, now: number): Promise<void>;
  /** Deletes a thread (of one agent, or of all; in one tenant, or in all); how many messages it had (0: no such thread). */
  clearMemory(tenantId: string | undefined, agent: string | undefined, thread: string): Promise<number>;
  /** Memory threads (of a tenant and agent, or of all), by name, a keyset page at a time. */
  listMemoryThreads(query: MemoryThreadQuery): Promise<MemoryThreadPage>;
  /** A page of a thread's messages, by tenant, agent and order. */
  listMemoryMessages(query: MemoryMessageQuery): Promise<MemoryMessagePage>;
  /** Deletes the memory messages written before `before` (of one tenant, or of all); how many. */
  pruneMemory(before: number, tenantId: string | undefined): Promise<number>;
  /** A step's journal, in the order it was recorded. */
  loadJournal(runId: string, stepId: string): Promise<StoredJournalEntry[]>;
  /** Records an entry; a key already recorded keeps its first value. */
  appendJournal(runId: string, stepId: string, entry: JournalEntry): Promise<void>;

  // audit log (`audit-chain.ts`)
  /** Appends an entry to the one chain, in its own transaction (serialised by the head row's lock). */
  appendAudit(entry: NewAuditEntry): Promise<AuditRecord>;
  /**
   * Appends `entries` in order in one transaction (one commit for a batch of concurrent entries,
   * `AuditService`). Given a function, calls it for the entries once the transaction has begun
   * (on SQLite: holds the write lock), so that entries that came while it waited for its turn go
   * in it too; a transaction tried again after a transient failure writes what the first call gave.
   */
  appendAudits(entries: readonly NewAuditEntry[] | (() => readonly NewAuditEntry[])): Promise<AuditRecord[]>;
  /** Entries matching the query, newest first. */
  listAudit(query: AuditListQuery): Promise<AuditPage>;
  /** Up to `limit` entries after `afterSeq`, in chain order. */
  auditChain(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /** Up to `limit` entries matching `filter` after `afterSeq`, in chain order (for export). */
  exportAudit(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditRecord[]>;
  auditHead(): Promise<AuditHead>;
  /**
   * Deletes the entries older than `before` and, in the same transaction, appends `anchor`
   * with the seq and hash of the last one deleted in its details (`pruned_through_seq`,
   * `pruned_hash`); undefined (nothing changed) when no entry was old enough.
   */
  pruneAudit(before: number, anchor: NewAuditEntry): Promise<AuditRecord | undefined>;

  // retention (`sql/retention.ts`): each call one batch in one transaction
  /** How many runs `q` selects now, ignoring `limit` (a dry run). */
  countPrunableRuns(q: RunPruneQuery): Promise<number>;
  /** Deletes up to `q.limit` ended runs and every row referencing them (not the LLM call ledger), and their artifacts' files; returns their ids. */
  pruneRuns(q: RunPruneQuery): Promise<string[]>;
  /** How many events `q` selects now, ignoring `limit`. */
  countPrunableEvents(q: EventPruneQuery): Promise<number>;
  /** Deletes up to `q.limit` events of ended runs older than `q.before`; returns how many. */
  pruneEvents(q: EventPruneQuery): Promise<number>;
  /** Deletes up to `limit` idempotency keys recorded before `before` (with `dryRun`, counts them all); returns how many. */
  expireIdempotencyKeys(before: number, limit: number, dryRun: boolean): Promise<number>;

  // managed API keys (`sql/api-keys.ts`); each change bumps the revision in its transaction
  /** Inserts a key; `conflict` when the tenant already has a current key of that name. */
  insertApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** The keys of a tenant with this name that are not revoked (the current one, and any in the grace of a rotate), newest first. */
  unrevokedApiKeys(tenantId: string, name: string): Promise<ApiKeyRecord[]>;
  listApiKeys(query: ApiKeyListQuery): Promise<ApiKeyPage>;
  /** Every key, for a process's cache. */
  allApiKeys(): Promise<ApiKeyRecord[]>;
  /** Changes whenever a key is created, revoked or rotated (by any process). */
  apiKeyRevision(): Promise<number>;
  countUsableApiKeys(now: number): Promise<number>;
  /** Revokes those of `ids` not revoked yet, in one transaction; returns them. */
  revokeApiKeys(ids: readonly string[], by: string): Promise<ApiKeyRecord[]>;
  /** Replaces the current key `oldId` by `next` in one transaction; false when `oldId` is no longer current. `conflict` as for insert. */
  rotateApiKey(oldId: string, graceUntil: number, next: ApiKeyRecord): Promise<boolean>;
  /** Records a use of the key (a hint: callers write it at most once a minute per key). */
  touchApiKey(id: string, at: number): Promise<void>;
  // rate limits and run quotas (`sql/limits.ts`)
  /** Takes a token from a bucket in one statement (refill and take computed in SQL). */
  takeRateToken(take: RateTake, now: number): Promise<RateTakeResult>;
  /** Deletes buckets that are full again by `now`; returns how many. */
  pruneRateBuckets(now: number): Promise<number>;
  /** Deletes the per-minute run start counters older than every quota's window; returns how many. */
  pruneRunStartCounters(now: number): Promise<number>;
  /** Runs not ended and runs created in the last hour, for one tenant or every tenant with any. */
  tenantRunUsage(now: number, tenantId?: string): Promise<TenantRunUsage[]>;

  // the gateway's upstream limits, shared by every process (`sql/upstream-lanes.ts`)
  /** Takes a call's slot on all of its lanes in one transaction, or nothing when it comes after the deadline. */
  takeUpstreamSlot(take: LaneTake): Promise<LaneTakeResult>;
  /** Gives units back to lanes (a call cancelled while it waited) or settles an estimate. */
  moveUpstreamLanes(moves: readonly LaneMove[]): Promise<void>;

  // workers and the fleet's switches (`sql/workers.ts`, `sql/maintenance.ts`)
  /** A heartbeat: inserts the worker or moves its `heartbeatAt`; returns when a drain of it was requested (null: none). */
  upsertWorker(worker: WorkerInfo): Promise<number | null>;
  removeWorker(id: string): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  /** Asks a worker to drain: it claims nothing more, finishes its steps and exits. False when there is no such worker. */
  requestDrain(id: string, at: number): Promise<boolean>;
  /** The maintenance mode in force (no worker claims a step; quiesced: the API refuses new runs), or null. */
  getMaintenance(): Promise<MaintenanceRecord | null>;
  /** Turns maintenance mode on (already on: only the reason and the mode change); returns what is in force. */
  startMaintenance(record: MaintenanceRecord): Promise<MaintenanceRecord>;
  /** Turns maintenance mode off; returns what was in force (null: it was off). */
  endMaintenance(): Promise<MaintenanceRecord | null>;

  // the fleet's tool switches (`sql/tool-switches.ts`)
  /** Every tool server and tool disabled by an operator. */
  listToolSwitches(): Promise<ToolSwitchRecord[]>;
  /** Disables a server (`tool` null) or one tool (disabled already: only the reason changes); returns what is in force. */
  disableTool(record: ToolSwitchRecord): Promise<ToolSwitchRecord>;
  /** Enables a server or tool; returns the switch that was in force (null: it was enabled). */
  enableTool(server: string, tool: string | null): Promise<ToolSwitchRecord | null>;

  // environment policies set over the API (`sql/policies.ts`)
  /** Every stored policy override, by environment. */
  listPolicyOverrides(): Promise<PolicyOverrideRecord[]>;
  /** Stores (or replaces) an environment's policy; returns it. */
  putPolicyOverride(record: PolicyOverrideRecord): Promise<PolicyOverrideRecord>;
  /** Removes an environment's override (agentry.yaml's policy applies again); returns the one removed (null: none). */
  deletePolicyOverride(environment: string): Promise<PolicyOverrideRecord | null>;

  // plugins (`sql/plugins.ts`)
  /** Every plugin disabled by an operator. */
  listPluginSwitches(): Promise<PluginSwitchRecord[]>;
  /** Disables a plugin (disabled already: only the reason changes); returns what is in force. */
  disablePlugin(record: PluginSwitchRecord): Promise<PluginSwitchRecord>;
  /** Enables a plugin; returns the switch that was in force (null: it was enabled). */
  enablePlugin(plugin: string): Promise<PluginSwitchRecord | null>;
  /** A plugin's value under a tenant's key (JSON text), or undefined. */
  getPluginValue(plugin: string, tenantId: string, key: string): Promise<string | undefined>;
  setPluginValue(plugin: string, tenantId: string, key: string, value: string, at: number): Promise<void>;
  deletePluginValue(plugin: string, tenantId: string, key: string): Promise<void>;
}
