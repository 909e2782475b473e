import type { Logger } from 'pino';
import type { StepKind } from '../spec/model.js';
import type { StepMeta } from '../types.js';

/** What an executor gets for one attempt of one step. */
export interface StepContext {
  runId: string;
  stepId: string;
  attempt: number;
  workflow: string;
  /** Aborted when the run is cancelled or times out, the step times out, or the lease is lost. */
  signal: AbortSignal;
  /** State saved by an earlier `suspend` of this step (undefined on first execution). */
  state: unknown;
  /** Project-level settings that executors honour (network policy, limits). */
  settings: ExecutorSettings;
  logger: Logger;
}

export interface ExecutorSettings {
  http: {
    /** Allow requests to link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10 …). */
    allowLinkLocal: boolean;
    defaultTimeoutMs: number;
    maxResponseBytes: number;
  };
}

export type StepResult =
  | { kind: 'output'; output: unknown; meta?: StepMeta }
  /** Park the step without holding a worker until `until` (epoch ms), then execute again with `state`. */
  | { kind: 'suspend'; until: number; state: unknown };

export interface StepExecutor {
  readonly kind: StepKind;
  /**
   * Runs one attempt. `config` is the step's kind block with templates rendered.
   * Throw an AgentryError (with `retryable`) to fail the attempt.
   */
  execute(config: unknown, ctx: StepContext): Promise<StepResult>;
}
