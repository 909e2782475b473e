/**
 * Loading a project: the spec layer reads and checks every file; the gateway and the tool
 * layer add their own checks (providers and model groups, tool server settings, agents'
 * tool allow-lists), which the spec layer cannot import.
 */
import { gatewaySpecProblems } from '../gateway/config.js';
import { loadProject as loadSpecs, type LoadOptions, type LoadResult, type SpecChecks } from '../spec/index.js';
import { agentToolProblems } from '../tools/allowlist.js';
import { toolSpecProblems } from '../tools/config.js';

export const PROJECT_CHECKS: SpecChecks = {
  gateway: gatewaySpecProblems,
  tool: toolSpecProblems,
  agentTools: agentToolProblems,
};

/** Reads the project in `dir`: every spec, with every problem found as a diagnostic. */
export function loadProject(dir: string, options: Omit<LoadOptions, 'checks'>): Promise<LoadResult> {
  return loadSpecs(dir, { ...options, checks: PROJECT_CHECKS });
}
