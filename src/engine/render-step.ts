/** A step's config and `input:` rendered for an attempt from the run's scope. */
import { toAgentryError, type ErrorInfo } from '../lib/errors.js';
import { renderTemplate } from '../spec/index.js';
import type { CompiledStep } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import type { StepRecord } from '../types.js';
import type { TransitionContext } from './context.js';
import { buildScope, itemScope } from './scope.js';

export type RenderedStep = { config: unknown; input: unknown; stored: unknown } | { error: ErrorInfo };

/**
 * The step's config and `input:` rendered for this attempt, and the copy to store (secrets
 * masked). An item of a map sees `item` and `index`.
 */
export function renderStep(tx: RunTx, ctx: TransitionContext, step: StepRecord, spec: CompiledStep, steps: StepRecord[]): RenderedStep {
  try {
    const withItem = (scope: ReturnType<typeof buildScope>) => (step.itemIndex === null ? scope : itemScope(scope, step.item, step.itemIndex));
    const scope = withItem(buildScope(ctx.wf, tx.run, steps, ctx.env));
    const config = renderTemplate(spec.config, scope);
    const input = spec.input === undefined ? undefined : renderTemplate(spec.input, scope);
    const masked = ctx.wf.secrets.length ? withItem(buildScope(ctx.wf, tx.run, steps, ctx.env, true)) : undefined;
    const storedConfig = masked ? renderTemplate(spec.config, masked) : config;
    const storedInput = masked && spec.input !== undefined ? renderTemplate(spec.input, masked) : input;
    const stored = spec.input === undefined ? storedConfig : { config: storedConfig, input: storedInput };
    return { config, input, stored };
  } catch (error) {
    return { error: toAgentryError(error, 'expression_error').toInfo() };
  }
}

/**
 * A rendered config read as its step's block. Rendering keeps the block's shape, which the
 * schema checked when the workflow was loaded: it only replaces each `{{ }}` string with its
 * value (which a whole-string template may give as another JSON type, as it always could).
 * The one place a rendered config takes its block's type.
 */
export function renderedConfig<S extends CompiledStep>(_spec: S, config: unknown): S['config'] {
  return config;
}
