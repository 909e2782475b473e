/**
 * The shapes the Store takes and returns besides the stored records (`../types.ts`): what a
 * listing asks for and the page it gets, which fields an update may change, and the rows of
 * the queue, the usage ledger and the worker registry. `store.ts` re-exports all of them.
 */
import type { ErrorInfo } from '../lib/errors.js';
import type {
  ApiKeyRecord,
  AttemptKey,
  AttemptRecord,
  AuditRecord,
  CallOutcome,
  CallRecord,
  EventRecord,
  EventType,
  RunRecord,
  RunStatus,
  StepRecord,
  StepStatus,
  TaskKind,
  TaskRecord,
  TaskStatus,
} from '../types.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface SchemaState {
  /** Highest migration applied to the database (0 for an empty one). */
  current: number;
  /** Highest migration this build knows. */
  latest: number;
}

export interface MigrationReport extends SchemaState {
  /** The schema version before (equal to `current` when nothing was applied). */
  from: number;
  applied: number[];
}

export interface MigrateOptions {
  /** Who migrates, as the audit log records it: `system` (a process starting) or the CLI's user (`agentry migrate`). */
  principal?: string;
  /** Apply migrations up to this version only (tests of one migration on data of the schema before it). Default: all. */
  to?: number;
  /** Told of each migration once it has committed (the caller logs it). Must not throw. */
  onApplied?: (migration: AppliedMigration) => void;
}

/** A migration just applied: what `MigrateOptions.onApplied` is told. */
export interface AppliedMigration {
  version: number;
  name: string;
  /** The schema version before it. */
  from: number;
  /** How long its transaction took. */
  durationMs: number;
}

/** A row of `schema_migrations`: a migration applied to the database. */
export interface MigrationRecord {
  version: number;
  name: string;
  appliedAt: number;
  /** How long it took; null for migrations applied before durations were recorded (migration 16). */
  durationMs: number | null;
}

