/** Builds what templates and `when:` see for a run. */
import type { CompiledWorkflow, TemplateScope } from '../spec/model.js';
import type { RunRecord, StepRecord } from '../types.js';

/**
 * `env` holds only the variables the workflow declares. With `maskSecrets`, secret values
 * are replaced by a marker: that scope renders the copy of a step's input that is stored.
 */
export function buildScope(wf: CompiledWorkflow, run: RunRecord, steps: readonly StepRecord[], env: NodeJS.ProcessEnv, maskSecrets = false): TemplateScope {
  const declared: Record<string, string> = {};
  const defaults = (wf.spec.env ?? {}) as Record<string, { default?: string } | undefined>;
  for (const name of wf.env) {
    const value = env[name] ?? defaults[name]?.default;
    if (value === undefined) continue;
    declared[name] = maskSecrets && wf.secrets.includes(name) ? `[secret:${name}]` : value;
  }
  const stepScope: TemplateScope['steps'] = {};
  for (const step of steps) stepScope[step.stepId] = { output: step.output, status: step.status };
  return { input: run.input, steps: stepScope, run: { id: run.id, workflow: run.workflow }, env: declared };
}

/** The scope of one item of a `for_each` step: `item` and `index` added. */
export function itemScope(scope: TemplateScope, item: unknown, index: number): TemplateScope {
  return { ...scope, item, index };
}
