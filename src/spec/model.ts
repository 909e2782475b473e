/**
 * What the engine needs from a loaded workflow: the compiled model. The spec loader
 * (YAML → schema check → compile) produces it; the engine never reads YAML.
 */

import type { EgressRuleSet } from '../lib/egress.js';
import type { JsonSchema, OverridableSetting, StepKind, StepSpec } from './schemas.js';

export { STEP_KINDS, type JsonSchema, type StepKind } from './schemas.js';

/**
 * Kinds the engine carries out itself, inside its transactions, instead of handing them to an
 * executor: they create a task, wait for a signal or start a child run.
 */
export const CONTROL_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['human', 'wait', 'workflow']);

export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: number;
  backoff: 'exponential' | 'fixed';
  initialMs: number;
  maxMs: number;
  /** Draw the delay uniformly from [d/2, d] (see lib/backoff.ts). */
  jitter: boolean;
}

/**
 * Each kind's block as written (the value under `http:`, `human:`, …), typed by the schema
 * that validated it (schemas.ts): `agent` and `workflow` name what they run; `transform` is
 * any value.
 */
export type StepConfigs = { [K in StepKind]-?: Exclude<StepSpec[K], undefined> };

/** What every compiled step has, whatever its kind. */
export interface CompiledStepBase {
  id: string;
  /** Step-level `input:` (agent, workflow and human steps), templates unrendered. */
  input: unknown;
  /** Explicit `needs:` plus steps referenced from templates and `when:`, sorted. */
  needs: string[];
  /** CEL condition; the step is skipped when it evaluates to false. */
  when: string | undefined;
  retry: RetryPolicy;
  timeoutMs: number | undefined;
  outputSchema: JsonSchema | undefined;
  /** `for_each:`: the step runs once per item of the list `from` gives. */
  forEach: ForEachPolicy | undefined;
  /** Agent steps: the model group to call instead of the agent's (`model:`). */
  model: string | undefined;
  /** Settings a run may override at start (`overridable:`). */
  overridable: readonly OverridableSetting[];
  /** Agent steps: the agent is offered the built-in `artifacts__write` tool (`write_artifacts: true`). */
  writeArtifacts: boolean;
}

/** A step's kind with its config, typed together. */
export type KindConfig<K extends StepKind = StepKind> = {
  [P in K]: {
    kind: P;
    /**
     * The kind's block as written, with `{{ }}` templates still in it; the engine renders
     * it just before the step runs.
     */
    config: StepConfigs[P];
  };
}[K];

/** A compiled step of kind `K`; `CompiledStep` is the union over kinds, narrowed by `kind`. */
export type CompiledStepOf<K extends StepKind> = CompiledStepBase & KindConfig<K>;
export type CompiledStep = { [K in StepKind]: CompiledStepOf<K> }[StepKind];

export interface ForEachPolicy {
  /** CEL expression giving the list. */
  from: string;
  /** Items running at once. */
  concurrency: number;
  maxItems: number;
  /** Failed items tolerated; one more fails the step. */
  maxFailures: number;
}

export interface CompiledWorkflow {
  name: string;
  description: string | undefined;
  /** Spec file the workflow came from (relative to the project dir), if any. */
  file: string | undefined;
  /** sha256 of the canonical JSON of `spec`. */
  hash: string;
  /** The validated spec object (what a run stores as its snapshot). */
  spec: Record<string, unknown>;
  inputSchema: JsonSchema | undefined;
  /** Names of environment variables the spec declares (the only ones templates may read). */
  env: string[];
  /** Names among `env` that are secrets (never logged or returned). */
  secrets: string[];
  deadlineMs: number | undefined;
  steps: ReadonlyMap<string, CompiledStep>;
  /** Step ids in a topological order (dependencies first; ties in declaration order). */
  order: string[];
  /** `output:` with templates unrendered; undefined means the run output is all step outputs. */
  output: unknown;
  /** `concurrency:`: at most `limit` runs with the same value of `key` (CEL over `input`) run at once. */
  concurrency: { key: string; limit: number } | undefined;
  /** `retention:` parsed (ms; a field absent: the deployment's setting); undefined: none given. */
  retention: WorkflowRetention | undefined;
  /** `egress:` parsed: narrows the project's egress policy for this workflow's http steps. */
  egress: EgressRuleSet | undefined;
  /** `artifacts:`: the names (paths and patterns) its steps may write to a run's artifacts; empty: none. */
  artifacts: readonly string[];
}

/** A workflow's `retention:` block, each window in ms. */
export interface WorkflowRetention {
  succeededMs?: number;
  failedMs?: number;
  cancelledMs?: number;
  eventsMs?: number;
}

/** Values visible to `{{ }}` templates and CEL expressions. */
export interface TemplateScope {
  input: unknown;
  steps: Record<string, { output: unknown; status: string }>;
  run: { id: string; workflow: string; attempt?: number };
  env: Record<string, string>;
  item?: unknown;
  index?: number;
}
