/**
 * Which plugins a workflow uses: its `plugin:` steps, and the plugin tools its agent steps'
 * agents list in `tools:`. A run start checks each is usable (`PluginService.assertRunnable`).
 */
import type { CompiledWorkflow } from '../spec/model.js';
import { parseToolPattern } from '../tools/allowlist.js';

export interface PluginUse {
  plugin: string;
  kind: 'step' | 'tool';
  /** The step kind or tool; `*` for an agent's entry naming every tool of the plugin. */
  fn: string;
  /** The workflow's step that uses it. */
  step: string;
}

/** An agent as far as its plugin tools go. */
export type AgentToolLists = ReadonlyMap<string, { tools?: string[] | undefined }>;

export function pluginUses(wf: CompiledWorkflow, agents: AgentToolLists | undefined, isPlugin: (name: string) => boolean): PluginUse[] {
  const uses: PluginUse[] = [];
  for (const step of wf.steps.values()) {
    if (step.kind === 'plugin') uses.push({ plugin: step.config.name, kind: 'step', fn: step.config.step, step: step.id });
    if (step.kind !== 'agent') continue;
    for (const entry of agents?.get(step.config)?.tools ?? []) {
      const { server, tool } = parseToolPattern(entry);
      if (isPlugin(server)) uses.push({ plugin: server, kind: 'tool', fn: tool, step: step.id });
    }
  }
  return uses;
}
