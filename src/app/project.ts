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
import type { PluginCatalog } from '../spec/plugin-catalog.js';
import { readPluginCatalog } from './plugin-catalog.js';

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

export interface ProjectLoadOptions extends Omit<LoadOptions, 'checks'> {
  /**
   * The project directory whose `agentry-plugins.lock` names the installed plugins, which
   * `plugin:` steps and agents' plugin tools are checked against (the specs may come from
   * elsewhere, e.g. a bundle). Without it, plugins are not checked.
   */
  pluginsDir?: string | undefined;
  /** The installed plugins, when known already (instead of `pluginsDir`). */
  plugins?: PluginCatalog | undefined;
}

/** Reads the project in `dir`: every spec, with every problem found as a diagnostic. */
export async function loadProject(dir: string, options: ProjectLoadOptions): Promise<LoadResult> {
  const { pluginsDir, plugins, ...rest } = options;
  if (pluginsDir === undefined) return loadSpecs(dir, { ...rest, checks: { ...PROJECT_CHECKS, plugins } });
  const { catalog, problem } = readPluginCatalog(pluginsDir);
  const result = await loadSpecs(dir, { ...rest, checks: { ...PROJECT_CHECKS, plugins: catalog } });
  if (problem !== undefined) result.diagnostics.unshift({ file: problem.file, line: 0, column: 0, path: '', message: problem.message, severity: 'error' });
  return result;
}
