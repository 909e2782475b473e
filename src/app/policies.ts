/**
 * Environment policies (`environments.<name>.policy` of `agentry.yaml`, or the override stored
 * through `PUT /v1/policies/{env}`): what a workflow must satisfy to run in that environment.
 * One function judges a workflow (`policyFindings`); `agentry validate --env`, the policy
 * reports and every run start (`assertRunAllowed`) use it, so they never disagree.
 *
 * Rules, each named in findings and in `policy_violation` errors by its key:
 * - `allowed_model_groups`: an agent step's agent uses a model group not in the list;
 * - `allowed_tools`: a tool step, or an agent's `tools:` entry, reaches a tool not in the list;
 * - `max_run_cost_usd` / `max_run_tokens`: the workflow's `budget:` is missing or above the cap;
 * - `require_approval`: a listed tool is reachable without approval (its server's
 *   `require_approval` does not cover it, or a tool step calls it with no human step before it),
 *   or a step of a listed kind has no human step before it;
 * - `egress_allow`: an http step's literal URL names a host not in the list (a templated URL is
 *   a warning: the runtime egress policy judges it);
 * - `allow_ad_hoc_runs`: a run of an inline spec in an environment that allows none.
 */
import { AgentryError } from '../lib/errors.js';
import { canonicalHost } from '../lib/egress.js';
import type { PathSegment } from '../spec/diagnostics.js';
import type { CompiledStep, CompiledWorkflow } from '../spec/model.js';
import type { AgentSpec, PolicySpec, StepKind, ToolSpec } from '../spec/schemas.js';
import { parseToolPattern, patternAllows, type ToolPattern } from '../tools/allowlist.js';

export const POLICY_RULES = [
  'allowed_model_groups',
  'allowed_tools',
  'max_run_cost_usd',
  'max_run_tokens',
  'require_approval',
  'egress_allow',
  'allow_ad_hoc_runs',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/** One way a workflow breaks a policy; `path` is inside the workflow's spec. */
export interface PolicyFinding {
  rule: PolicyRule;
  path: PathSegment[];
  message: string;
  /** `error` breaks the policy; `warning` cannot be judged before the run (a templated URL), or the policy only warns. */
  severity: 'error' | 'warning';
}

/** The agents and tool servers a workflow's steps name (the project's). */
export interface PolicyProject {
  agents: ReadonlyMap<string, AgentSpec>;
  tools: ReadonlyMap<string, ToolSpec>;
}

/** A policy in force: which environment, the rules, and the project the workflows come from. */
export interface PolicyEnvironment {
  name: string;
  policy: Readonly<PolicySpec>;
  project: PolicyProject;
}

export interface RunPolicyOptions {
  /** The run's spec is inline (`POST /v1/runs` with `spec`), not one of the project's workflows. */
  adHoc?: boolean;
}

/** Every way `wf` breaks `policy`, in step order; under `enforcement: warn` every finding is a warning. */
export function policyFindings(wf: CompiledWorkflow, policy: Readonly<PolicySpec>, project: PolicyProject, options: RunPolicyOptions = {}): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const add = (rule: PolicyRule, path: PathSegment[], message: string, severity: 'error' | 'warning' = 'error'): void => {
    findings.push({ rule, path, message, severity });
  };
  if (options.adHoc === true && policy.allow_ad_hoc_runs === false)
    add('allow_ad_hoc_runs', [], "this environment runs only the project's workflows (allow_ad_hoc_runs: false)");
  budgetFindings(wf, policy, add);
  const allowedTools = policy.allowed_tools?.map(parseToolPattern);
  const approvalTools = policy.require_approval?.tools?.map(parseToolPattern) ?? [];
  const approvalKinds = new Set<StepKind>(policy.require_approval?.step_kinds ?? []);
  for (const stepId of wf.order) {
    const step = wf.steps.get(stepId);
    if (step === undefined) continue;
    const at: PathSegment[] = ['steps', step.id];
    if (approvalKinds.has(step.kind) && !afterHumanStep(wf, step)) {
      add('require_approval', [...at, step.kind], `a ${step.kind} step needs a human step before it (needs:, directly or not) in this environment`);
    }
    if (step.kind === 'agent' && typeof step.config === 'string') {
      const agent = project.agents.get(step.config);
      if (agent !== undefined) agentFindings(agent, [...at, 'agent'], { policy, allowedTools, approvalTools, project }, add);
    }
    if (step.kind === 'tool') {
      const { server, name } = step.config;
      if (allowedTools !== undefined && !patternAllows(allowedTools, server, name)) {
        add(
          'allowed_tools',
          [...at, 'tool'],
          `tool ${server}.${name} is not allowed in this environment (allowed_tools: ${policy.allowed_tools?.join(', ') || 'none'})`,
        );
      }
      if (patternAllows(approvalTools, server, name) && !afterHumanStep(wf, step)) {
        add('require_approval', [...at, 'tool'], `tool ${server}.${name} needs approval in this environment: put a human step before this step`);
      }
    }
    if (step.kind === 'http' && policy.egress_allow !== undefined) egressFinding(step, policy.egress_allow, [...at, 'http', 'url'], add);
  }
  return policy.enforcement === 'warn' ? findings.map((f) => ({ ...f, severity: 'warning' })) : findings;
}

/**
 * Throws `policy_violation` (422) naming the first rule `wf` breaks in `env`, with every
 * finding in `details`; does nothing without an environment, under `enforcement: warn`, or when
 * the workflow passes. The run start path calls it before anything is stored.
 */
