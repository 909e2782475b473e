/**
 * Core records of Agentry's durable engine.
 *
 * Terminology:
 * - workflow: a named DAG of steps, declared in `workflows/*.yaml`.
 * - run: one execution of a workflow with an input. Runs are durable: every change of
 *   state is one store transaction that also appends an event.
 * - step: one node of a run's DAG (a row per run and step id). A step is executed by the
 *   executor of its kind (`transform`, `http`, `sleep`, …).
 * - attempt: one try at executing a step. Attempts are numbered from 1 and kept forever;
 *   a step succeeds at most once, whatever the number of attempts.
 * - lease: a worker's claim on a running step, renewed by heartbeats. A step whose lease
 *   lapses (the worker died or hung) is queued again or failed with `lease_expired`; a
 *   worker that shuts down releases its leases (the attempt ends `released`, the step is
 *   queued again at once).
 * - timer: a step waiting until `available_at` (a retry back-off or a sleep); it lives in
 *   the store, so a restart keeps it.
 * - event: an append-only, per-run numbered record of what happened (the run's history,
 *   its SSE stream and its audit trail).
 */
import type { ErrorInfo } from './lib/errors.js';

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/**
 * pending: dependencies not done yet; queued: ready, claimable once `available_at` is
 * reached; running: leased by a worker; waiting: suspended until `available_at` (sleep).
 */
export const STEP_STATUSES = ['pending', 'queued', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled', 'expired'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const TERMINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled', 'expired']);
/** Statuses that let a dependant go ahead. */
export const DONE_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['succeeded', 'skipped']);

/** `released`: the worker shut down mid-attempt and handed the step back; not a failure of the step. */
export const ATTEMPT_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'lease_expired', 'released', 'suspended'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

export interface RunRecord {
  id: string;
  tenantId: string;
  workflow: string;
  /** Hash of the workflow spec the run was started with (the spec itself is in `spec`). */
  specHash: string;
  spec: unknown;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: ErrorInfo | null;
  priority: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadlineAt: number | null;
  /** The run and step that started this run (a `workflow:` step), if any. */
  parentRunId: string | null;
  parentStepId: string | null;
  /** The run this one re-runs (`retry`), if any. */
  retryOf: string | null;
  /**
   * Who started the run: the API key's name (or the CLI's user) that started or retried it,
   * `schedule:<workflow>` for a scheduled run; a child run has its parent's. Keys without
   * `runs:read:all` / `runs:write:all` act only on runs they started. Null for runs stored
   * before owners were recorded.
   */
  createdBy: string | null;
  /** `<workflow>:<key value>` of the workflow's `concurrency:`, if it has one. */
  concurrencyKey: string | null;
  /**
   * The W3C trace context of the run's `agentry.run` span (JSON: `traceparent`, the parent span
   * id, `tracestate`), chosen when the run is created, so every process that works on the run
   * continues its trace (`obs/run-trace.ts`). Null when it was created while tracing was off.
   */
  traceContext: string | null;
  /** Labels given at start (string → string; `GET /v1/runs?label=k:v`), or null. */
  metadata: Record<string, string> | null;
  /**
   * Overrides of the workflow's overridable settings given at start (`RunOverrides`), or null;
   * `spec` already has them applied.
   */
  overrides: RunOverrides | null;
  /** The run's spec was given inline at start (an ad-hoc run), not taken from the project. */
  adhoc: boolean;
  updatedAt: number;
  eventSeq: number;
}

/** The settings a run may override, per step, where the workflow marks them `overridable:`. */
export interface RunOverrides {
  steps: Record<string, StepOverrides>;
}

export interface StepOverrides {
  /** Duration text (`30s`), as the spec's `timeout:`. */
  timeout?: string;
  /** As the spec's `retry:` block. */
  retry?: Record<string, unknown>;
  /** Model group of an agent step (gateway.yaml). */
  model?: string;
}

/** Side results an agent or step can attach to its output (stripped from the output). */
export interface StepMeta {
  rationale?: string;
  flags?: string[];
  confidence?: number;
}

