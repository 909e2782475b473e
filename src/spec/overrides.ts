/**
 * A run's overrides of its workflow's settings (`overrides:` at start, docs/specs.md#overrides):
 * only the settings a step lists under `overridable:` may be given. The result is the workflow's
 * spec with the overrides written in, to be compiled (and stored as the run's snapshot).
 */
import { AgentryError } from '../lib/errors.js';
import type { RunOverrides } from '../types.js';
import type { CompiledWorkflow } from './model.js';
import type { OverridableSetting } from './schemas.js';

/** `override_not_allowed`, naming the field, for an override of a step the workflow lacks or of a setting it does not mark overridable. */
function refused(field: string, message: string): AgentryError {
  return new AgentryError('override_not_allowed', `${field}: ${message}`, { details: { field } });
}

/** The workflow's spec with `overrides` applied (a copy); throws `override_not_allowed` for anything not overridable. */
export function applyOverrides(wf: CompiledWorkflow, overrides: RunOverrides): Record<string, unknown> {
  const spec = structuredClone(wf.spec);
  const steps = spec['steps'] as Record<string, Record<string, unknown>>;
  for (const [stepId, settings] of Object.entries(overrides.steps)) {
    const step = wf.steps.get(stepId);
    const target = steps[stepId];
    if (step === undefined || target === undefined) {
      throw refused(`overrides.steps.${stepId}`, `workflow '${wf.name}' has no step '${stepId}'`);
    }
    for (const [setting, value] of Object.entries(settings)) {
      if (value === undefined) continue;
      if (!step.overridable.includes(setting as OverridableSetting)) {
        const allowed = step.overridable.length === 0 ? 'none (it has no overridable:)' : step.overridable.join(', ');
        throw refused(
          `overrides.steps.${stepId}.${setting}`,
          `step '${stepId}' of workflow '${wf.name}' does not mark ${setting} overridable; it allows overriding ${allowed}`,
        );
      }
      target[setting] = value;
    }
  }
  return spec;
}
