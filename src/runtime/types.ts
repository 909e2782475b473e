import type { Logger } from 'pino';
import type { EgressMode, EgressRuleSet } from '../lib/egress.js';
import type { StepKind } from '../spec/model.js';
import type { JournalEntry, StepMeta } from '../types.js';
import type { ArtifactLimits, StepArtifacts } from './artifacts.js';

/** What an executor gets for one attempt of one step. */
export interface StepContext {
  runId: string;
  stepId: string;
  attempt: number;
  workflow: string;
  /** Aborted when the run is cancelled or times out, the step times out, or the lease is lost. */
  signal: AbortSignal;
  /** When the step's timeout ends this attempt (epoch ms); undefined without a timeout. */
  deadline?: number;
  /** State saved by an earlier `suspend` of this step (undefined on first execution). */
  state: unknown;
  /** Project-level settings that executors honour (network policy, limits). */
  settings: ExecutorSettings;
  logger: Logger;
  /** The step's rendered `input:` (agent and workflow steps). */
  input?: unknown;
  tenantId?: string;
  /** Agent steps: the model group to call instead of the agent's `model:` (the step's `model:` or the run's override). */
  model?: string;
  /** The run's budget (the workflow's `budget:`). */
  budget?: { maxTokens?: number; maxCostUsd?: number };
  /** The workflow's `egress:` rules, which narrow the project's (`settings.egress`). */
  egress?: EgressRuleSet | undefined;
  /** Durable record of this step's completed sub-operations (model calls, tool calls), kept across attempts. */
  journal?: StepJournal;
  /**
   * Appends an event to the run's history now, for this attempt (while it holds its lease; an
   * attempt that lost it records nothing). What it carries is stored and shown as given: never
   * a secret, a prompt or an answer.
   */
  recordEvent?: (type: StepEventType, data: Record<string, unknown>) => Promise<void>;
  /** The run's artifact store, limited to the names the workflow's `artifacts:` declares (absent: no store given). */
  artifacts?: StepArtifacts;
  /** Agent steps: offer the built-in `artifacts__write` tool (the step's `write_artifacts: true`). */
  artifactTool?: boolean;
}

/** The events an executor appends while its step runs (`StepContext.recordEvent`). */
export type StepEventType = 'step.guardrail';

/**
 * A step's journal: what it already did, so an attempt resumed after a crash replays it
 * instead of doing it again (no paid model call is made twice).
 */
export interface StepJournal {
  load(): Promise<JournalEntry[]>;
  /** Records an entry; a key recorded before keeps its first value. */
  append(entry: JournalEntry): Promise<void>;
}

export interface ExecutorSettings {
  http: {
    /** Allow requests to link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10 …): the egress policy's escape hatch. */
    allowLinkLocal: boolean;
    defaultTimeoutMs: number;
    maxResponseBytes: number;
  };
  /** Where `http` steps may connect: the mode decides loopback and private addresses, `rules` are the project's `egress:`. */
  egress: { mode: EgressMode; rules: EgressRuleSet | undefined };
  /** Size limits of the files steps write to their run's artifacts (default `ARTIFACT_LIMIT_DEFAULTS`). */
  artifacts?: ArtifactLimits;
}

/**
 * A task an executor asks a person to decide (an agent's tool call that needs approval, an
 * output below its confidence threshold). The engine creates it in the transaction that
 * records the result.
 */
export interface TaskRequest {
  kind: 'tool_approval' | 'review';
  /**
   * Names the question within the step (e.g. `tool:3:call_ab12`). The decision is handed back
   * to the executor in `state.decisions[key]` when the step runs again.
   */
  key: string;
  title: string;
  instructions?: string;
  /** What the reviewer sees: the tool and its arguments, the output and its confidence, … */
  context: unknown;
  /** Role that may decide (default: anyone with `tasks:write`). */
  role?: string;
}

/** A person's decision on a task, as an executor reads it from `state.decisions[key]`. */
export interface TaskDecisionRecord {
  decision: 'approve' | 'reject' | 'submit';
  data?: unknown;
  comment?: string;
  by: string;
}

export type StepResult =
  | {
      kind: 'output';
      output: unknown;
      meta?: StepMeta;
      /**
       * Hold the output for a person's review (a `review` task) instead of succeeding: approve
       * keeps it, submit replaces it with `data.output`, reject fails the step.
       */
      review?: Omit<TaskRequest, 'kind' | 'key'>;
    }
  /**
   * Park the step without holding a worker until `until` (epoch ms; null: until a task is
   * decided), then execute again with `state`. With `task`, a task is created; its decision
   * makes the step due at once, with the decision in `state.decisions[task.key]`.
   */
  | { kind: 'suspend'; until: number | null; state: unknown; task?: TaskRequest };

export interface StepExecutor {
  readonly kind: StepKind;
  /**
   * Runs one attempt. `config` is the step's kind block with templates rendered.
   * Throw an AgentryError (with `retryable`) to fail the attempt.
   */
  execute(config: unknown, ctx: StepContext): Promise<StepResult>;
}