export interface StepRecord {
  runId: string;
  stepId: string;
  kind: string;
  status: StepStatus;
  /** Number of the latest attempt (0 before the first). */
  attempt: number;
  availableAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  input: unknown;
  output: unknown;
  error: ErrorInfo | null;
  /** Executor state kept across suspensions (e.g. a sleep's wake-up time). */
  state: unknown;
  meta: StepMeta | null;
  /** Items of a `for_each` step: the map step's id, the item's index and value. */
  parentStep: string | null;
  itemIndex: number | null;
  item: unknown;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

/** Id of item `index` of map step `parent`. */
export function itemStepId(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** The map step and index of an item's id (`each[3]` → `each`, 3); undefined for any other id. */
export function splitItemStepId(stepId: string): { parent: string; index: number } | undefined {
  const match = /^(.+)\[(\d{1,9})\]$/.exec(stepId);
  return match ? { parent: match[1]!, index: Number(match[2]) } : undefined;
}

/** True for the id of a map item (`each[3]`); step ids of a spec cannot contain brackets. */
export function isItemStepId(stepId: string): boolean {
  return stepId.endsWith(']');
}

export interface AttemptRecord {
  runId: string;
  stepId: string;
  attempt: number;
  status: AttemptStatus;
  workerId: string | null;
  input: unknown;
  output: unknown;
  error: ErrorInfo | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface EventRecord {
  runId: string;
  seq: number;
  type: EventType;
  stepId: string | null;
  data: Record<string, unknown>;
  at: number;
}

export const EVENT_TYPES = [
  'run.created',
  'run.started',
  'run.waiting',
  'run.resumed',
  'run.succeeded',
  'run.failed',
  'run.cancelled',
  'run.timed_out',
  'step.queued',
  'step.started',
  'step.succeeded',
  'step.failed',
  'step.retry_scheduled',
  'step.waiting',
  'step.skipped',
  'step.cancelled',
  'step.lease_expired',
  'step.released',
  'step.reused',
  'step.guardrail',
  'map.started',
  'task.created',
  'task.completed',
  'task.escalated',
  'task.expired',
  'task.cancelled',
  'signal.received',
  'child.started',
  'child.finished',
  'run.blocked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The event types that end a run's history: no event follows one of them. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);

/** Identifies one attempt of one step; what a lease is held on. */
export interface AttemptKey {
  runId: string;
  stepId: string;
  attempt: number;
}

export const TASK_STATUSES = ['open', 'completed', 'expired', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/**
 * What a task asks: `human` (a human step), `tool_approval` (an agent's tool call that needs
 * approval), `review` (an agent output below its confidence threshold).
 */
export const TASK_KINDS = ['human', 'tool_approval', 'review'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const TASK_DECISIONS = ['approve', 'reject', 'submit'] as const;
export type TaskDecision = (typeof TASK_DECISIONS)[number];

/** A decision waiting for a person: created by a step, completed through the API or CLI. */
export interface TaskRecord {
  id: string;
  tenantId: string;
  runId: string;
  stepId: string;
  workflow: string;
  kind: TaskKind;
  status: TaskStatus;
  title: string;
  instructions: string | null;
  /** JSON Schema a `submit` decision's data must match. */
  formSchema: Record<string, unknown> | null;
  /** Who may act: holders of `role`, or the keys named in `assignees`. */
  role: string | null;
  assignees: string[] | null;
  /** What the reviewer needs to see (tool name and arguments, an agent's output, …). */
  context: unknown;
  dueAt: number | null;
  escalations: number;
  decision: TaskDecision | 'timed_out' | null;
  response: unknown;
  comment: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface SignalRecord {
  runId: string;
  name: string;
  payload: unknown;
  receivedAt: number;
}

/** A workflow's `schedule:` as the scheduler keeps it. */
export interface ScheduleRecord {
  workflow: string;
  tenantId: string;
  cron: string;
  timezone: string;
  input: unknown;
  overlap: 'skip' | 'allow';
  catchUp: 'none' | 'one';
  paused: boolean;
  /** The next tick (ms since epoch); null when the expression has no future tick. */
  nextAt: number | null;
  lastTickAt: number | null;
  lastRunId: string | null;
  updatedAt: number;
}

/** One completed sub-operation of a step's journal (what a resumed attempt replays instead of doing again),
 * e.g. `model:3` or `tool:3:call_ab12`. */
export interface JournalEntry {
  key: string;
  data: unknown;
}

/** A journal entry as the store keeps it: with when it was recorded (epoch milliseconds). */
export interface StoredJournalEntry extends JournalEntry {
  at: number;
}

export const CALL_OUTCOMES = ['ok', 'error', 'budget_exceeded', 'cancelled'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** One attempt of one call, as kept by the usage ledger. */
export interface CallRecord {
  id: string;
  tenantId: string;
  runId: string | null;
  stepId: string | null;
  workflow: string | null;
  group: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, those the provider served from its prompt cache (0 when it reports none). */
  cachedTokens?: number;
  /** Of `outputTokens`, those spent reasoning (0 when the provider reports none). */
  reasoningTokens?: number;
  costUsd: number;
  latencyMs: number;
  outcome: CallOutcome;
  errorCode?: string;
  /** Answered from the gateway's response cache (no upstream call; cost 0). */
  cacheHit?: boolean;
  /** Epoch milliseconds when the attempt started. */
  at: number;
}

/** A budget period: one UTC day (`YYYY-MM-DD`) or one UTC calendar month (`YYYY-MM`). */
export type SpendPeriod = { day: string; month?: never } | { month: string; day?: never };

/** What the usage ledger sums: one run, or a workflow's or tenant's UTC day or month. */
export type SpendQuery =
  | { scope: 'run'; runId: string }
  | ({ scope: 'workflow'; tenantId: string; workflow: string } & SpendPeriod)
  | ({ scope: 'tenant'; tenantId: string } & SpendPeriod);

export interface Spend {
  tokens: number;
  costUsd: number;
}

/**
 * A budget reservation: the worst case of one call attempt held against every budget scope
 * that applies to it, from the check until the attempt is recorded (which replaces it with
 * what the attempt really used) or until `expiresAt`, after which it no longer counts (the
 * process that made it died or lost track of it).
 */
export interface BudgetReservation {
  /** The attempt's id, which is also the id of its call record. */
  id: string;
  scopes: SpendQuery[];
  amount: Spend;
  /** Epoch ms of the check (the attempt's start). */
  at: number;
  expiresAt: number;
}

/**
 * Call records written together in one transaction (the gateway's batched ledger writer). A
 * record with `lease` was admitted against a budget lease (a reservation held by the process for
 * many calls): recording it takes what it used off the lease, where a record without one settles
 * its own reservation (same id). `release` lists leases to drop once the records are in.
 */
export interface LedgerBatch {
  /** `unreserved`: the call held no reservation (no budget applied to it), there is nothing to settle. */
  records: Array<{ record: CallRecord; lease?: string; unreserved?: true }>;
  release: string[];
}

/**
 * What a check-and-reserve saw, per scope in the order asked: what the ledger holds for it
 * (`spent`) and what live reservations of other attempts hold (`reserved`).
 */
export interface BudgetState {
  spent: Spend;
  reserved: Spend;
}

/** How an audited action ended: done, refused (no such thing, not allowed, invalid), or failed. */
export const AUDIT_OUTCOMES = ['success', 'denied', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * One entry of the audit log: who did what to what, when, from where, and how it ended.
 * Entries form one hash chain: `hash` is SHA-256 over the entry's fields and `prevHash`, the
 * hash of the entry before it (`store/audit-chain.ts`), so an edited, deleted or reordered
 * entry breaks the chain at that entry.
 */
export interface AuditRecord {
  /** Position in the chain, from 1, without gaps (pruning removes a prefix). */
  seq: number;
  id: string;
  /** Epoch milliseconds. */
  at: number;
  /** The tenant acted in; null for actions on the whole installation (migrations, schedules of every tenant). */
  tenantId: string | null;
  /** The key's name, the CLI's user, or `system`. */
  principal: string;
  /** `<resource>.<verb>`: `run.start`, `run.cancel`, `task.decide`, `schedule.pause`, … */
  action: string;
  /** What was acted on: `run:<id>`, `task:<id>`, `schedule:<workflow>`, …; null when nothing in particular. */
  target: string | null;
  requestId: string | null;
  outcome: AuditOutcome;
  clientIp: string | null;
  /** A few more facts (the error code of a failure, a task's decision); never secrets. */
  details: Record<string, unknown> | null;
  /**
   * The run the entry is about, for `?run_id=`: the target's id when it is `run:<id>`, else
   * `details.run_id` (a run start, a task decision). Derived from those two (`auditRunId`), so it
   * is not hashed itself; verification checks it still matches them.
   */
  runId: string | null;
  prevHash: string;
  hash: string;
}

/**
 * A managed API key (`app/keys.ts`): stored with the SHA-256 of its secret, never the secret.
 * After a rotate, the old key has `replacedBy` and works until `graceUntil`; the new one has
 * `rotatedFrom`. Times are epoch milliseconds.
 */
export interface ApiKeyRecord {
  /** `key_<26 chars>`; the secret is `agk_<the same 26 chars>_<43 base64url chars>`. */
  id: string;
  tenantId: string;
  /** The principal the key signs in as (unique among a tenant's current keys). */
  name: string;
  /** Roles, raw scopes and task roles (`role:<name>`), as for `AGENTRY_API_KEYS`. */
  grants: string[];
  /** SHA-256 (hex) of the whole secret. */
  secretHash: string;
  /** `agk_<26 chars>`: the secret's public part, for display. */
  prefix: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
  /** Updated at most once a minute per key and process. */
  lastUsedAt: number | null;
  rotatedFrom: string | null;
  replacedBy: string | null;
  graceUntil: number | null;
  updatedAt: number;
}
