/**
 * What a run start is judged by, given to the engine by the application: the active
 * environment's policy and the plugins the workflow uses (`app/active-policy.ts`, `runStartGate`;
 * the engine cannot import the app).
 * Every start path goes through it: `RunTransitions.create` (the API and the CLI, schedule
 * ticks, retries and re-runs) and a `workflow:` step's child run (`child-runs.ts`). Steps of a
 * run that already started (a step's retry, a resumed human or wait step) are not judged again.
 */
import type { CompiledWorkflow } from '../spec/model.js';

/** What the policy needs to know of a start besides the workflow. */
export interface RunPolicyStart {
  /** The run's spec is inline (an ad-hoc run, or a re-run of one). */
  adHoc: boolean;
}

/** Throws `policy_violation` naming the rule when `wf` breaks the policy in force; touches no store. */
export type RunPolicyCheck = (wf: CompiledWorkflow, start: RunPolicyStart) => void;

export interface RunPolicyGate {
  /**
   * The check in force now (undefined: no environment is active, nothing is judged). It may read
   * the store, so it is called outside any transaction; the check it returns is synchronous, for
   * the transaction that starts a child run.
   */
  current(): Promise<RunPolicyCheck | undefined>;
}
