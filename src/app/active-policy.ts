/**
 * The environment policies in force in this process: the project's declared environments, the
 * active one, and the overrides stored with `PUT /v1/policies/{env}` (read at most every
 * `POLICY_CACHE_MS`; the process that stores one applies it at once, `invalidate`). It is the
 * engine's `RunPolicyGate`: every run start — API and CLI, schedule ticks, retries and re-runs,
 * `workflow:` steps' child runs — is judged by `assertRunAllowed` against it.
 */
import type { RunPolicyCheck, RunPolicyGate } from '../engine/run-policy.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { PolicySpec } from '../spec/schemas.js';
import type { Store } from '../store/store.js';
import type { PolicyOverrideRecord } from '../store/store-types.js';
import { assertRunAllowed, type PolicyEnvironment, type PolicyProject } from './policies.js';

/** How long a process uses the stored overrides it read before reading them again. */
export const POLICY_CACHE_MS = 2_000;

/** What the policies come from: the project's declared environments and the active one. */
export interface PolicySources {
  /** The active environment's name (undefined: none; no policy applies). */
  active: string | undefined;
  /** Every environment agentry.yaml declares, with its policy. */
  declared: Readonly<Record<string, Readonly<PolicySpec>>>;
  project: PolicyProject;
}

/** No project (a process reading runs): no environment, nothing checked. */
export const NO_POLICIES: PolicySources = { active: undefined, declared: {}, project: { agents: new Map(), tools: new Map() } };

/** The sources of a loaded project. */
export function policySourcesOf(
  project:
    | {
        settings: { environment: { name: string } | undefined; environments: Readonly<Record<string, Readonly<PolicySpec>>> };
        agents: PolicyProject['agents'];
        tools: PolicyProject['tools'];
      }
    | undefined,
): PolicySources {
  if (project === undefined) return NO_POLICIES;
  return { active: project.settings.environment?.name, declared: project.settings.environments, project: { agents: project.agents, tools: project.tools } };
}

export class ActivePolicy implements RunPolicyGate {
  private cached: { at: number; overrides: Map<string, PolicyOverrideRecord> } | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<Store, 'listPolicyOverrides'>,
    readonly sources: PolicySources,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  /** The active environment with its policy in force; undefined when none is active. */
  async active(): Promise<PolicyEnvironment | undefined> {
    const name = this.sources.active;
    return name === undefined ? undefined : this.environment(name);
  }

  /** The check of a run start against the active environment (undefined: none is active). */
  async current(): Promise<RunPolicyCheck | undefined> {
    const env = await this.active();
    if (env === undefined) return undefined;
    return (wf, start) => assertRunAllowed(wf, env, { adHoc: start.adHoc });
  }

  /** An environment's policy in force: the stored override, else agentry.yaml's. */
  async environment(name: string): Promise<PolicyEnvironment> {
    const stored = (await this.overrides()).get(name);
    const policy = (stored?.policy as PolicySpec | undefined) ?? this.sources.declared[name] ?? {};
    return { name, policy, project: this.sources.project };
  }

  async overrides(): Promise<Map<string, PolicyOverrideRecord>> {
    const now = this.now();
    if (this.cached !== undefined && now - this.cached.at < POLICY_CACHE_MS) return this.cached.overrides;
    const overrides = new Map((await this.store.listPolicyOverrides()).map((r) => [r.environment, r]));
    this.cached = { at: now, overrides };
    return overrides;
  }

  /** Reads the stored overrides again on the next use (this process just changed them). */
  invalidate(): void {
    this.cached = undefined;
  }
}

/**
 * What every run start the engine makes is judged by: the active environment's policy, and
 * whether the plugins the workflow uses take new calls (`PluginService.assertRunnable`: a
 * disabled one refuses the start with `plugin_disabled` before anything is stored, on every start
 * path — API and CLI, schedule ticks, re-runs, a `workflow:` step's child run).
 */
export function runStartGate(policy: ActivePolicy, plugins: { assertRunnable(wf: CompiledWorkflow): void } | undefined): RunPolicyGate {
  if (plugins === undefined) return policy;
  return {
    async current() {
      const check = await policy.current();
      return (wf, start) => {
        plugins.assertRunnable(wf);
        check?.(wf, start);
      };
    },
  };
}
