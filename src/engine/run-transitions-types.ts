/**
 * What `RunTransitions` is built from and answers with: its options, a run's start and its
 * outcome, a worker's claim of a step and the result it records.
 */
import type { AgentryError } from '../lib/errors.js';
import type { EgressRuleSet } from '../lib/egress.js';
import type { Redactor } from '../lib/redact.js';
import type { StepResult } from '../runtime/types.js';
import type { CompiledWorkflow, StepKind } from '../spec/model.js';
import type { RunQuota, Store } from '../store/store.js';
import type { AttemptKey, RunOverrides, RunRecord, RunStatus, StepRecord } from '../types.js';
import type { CommittedEvent } from './context.js';

export interface RunTransitionsOptions {
  store: Store;
  env: NodeJS.ProcessEnv;
  availableKinds: ReadonlySet<StepKind>;
  now: () => number;
  /** Work became due now. */
  onWake: () => void;
  /** A run reached a terminal status. */
  onFinished: (runId: string, status: RunStatus) => void;
  /** The running attempt of one step must stop (an item of a map that failed). */
  onAbortStep: (runId: string, stepId: string) => void;
  /** The project's workflows (what `workflow:` steps start). */
  workflows: ReadonlyMap<string, CompiledWorkflow>;
  /** The tenant of runs started without one (the deployment's). */
  tenant: string;
  /** A transaction committed: the events it appended (to every run it changed), in order, each once. */
  onCommitted?: (events: CommittedEvent[]) => void;
  /**
   * Masks what transitions write (the process's redactor); the secret env values of every
   * workflow it sees are added to it. Default: a redactor of those values alone.
   */
  redactor?: Redactor;
  /** The run quotas of a tenant, checked atomically when a run is started (not for child runs). */
  quotaOf?: (tenantId: string) => RunQuota | undefined;
  /** A start was refused `quota_exceeded` (for the metric). */
  onQuotaExceeded?: (refusal: QuotaRefusal) => void;
}

/** A run start refused for a tenant's quota. */
export interface QuotaRefusal {
  tenantId: string;
  quota: string;
}

export interface StartRunOptions {
  tenantId?: string;
  priority?: number;
  /** Starting again with the same key returns the first run instead of a new one. */
  idempotencyKey?: string;
  /** The run this one re-runs: recorded as `retry_of`. */
  retryOf?: string;
  /** Who starts it (`RunRecord.createdBy`): the API key's name, the CLI's user, `schedule:<workflow>`. */
  createdBy?: string;
  /**
   * Steps to take over from an earlier run instead of running them again (a re-run): each is
   * created `succeeded` (or `skipped`) with the earlier output, and a `step.reused` event.
   */
  reuse?: ReadonlyMap<string, StepRecord>;
  /** Start a trace of its own (a schedule's tick) instead of continuing the active span's (a request's). */
  newTrace?: boolean;
  /** Labels of the run (`RunRecord.metadata`). */
  metadata?: Record<string, string> | null;
  /** The overrides applied to the workflow given (`RunRecord.overrides`), recorded with the run. */
  overrides?: RunOverrides | null;
  /** The workflow was compiled from a spec given inline at start (`RunRecord.adhoc`). */
  adhoc?: boolean;
  /** The run's own deadline, instead of the workflow's `deadline:`: in this long, or at this time (epoch ms). */
  deadline?: { inMs: number } | { at: number };
}

export interface StartedRun {
  run: RunRecord;
  /** True when the idempotency key had been used before and `run` is that first run. */
  replayed: boolean;
}

/** What one attempt produced, to be recorded: its result, or the error it failed with. */
export interface AttemptResult {
  key: AttemptKey;
  workerId: string;
  result?: StepResult;
  error?: AgentryError;
}

export interface Claim {
  key: AttemptKey;
  kind: StepKind;
  workflow: string;
  tenantId: string;
  config: unknown;
  /** The step's rendered `input:` (agent and workflow steps). */
  input: unknown;
  state: unknown;
  timeoutMs: number | undefined;
  /** Agent steps: the model group of the step's `model:` (or its override), instead of the agent's. */
  model: string | undefined;
  /** The workflow's `budget:`. */
  budget: { maxTokens?: number; maxCostUsd?: number } | undefined;
  /** The workflow's `egress:` rules. */
  egress: EgressRuleSet | undefined;
  /** Agent steps: the step's `write_artifacts: true` (the agent gets the `artifacts__write` tool). */
  writeArtifacts: boolean;
  /** The workflow's `artifacts:` patterns (empty: it declares none). */
  artifacts: readonly string[];
  /** The run's trace context: the attempt's span is a child of the run's. */
  traceContext: string | null;
}