export function assertRunAllowed(wf: CompiledWorkflow, env: PolicyEnvironment | undefined, options: RunPolicyOptions = {}): void {
  if (env === undefined) return;
  const errors = policyFindings(wf, env.policy, env.project, options).filter((f) => f.severity === 'error');
  const [first] = errors;
  if (first === undefined) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  throw new AgentryError('policy_violation', `workflow ${wf.name} breaks the ${env.name} policy: ${first.rule}: ${atPath(first.path)}${first.message}${more}`, {
    details: {
      environment: env.name,
      workflow: wf.name,
      rule: first.rule,
      violations: errors.map((f) => ({ rule: f.rule, path: f.path.join('.'), message: f.message })),
    },
  });
}

function atPath(path: readonly PathSegment[]): string {
  return path.length === 0 ? '' : `${path.join('.')}: `;
}

type Add = (rule: PolicyRule, path: PathSegment[], message: string, severity?: 'error' | 'warning') => void;

function budgetFindings(wf: CompiledWorkflow, policy: Readonly<PolicySpec>, add: Add): void {
  const budget = (wf.spec['budget'] ?? {}) as { max_cost_usd?: number; max_tokens?: number };
  const caps: Array<[PolicyRule, number | undefined, number | undefined, string]> = [
    ['max_run_cost_usd', policy.max_run_cost_usd, budget.max_cost_usd, 'max_cost_usd'],
    ['max_run_tokens', policy.max_run_tokens, budget.max_tokens, 'max_tokens'],
  ];
  for (const [rule, cap, declared, field] of caps) {
    if (cap === undefined) continue;
    if (declared === undefined)
      add(rule, ['budget'], `declare budget.${field} of at most ${cap} (${rule} of this environment); a run without one is not capped`);
    else if (declared > cap) add(rule, ['budget', field], `budget.${field} ${declared} is above this environment's ${rule} ${cap}`);
  }
}

interface AgentContext {
  policy: Readonly<PolicySpec>;
  allowedTools: ToolPattern[] | undefined;
  approvalTools: ToolPattern[];
  project: PolicyProject;
}

function agentFindings(agent: AgentSpec, at: PathSegment[], ctx: AgentContext, add: Add): void {
  const groups = ctx.policy.allowed_model_groups;
  if (groups !== undefined && !groups.includes(agent.model)) {
    add(
      'allowed_model_groups',
      at,
      `agent ${agent.name} uses model group '${agent.model}', not allowed in this environment (allowed_model_groups: ${groups.join(', ') || 'none'})`,
    );
  }
  for (const entry of agent.tools ?? []) {
    const { server, tool } = parseToolPattern(entry);
    const spec = ctx.project.tools.get(server);
    // The tools the entry reaches: one, or every tool the server allows (unknown: `*`).
    const reached = tool !== '*' ? [tool] : (spec?.allow ?? ['*']);
    for (const name of reached) {
      if (ctx.allowedTools !== undefined && !toolAllowed(ctx.allowedTools, server, name)) {
        add(
          'allowed_tools',
          at,
          `agent ${agent.name} may call ${server}.${name}, not allowed in this environment (allowed_tools: ${ctx.policy.allowed_tools?.join(', ') || 'none'})`,
        );
      }
      if (toolAllowed(ctx.approvalTools, server, name) && !serverRequiresApproval(spec, name)) {
        add('require_approval', at, `agent ${agent.name} may call ${server}.${name} without approval: list it in require_approval of tools/${server}.yaml`);
      }
    }
  }
}

/** `*` (every tool of a server) is allowed only by a pattern covering the whole server. */
function toolAllowed(patterns: readonly ToolPattern[], server: string, tool: string): boolean {
  return tool === '*' ? patterns.some((p) => p.server === server && p.tool === '*') : patternAllows(patterns, server, tool);
}

function serverRequiresApproval(spec: ToolSpec | undefined, tool: string): boolean {
  const required = spec?.require_approval;
  if (required === true) return true;
  return Array.isArray(required) && tool !== '*' && required.includes(tool);
}

/** Whether a human step comes before `step` (it needs one, directly or through other steps). */
function afterHumanStep(wf: CompiledWorkflow, step: CompiledStep): boolean {
  const seen = new Set<string>();
  const stack = [...step.needs];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const before = wf.steps.get(id);
    if (before === undefined) continue;
    if (before.kind === 'human') return true;
    stack.push(...before.needs);
  }
  return false;
}

function egressFinding(step: CompiledStep, allow: readonly string[], at: PathSegment[], add: Add): void {
  const url = (step.config as { url?: unknown }).url;
  if (typeof url !== 'string') return;
  let host: string | undefined;
  if (!url.includes('{{')) {
    try {
      host = canonicalHost(new URL(url).hostname);
    } catch {
      host = undefined;
    }
  }
  if (host === undefined) {
    add('egress_allow', at, 'the URL is templated: its host is judged when the step runs, by the egress policy (egress:), not by egress_allow', 'warning');
    return;
  }
  if (!allow.some((entry) => hostMatches(entry, host)))
    add('egress_allow', at, `host ${host} is not in this environment's egress_allow (${allow.join(', ') || 'none'})`);
}

function hostMatches(entry: string, host: string): boolean {
  const pattern = entry.toLowerCase();
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return canonicalHost(pattern) === host;
}
