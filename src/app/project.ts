/**
 * Loading a project: the spec layer reads and checks every file; the gateway and the tool
 * layer add their own checks (providers and model groups, tool server settings, agents'
 * tool allow-lists), which the spec layer cannot import.
 */
import { existsSync, statSync } from 'node:fs';
import { gatewaySpecProblems } from '../gateway/config.js';
import { AgentryError } from '../lib/errors.js';
import { loadProject as loadSpecs, type LoadOptions, type LoadResult, type SpecChecks } from '../spec/index.js';
import { agentToolProblems } from '../tools/allowlist.js';
import { toolSpecProblems } from '../tools/config.js';
import { STEP_KINDS, type StepKind } from '../spec/model.js';

/** The step kinds this build can execute: every kind the spec knows. */
export const AVAILABLE_KINDS: ReadonlySet<StepKind> = new Set(STEP_KINDS);

/** Throws `invalid_request` unless `dir` is an existing directory. */
export function assertProjectDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AgentryError('invalid_request', `project directory ${dir} does not exist (create one with \`agentry init\`)`);
  }
}

export const PROJECT_CHECKS: SpecChecks = {
  gateway: gatewaySpecProblems,
  tool: toolSpecProblems,
  agentTools: agentToolProblems,
};

/** Reads the project in `dir`: every spec, with every problem found as a diagnostic. */
export function loadProject(dir: string, options: Omit<LoadOptions, 'checks'>): Promise<LoadResult> {
  return loadSpecs(dir, { ...options, checks: PROJECT_CHECKS });
}