export interface RunListQuery {
  /** Only this tenant's runs; every tenant's without (the CLI's user on its own store). */
  tenantId?: string;
  status?: RunStatus[];
  workflow?: string;
  /** Only the runs this principal started (`RunRecord.createdBy`). */
  createdBy?: string;
  createdAfter?: number;
  createdBefore?: number;
  /** Only runs whose metadata has every one of these labels (key and value). */
  labels?: ReadonlyArray<readonly [key: string, value: string]>;
  /** Only runs whose id contains this text (compared in lower case, `%` and `_` taken literally). */
  search?: string;
  /** Only these runs (the run stream's look-up of the runs that changed). */
  ids?: readonly string[];
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** A run as a listing shows it: with its LLM cost from the usage ledger, summed in the listing's query. */
export interface ListedRun extends RunRecord {
  costUsd: number;
}

export interface RunPage {
  items: ListedRun[];
  nextCursor: string | null;
}

/**
 * Events across runs (`GET /v1/events`), in time order: `at`, then run id, then seq. A page
 * looks at no more than `scanLimit` events of the window (after `cursor`): a page may hold
 * fewer than `limit` events, even none, with a `nextCursor` to go on from.
 */
export interface EventQuery {
  /** Only the events of this tenant's runs; every tenant's without (the CLI's user on its own store). */
  tenantId?: string;
  /** Only the events of the runs this principal started (`RunRecord.createdBy`). */
  createdBy?: string;
  workflow?: string;
  /** Only these types (any of them). */
  types?: readonly EventType[];
  runId?: string;
  stepId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  limit: number;
  /** How many events of the window one page looks at, at most. */
  scanLimit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** An event with the workflow of its run. */
export interface WorkflowEvent extends EventRecord {
  workflow: string;
}

export interface EventQueryPage {
  items: WorkflowEvent[];
  nextCursor: string | null;
}

export type RunPatch = Partial<Pick<RunRecord, 'status' | 'output' | 'error' | 'startedAt' | 'finishedAt' | 'deadlineAt' | 'priority' | 'traceContext'>>;

export type StepPatch = Partial<
  Pick<
    StepRecord,
    'status' | 'attempt' | 'availableAt' | 'leaseOwner' | 'leaseExpiresAt' | 'input' | 'output' | 'error' | 'state' | 'meta' | 'startedAt' | 'finishedAt'
  >
>;

/** Conditions an update must meet to apply (compare-and-set); all given fields must match. */
export interface StepGuard {
  status?: readonly StepRecord['status'][];
  attempt?: number;
  leaseOwner?: string;
}

export type AttemptPatch = Partial<Pick<AttemptRecord, 'status' | 'output' | 'error' | 'finishedAt'>>;

export type NewRun = Omit<RunRecord, 'eventSeq' | 'updatedAt' | 'traceContext' | 'metadata' | 'overrides' | 'adhoc'> &
  Partial<Pick<RunRecord, 'metadata' | 'overrides' | 'adhoc'>> & { traceContext?: string | null };
/** A step as created with its run; a re-run creates the steps it reuses already `succeeded`. */
export type NewStep = Pick<StepRecord, 'runId' | 'stepId' | 'kind' | 'status'> & Partial<Pick<StepRecord, 'output' | 'meta' | 'startedAt' | 'finishedAt'>>;

export type TaskPatch = Partial<
  Pick<TaskRecord, 'status' | 'role' | 'assignees' | 'dueAt' | 'escalations' | 'decision' | 'response' | 'comment' | 'decidedBy' | 'decidedAt'>
>;

/** One item of a `for_each` step as its map step sees it. */
export interface ItemResult {
  index: number;
  status: StepStatus;
  output: unknown;
  error: ErrorInfo | null;
}

export interface TaskListQuery {
  tenantId?: string;
  status?: TaskStatus[];
  role?: string;
  workflow?: string;
  runId?: string;
  kind?: TaskKind;
  limit: number;
  cursor?: string;
}

export interface TaskPage {
  items: TaskRecord[];
  nextCursor: string | null;
}

/** Why a task's resume lock was not taken. */
export type TaskLockResult = 'acquired' | 'locked' | 'decided' | 'missing';

export interface DueStep {
  runId: string;
  stepId: string;
  priority: number;
}

export interface ExpiredLease extends AttemptKey {
  leaseOwner: string;
}

/**
 * A request made under an `Idempotency-Key` (a run start, a task decision). Keys are scoped per
 * tenant and principal: two callers of one tenant may use the same key for different requests.
 */
export interface IdempotencyRecord {
  tenantId: string;
  /** Who made the request: a run's `createdBy` (`''` for none), a task's decider. */
  principal: string;
  key: string;
  /** Hash of the request (workflow, input, options) the key was first used with. */
  requestHash: string;
  runId: string;
  createdAt: number;
}

export interface IdempotencyClaim {
  key: string;
  requestHash: string;
}

export interface UsageQuery {
  tenantId?: string;
  runId?: string;
  workflow?: string;
  /** UTC days, `YYYY-MM-DD`, inclusive. */
  fromDay?: string;
  toDay?: string;
}

/** `GET /v1/usage/calls`: one page of the ledger's call records, newest first. */
export interface CallListQuery {
  tenantId?: string;
  runId?: string;
  workflow?: string;
  group?: string;
  outcome?: CallOutcome;
  /** Epoch ms: records at or after. */
  after?: number;
  /** Epoch ms: records before. */
  before?: number;
  limit: number;
  cursor?: string;
}

export interface CallPage {
  items: CallRecord[];
  nextCursor: string | null;
}

export interface UsageRow {
  tenantId: string;
  workflow: string | null;
  group: string;
  model: string;
  day: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, read from the provider's prompt cache. */
  cachedTokens: number;
  /** Of `outputTokens`, spent reasoning. */
  reasoningTokens: number;
  costUsd: number;
}

/** A step as a run's answer shows it (`RunView`): no input, executor state or lease. */
export type StepView = Pick<
  StepRecord,
  'runId' | 'stepId' | 'kind' | 'status' | 'attempt' | 'availableAt' | 'output' | 'error' | 'meta' | 'startedAt' | 'finishedAt' | 'updatedAt'
>;

/** A run with what `GET /v1/runs/{id}` shows of it, read in one statement (`Store.runView`). */
export interface RunView {
  run: RunRecord;
  /** Top-level steps (no map items), by step id. */
  steps: StepView[];
  /** The run's LLM usage: call attempts, tokens and cost over every ledger record of the run. */
  usage: Pick<UsageRow, 'calls' | 'inputTokens' | 'outputTokens' | 'costUsd'>;
  /** Some run names this one its parent (`Store.childRuns` lists them). */
  hasChildren: boolean;
  /** The run has artifacts (`Store.artifacts.list` lists them). */
  hasArtifacts: boolean;
}

/** Steps due now and not claimed (queued or waiting, `available_at` reached): how many, and the oldest due time. */
export interface QueueStats {
  depth: number;
  /** `available_at` of the longest-due step; null when none is due. */
  oldestDueAt: number | null;
}

/** Every run and step by status, across every tenant (statuses with none are absent). */
export interface StatusCounts {
  runs: Record<string, number>;
  steps: Record<string, number>;
}

/** A human task whose deadline passed while it is still open: the step the sweep resumes. */
export interface DueTask {
  taskId: string;
  runId: string;
  stepId: string;
}

/** Runs that have not ended, by status, across every tenant. */
export type ActiveRunCounts = Record<'queued' | 'running' | 'waiting', number>;

/** Human tasks still open, across every tenant: how many, and when the oldest was created. */
export interface OpenTaskStats {
  open: number;
  oldestCreatedAt: number | null;
}

/**
 * How a write transaction ended: `committed`; `rolled_back` by its caller (an error of the
 * transition, or a constraint the schema enforces); `failed` in the database (an error that
 * outlasted the retries, a commit cut off).
 */
export type TransactionOutcome = 'committed' | 'rolled_back' | 'failed';

/** Told about every write transaction of a store (the process's metrics implement it). Must not throw. */
export interface StoreObserver {
  /** A transaction ended; `seconds` is its whole time, retries included. */
  transactionEnded(outcome: TransactionOutcome, seconds: number): void;
  /** A transaction is tried again after a transient database error. */
  transactionRetried(): void;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  roles: string[];
  concurrency: number;
  startedAt: number;
  heartbeatAt: number;
}

/** A worker's row as listed: with the drain an operator asked of it (null: none). */
export interface WorkerRecord extends WorkerInfo {
  drainRequestedAt: number | null;
}

/**
 * The fleet's maintenance mode while it is on: no worker claims a step, or (`quiesce`) the API
 * refuses new runs while workers finish the ones already accepted.
 */
export interface MaintenanceRecord {
  reason: string | null;
  quiesce: boolean;
  startedAt: number;
  startedBy: string;
}

/** A tool server (`tool` null) or one tool of it, disabled fleet-wide by an operator. */
export interface ToolSwitchRecord {
  server: string;
  tool: string | null;
  reason: string;
  disabledAt: number;
  disabledBy: string;
}

/** An environment's policy set over the API (`PUT /v1/policies/{env}`): replaces the one of agentry.yaml. */
export interface PolicyOverrideRecord {
  environment: string;
  /** The policy object as given (JSON). */
  policy: Record<string, unknown>;
  updatedAt: number;
  updatedBy: string;
}

/** A plugin an operator disabled for the whole fleet (`agentry plugins disable`). */
export interface PluginSwitchRecord {
  plugin: string;
  reason: string;
  disabledAt: number;
  disabledBy: string;
}

/** An audit entry to append: the store numbers it, and chains and hashes it. */
export type NewAuditEntry = Omit<AuditRecord, 'seq' | 'id' | 'at' | 'runId' | 'prevHash' | 'hash'> & { at?: number };

/** Which entries: every filter given must match. */
export interface AuditFilter {
  tenantId?: string;
  /** With `tenantId`: also the installation's own entries (no tenant). */
  withInstallation?: boolean;
  principal?: string;
  action?: string;
  target?: string;
  /** Entries about this run (`AuditRecord.runId`). */
  runId?: string;
  /** Epoch ms, inclusive. */
  after?: number;
  /** Epoch ms, exclusive. */
  before?: number;
}

export interface AuditListQuery extends AuditFilter {
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}

/**
 * The chain's head (the last entry's seq and hash, kept on the one row appends lock) and its
 * anchor: the seq and hash of the last entry pruned by retention (0 and the genesis hash when
 * none was), which the first kept entry must chain to.
 */
export interface AuditHead {
  seq: number;
  hash: string;
  prunedSeq: number;
  prunedHash: string;
}

export interface ApiKeyListQuery {
  tenantId?: string;
  name?: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface ApiKeyPage {
  items: ApiKeyRecord[];
  nextCursor: string | null;
}

/** A tenant's run quotas, checked by `createRun` under the tenant's lock (null: no limit). */
export interface RunQuota {
  /** Runs of the tenant not yet ended (queued, running, waiting). */
  maxConcurrentRuns: number | null;
  /** Runs of the tenant created in the hour before the new one. */
  maxRunsPerHour: number | null;
}

/** One lane of the gateway's upstream limits and what a call takes of it (`gateway/throttle.ts`). */
export interface LaneHold {
  /** `provider:<name>:requests`, `target:<provider>/<model>:tokens`, … */
  key: string;
  /** Units that may go at once (a burst of requests, a minute's worth of tokens). */
  capacity: number;
  /** Units per millisecond. */
  perMs: number;
  /** What the call takes: 1 request, or its estimated tokens. */
  units: number;
}

/** A call's slot on all of its lanes at the same time (`takeUpstreamSlot`). */
export interface LaneTake {
  lanes: readonly LaneHold[];
  now: number;
  /** The latest start the caller accepts. */
  deadline: number;
}

/** The slot's start, or when it would have come when that is past the deadline (nothing taken). */
export type LaneTakeResult = { start: number } | { refusedUntil: number };

/** Units given back to a lane (negative) or taken beyond an estimate (positive). */
export type LaneMove = Pick<LaneHold, 'key' | 'perMs' | 'units'>;

/** One take from a token bucket (`takeRateToken`). */
export interface RateTake {
  /** The bucket's key (`<tenant>` or `<tenant>:<key name>` with a prefix; see `app/limits.ts`). */
  bucket: string;
  /** Tokens a full bucket holds (its burst). */
  capacity: number;
  /** Tokens added per millisecond. */
  perMs: number;
}

export interface RateTakeResult {
  /** A token was taken: the request may proceed. */
  allowed: boolean;
  /** Tokens left after the take (fractional). */
  tokens: number;
  /** When the bucket is full again (ms since epoch). */
  fullAt: number;
}

/** A tenant's runs now: not yet ended, and created in the last hour. */
export interface TenantRunUsage {
  tenantId: string;
  activeRuns: number;
  runsLastHour: number;
}

/** Which ended runs retention deletes (`sql/retention.ts`). */
export interface RunPruneQuery {
  /** Per ended status: runs of that status that ended before this time (ms). A status absent is kept. */
  before: Partial<Record<'succeeded' | 'failed' | 'cancelled' | 'timed_out', number>>;
  /** Only runs of this workflow. */
  workflow?: string;
  /** Not runs of these workflows (they have their own `retention:`). */
  excludeWorkflows?: readonly string[];
  /** At most this many runs per batch (one transaction). */
  limit: number;
}

/** Which events retention deletes: those before `before` of ended runs. */
export interface EventPruneQuery {
  before: number;
  workflow?: string;
  excludeWorkflows?: readonly string[];
  limit: number;
}

/** One message of an agent's conversation memory, as the model saw it. */
export interface MemoryMessage {
  role: 'user' | 'assistant';
  content: unknown;
}

/** A thread of an agent's conversation memory: how many messages it keeps, and when it was last written. */
export interface MemoryThread {
  tenantId: string;
  agent: string;
  thread: string;
  messages: number;
  updatedAt: number;
}

/** Threads by name (then agent), a keyset page at a time. */
export interface MemoryThreadQuery {
  /** Default: every tenant (the CLI's user on its own store). */
  tenantId?: string;
  /** Default: every agent's threads. */
  agent?: string;
  /** Only threads whose name starts with this. */
  prefix?: string;
  limit: number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
}

/** One stored message of a thread, with where it is kept. */
export interface MemoryMessageRecord extends MemoryMessage {
  tenantId: string;
  agent: string;
  seq: number;
  createdAt: number;
}

/** A thread's messages (of every agent that writes it, or of one), by tenant, agent and order. */
export interface MemoryMessageQuery {
  tenantId?: string;
  agent?: string;
  thread: string;
  limit: number;
  cursor?: string;
}

export interface MemoryMessagePage {
  items: MemoryMessageRecord[];
  nextCursor: string | null;
}

export interface MemoryThreadPage {
  items: MemoryThread[];
  nextCursor: string | null;
}

/** A file a step of a run wrote (`run_artifacts`); its bytes are kept by the `ArtifactStore`. */
export interface ArtifactRecord {
  runId: string;
  /** Normalised relative path (`out/report.md`). */
  name: string;
  tenantId: string;
  /** The step that wrote it. */
  stepId: string;
  size: number;
  /** Hex sha256 of the bytes. */
  sha256: string;
  contentType: string;
  createdAt: number;
}

/** An artifact to store: its record, and the run's limit its write is checked against. */
export interface NewArtifact extends ArtifactRecord {
  /** The run's artifacts may not pass this many bytes together. */
  maxRunBytes: number;
}
