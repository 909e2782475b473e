/** The policy rules (`src/app/policies.ts`) on compiled workflows: each rule, `enforcement: warn`, ad-hoc runs, and the error a refused start throws. */
import { describe, expect, it } from 'vitest';
import { assertRunAllowed, policyFindings, type PolicyProject } from '../../src/app/policies.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { AgentSpec, PolicySpec, ToolSpec } from '../../src/spec/schemas.js';
import { compileAll } from '../helpers/engine.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { defaultExecutors } from '../../src/runtime/registry.js';

const STANDINS: StepExecutor[] = [
  ...defaultExecutors(),
  ...(['agent', 'tool'] as const).map((kind) => ({ kind, execute: () => Promise.reject(new Error('not run')) })),
];

const agent = (name: string, model: string, tools?: string[]): AgentSpec => ({ version: 'v1', name, model, ...(tools ? { tools } : {}) });
const tool = (name: string, extra: Partial<ToolSpec> = {}): ToolSpec => ({ name, command: 'true', ...extra });

const PROJECT: PolicyProject = {
  agents: new Map([
    ['writer', agent('writer', 'smart', ['pay.*'])],
    ['reader', agent('reader', 'fast', ['crm.lookup'])],
  ]),
  tools: new Map([
    ['pay', tool('pay', { allow: ['refund', 'balance'], require_approval: ['refund'] })],
    ['crm', tool('crm')],
  ]),
};

const [WF] = [
  ...compileAll(
    [
      {
        name: 'mixed',
        budget: { max_cost_usd: 3 },
        steps: {
          write: { agent: 'writer' },
          read: { agent: 'reader' },
          refund: { tool: { server: 'pay', name: 'refund' } },
          ok: { human: { title: 'OK?' } },
          after: { needs: ['ok'], tool: { server: 'pay', name: 'refund' } },
        },
      },
    ],
    STANDINS,
  ).values(),
];
const wf = WF!;

const rules = (policy: PolicySpec, adHoc = false) => policyFindings(wf, policy, PROJECT, { adHoc }).map((f) => `${f.rule} ${f.path.join('.')} ${f.severity}`);

describe('policy rules', () => {
  it('allowed_model_groups: names the agent step whose model group is not allowed', () => {
    expect(rules({ allowed_model_groups: ['fast'] })).toEqual(['allowed_model_groups steps.write.agent error']);
  });

  it('allowed_tools: judges tool steps and each tool an agent may reach (server.* expands to the server allow list)', () => {
    const found = policyFindings(wf, { allowed_tools: ['crm.*', 'pay.balance'] }, PROJECT);
    expect(found.map((f) => f.path.join('.'))).toEqual(['steps.write.agent', 'steps.refund.tool', 'steps.after.tool']);
    expect(found[0]!.message).toContain('pay.refund');
  });

  it('require_approval tools: an agent reaching the tool needs the server to require approval; a tool step needs a human step before it', () => {
    expect(rules({ require_approval: { tools: ['pay.refund'] } })).toEqual(['require_approval steps.refund.tool error']);
    expect(rules({ require_approval: { tools: ['pay.balance'] } })).toEqual(['require_approval steps.write.agent error']);
  });

  it('require_approval step_kinds: only steps with a human step among what they need pass', () => {
    expect(rules({ require_approval: { step_kinds: ['tool'] } })).toEqual(['require_approval steps.refund.tool error']);
  });

  it('budget caps: above the cap, or none declared', () => {
    expect(rules({ max_run_cost_usd: 2 })).toEqual(['max_run_cost_usd budget.max_cost_usd error']);
    expect(rules({ max_run_cost_usd: 3 })).toEqual([]);
    expect(rules({ max_run_tokens: 1000 })).toEqual(['max_run_tokens budget error']);
  });

  it('allow_ad_hoc_runs: false refuses inline specs only', () => {
    expect(rules({ allow_ad_hoc_runs: false }, true)).toEqual(['allow_ad_hoc_runs  error']);
    expect(rules({ allow_ad_hoc_runs: false }, false)).toEqual([]);
  });

  it('enforcement: warn turns every finding into a warning, and a start passes', () => {
    const policy: PolicySpec = { enforcement: 'warn', allowed_model_groups: [] };
    expect(rules(policy)).toEqual(['allowed_model_groups steps.write.agent warning', 'allowed_model_groups steps.read.agent warning']);
    expect(() => assertRunAllowed(wf, { name: 'prod', policy, project: PROJECT })).not.toThrow();
  });

  it('assertRunAllowed throws policy_violation (422) naming the environment, the first rule and the count', () => {
    let error: unknown;
    try {
      assertRunAllowed(wf, { name: 'prod', policy: { allowed_model_groups: [], max_run_cost_usd: 1 }, project: PROJECT });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentryError);
    const e = error as AgentryError;
    expect(e.code).toBe('policy_violation');
    expect(e.status).toBe(422);
    expect(e.message).toBe(
      "workflow mixed breaks the prod policy: max_run_cost_usd: budget.max_cost_usd: budget.max_cost_usd 3 is above this environment's max_run_cost_usd 1 (and 2 more)",
    );
    expect((e.details as { violations: unknown[] }).violations).toHaveLength(3);
    expect(() => assertRunAllowed(wf, undefined)).not.toThrow();
  });
});
