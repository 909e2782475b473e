/**
 * Plugins in runs: the executor of `plugin:` steps and the plugin tools agents call, both
 * through `PluginService.call` (the plugin's runtime, its guard, the audit records). The call's
 * scope is the run's: `ctx.tenantId` is the run's tenant, `ctx.runId` its id, and `ctx.signal`
 * aborts with the step (its timeout, a cancel). The rendered config (or a tool's input) is
 * checked against the manifest's schema first. A plugin that throws, dies or hangs fails the
 * step `plugin_failed`, retried by the step's retry policy; a plugin disabled since the run
 * started refuses the call with `plugin_disabled` (not retried), while calls already in flight
 * finish.
 */
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { formatPath } from '../spec/diagnostics.js';
import type { PluginStepConfig } from '../spec/plugin-catalog.js';
import { valueProblems } from '../spec/validate.js';
import type { StepContext, StepExecutor, StepResult } from '../runtime/types.js';
import type { PluginService } from './plugin-service.js';

/** `invalid_request` naming the first problem of `value` against `schema`, if any. */
export function assertMatches(schema: object | undefined, value: unknown, what: string): void {
  if (schema === undefined) return;
  const [first, ...rest] = valueProblems(schema, value, []);
  if (first === undefined) return;
  const field = formatPath(first.path);
  const more = rest.length === 0 ? '' : ` (and ${rest.length} more)`;
  throw new AgentryError('invalid_request', `${what}: ${field === '' ? '' : `${field}: `}${first.message}${more}`, {
    details: { problems: [first, ...rest].map((p) => ({ field: formatPath(p.path), message: p.message })) },
  });
}

/** A plugin call's failure as the step sees it: `plugin_failed` may pass on a retry, the others (disabled, refused, invalid) not. */
export function stepError(error: unknown): AgentryError {
  const e = toAgentryError(error);
  if (e.code !== 'plugin_failed' || e.retryable) return e;
  return new AgentryError('plugin_failed', e.message, { retryable: true, cause: e, ...(e.details === undefined ? {} : { details: e.details }) });
}

function parseBlock(config: unknown): PluginStepConfig {
  const block = config as Partial<PluginStepConfig> | null;
  if (block === null || typeof block !== 'object' || typeof block.name !== 'string' || typeof block.step !== 'string') {
    throw new AgentryError('invalid_request', 'plugin step config must be an object with name and step');
  }
  return { name: block.name, step: block.step, config: block.config ?? {} };
}

export function createPluginExecutor(plugins: PluginService): StepExecutor {
  return {
    kind: 'plugin',
    async execute(config: unknown, ctx: StepContext): Promise<StepResult> {
      const block = parseBlock(config);
      const schema = plugins.manifest(block.name)?.adds.steps?.find((s) => s.kind === block.step)?.config;
      assertMatches(schema, block.config, `plugin ${block.name} step ${block.step}: config`);
      let output: unknown;
      try {
        output = await plugins.call(block.name, 'step', block.step, block.config, { tenantId: ctx.tenantId, runId: ctx.runId }, ctx.signal);
      } catch (error) {
        throw stepError(error);
      }
      ctx.logger.debug({ plugin: block.name, step_kind: block.step }, 'plugin step result');
      return { kind: 'output', output };
    },
  };
}
