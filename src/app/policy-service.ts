/**
 * Environment policies as the API and the CLI see them: the active environment's policy
 * (`agentry.yaml`, or the override stored with `PUT /v1/policies/{env}`), listed, replaced by
 * operators, and reports of a spec or a stored run against it; every run start is judged by the
 * engine against the same `ActivePolicy` (`active-policy.ts`). Policies are the deployment's, not
 * a tenant's: only its operators change them (`assertDeploymentCaller`). A stored override
 * reaches every process within `POLICY_CACHE_MS`; the process that stored it applies it at once.
 */
import { AgentryError } from '../lib/errors.js';
import { checkWorkflow } from '../spec/compile.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { PolicySpec } from '../spec/schemas.js';
import { STEP_KINDS } from '../spec/schemas.js';
import type { PolicyOverrideRecord } from '../store/store-types.js';
import type { ActivePolicy } from './active-policy.js';
import type { AuditService } from './audit.js';
import { assertRunAccess, type Caller } from './caller.js';
import { iso } from './dto/common.js';
import type { PolicyEntryDto, PolicyListDto, PolicyReportDto } from './dto/policies.js';
import { assertDeploymentCaller } from './fleet.js';
import { policyFindings, type PolicyEnvironment, type RunPolicyOptions } from './policies.js';
import type { ServiceDeps } from './service-deps.js';

export { policySourcesOf, type PolicySources } from './active-policy.js';

export interface PolicyReportRequest {
  /** A workflow of the project, by name … */
  workflow?: string;
  /** … or an inline workflow spec (judged as an ad-hoc run would be). */
  spec?: unknown;
  /** The environment to judge against (default: the active one). */
  environment?: string;
}

export class PolicyService {
  private readonly now: () => number;

  /** `policy`: the policies in force, which the engine judges every run start by (`ActivePolicy`). */
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    private readonly policy: ActivePolicy,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  private get sources(): ActivePolicy['sources'] {
    return this.policy.sources;
  }

  /** The active environment with its policy in force; undefined when none is active. */
  active(): Promise<PolicyEnvironment | undefined> {
    return this.policy.active();
  }

  /** Every declared or stored environment's policy in force, the active one marked. */
  async list(): Promise<PolicyListDto> {
    const overrides = await this.policy.overrides();
    const names = [...new Set([...Object.keys(this.sources.declared), ...overrides.keys()])].sort();
    return { active: this.sources.active ?? null, items: names.map((name) => this.entry(name, overrides.get(name))) };
  }

  /** Replaces an environment's policy on every API process (kept across restarts; audited). */
  put(caller: Caller, environment: string, policy: PolicySpec): Promise<PolicyEntryDto> {
    return this.audit.audited(
      caller,
      'policy.update',
      `environment:${environment}`,
      async () => {
        assertDeploymentCaller(caller, this.deps.engine.tenant, 'environment policies');
        this.assertDeclared(environment);
        const stored = await this.deps.store.putPolicyOverride({ environment, policy: { ...policy }, updatedAt: this.now(), updatedBy: caller.name });
        this.policy.invalidate();
        return this.entry(environment, stored);
      },
      () => ({ policy }),
    );
  }

  /** Drops an environment's stored policy: agentry.yaml's applies again. */
  reset(caller: Caller, environment: string): Promise<PolicyEntryDto> {
    return this.audit.audited(caller, 'policy.reset', `environment:${environment}`, async () => {
      assertDeploymentCaller(caller, this.deps.engine.tenant, 'environment policies');
      this.assertDeclared(environment);
      await this.deps.store.deletePolicyOverride(environment);
      this.policy.invalidate();
      return this.entry(environment, undefined);
    });
  }

  /** How a project workflow, or an inline spec, fares against an environment's policy. */
  async report(request: PolicyReportRequest): Promise<PolicyReportDto> {
    const adHoc = request.workflow === undefined;
    const wf = adHoc ? this.compileInline(request.spec) : this.projectWorkflow(request.workflow!);
    return this.judge(wf, request.environment, { adHoc });
  }

  /** How a stored run's spec fares against an environment's policy (the one in force now). */
  async runReport(caller: Caller, runId: string, environment?: string): Promise<PolicyReportDto> {
    const run = await this.deps.engine.getRun(runId);
    assertRunAccess(caller, run, 'read');
    const wf = this.deps.engine.transitions.workflowOf(run);
    return { ...(await this.judge(wf, environment, {})), run_id: run.id };
  }

  private async judge(wf: CompiledWorkflow, environment: string | undefined, options: RunPolicyOptions): Promise<PolicyReportDto> {
    const name = environment ?? this.sources.active;
    if (name === undefined) return { environment: null, workflow: wf.name, allowed: true, violations: [] };
    if (environment !== undefined) this.assertDeclared(environment);
    const env = await this.policy.environment(name);
    const violations = policyFindings(wf, env.policy, env.project, options).map((f) => ({
      rule: f.rule,
      path: f.path.join('.'),
      message: f.message,
      severity: f.severity,
    }));
    return { environment: name, workflow: wf.name, allowed: violations.every((v) => v.severity !== 'error'), violations };
  }

  private entry(name: string, stored: PolicyOverrideRecord | undefined): PolicyEntryDto {
    const active = name === this.sources.active;
    if (stored === undefined) return { environment: name, active, source: 'project', policy: { ...this.sources.declared[name] } };
    return {
      environment: name,
      active,
      source: 'stored',
      policy: stored.policy,
      updated_at: iso(stored.updatedAt),
      updated_by: stored.updatedBy,
    };
  }

  private assertDeclared(environment: string): void {
    if (this.sources.declared[environment] !== undefined) return;
    const known = Object.keys(this.sources.declared);
    throw new AgentryError(
      'not_found',
      `environment '${environment}' is not declared in agentry.yaml (${known.length === 0 ? 'no environments are declared' : `declared: ${known.join(', ')}`})`,
      { details: { environment } },
    );
  }

  private projectWorkflow(name: string): CompiledWorkflow {
    const wf = this.deps.engine.workflows.get(name);
    if (wf === undefined) throw new AgentryError('not_found', `workflow ${name} not found`, { details: { workflow: name } });
    return wf;
  }

  private compileInline(spec: unknown): CompiledWorkflow {
    const { workflow, problems } = checkWorkflow(spec, { availableKinds: new Set(STEP_KINDS) });
    const errors = problems.filter((p) => (p.severity ?? 'error') === 'error');
    if (workflow === undefined || errors.length > 0) {
      throw new AgentryError('spec_invalid', `the inline spec is invalid: ${errors.map((p) => `${p.path.join('.') || '(root)'}: ${p.message}`).join('; ')}`, {
        details: { problems: errors.map((p) => ({ path: p.path.join('.'), message: p.message })) },
      });
    }
    return workflow;
  }
}
