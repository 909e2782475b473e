/**
 * What the spec loader knows of the installed plugins (`agentry-plugins.lock` and each
 * plugin's manifest, read by the app layer): the step kinds with their `config` schema and the
 * tools with their `input` schema. A workflow's `plugin:` step and an agent's `tools:` entry
 * naming a plugin are checked against it: an unknown or unloadable plugin, a step kind or tool
 * it does not add, a config that fails its schema are errors at the line that says so.
 */
import { didYouMean, type PathSegment, type Problem } from './diagnostics.js';
import type { JsonSchema } from './schemas.js';
import { valueProblems } from './validate.js';

export interface PluginCatalogEntry {
  /** Why the plugin cannot be used (its directory or manifest is missing or invalid); undefined when it loads. */
  error?: string | undefined;
  /** Step kinds by name, each with the JSON Schema of its config. */
  steps: ReadonlyMap<string, JsonSchema>;
  /** Tools by name, each with the JSON Schema of its input. */
  tools: ReadonlyMap<string, JsonSchema>;
}

/** The installed plugins by name. */
export type PluginCatalog = ReadonlyMap<string, PluginCatalogEntry>;

/** The compiled `plugin:` block of a step. */
export interface PluginStepConfig {
  name: string;
  step: string;
  config?: unknown;
}

function pluginOf(catalog: PluginCatalog, name: string, path: PathSegment[]): PluginCatalogEntry | Problem {
  const entry = catalog.get(name);
  if (entry === undefined) {
    const installed = catalog.size === 0 ? 'no plugin is installed' : `installed: ${[...catalog.keys()].sort().join(', ')}`;
    return { path, message: `unknown plugin '${name}' (${installed}; see agentry plugins install)${didYouMean(name, catalog.keys())}` };
  }
  if (entry.error !== undefined) return { path, message: `plugin '${name}' cannot load: ${entry.error}` };
  return entry;
}

/** Problems of a `plugin:` step (`at` is the path of its `plugin` block). */
export function pluginStepProblems(block: PluginStepConfig, catalog: PluginCatalog, at: PathSegment[]): Problem[] {
  const plugin = pluginOf(catalog, block.name, [...at, 'name']);
  if ('message' in plugin) return [plugin];
  const schema = plugin.steps.get(block.step);
  if (schema === undefined) {
    const kinds = [...plugin.steps.keys()];
    const has = kinds.length === 0 ? 'it adds none' : `it adds ${kinds.join(', ')}`;
    return [{ path: [...at, 'step'], message: `plugin '${block.name}' adds no step kind '${block.step}' (${has})` }];
  }
  if (block.config === undefined) return valueProblems(schema, {}, at).map((p) => ({ ...p, message: `config: ${p.message}` }));
  return valueProblems(schema, block.config, [...at, 'config']);
}

/** Problems of an agent's `tools:` entry naming a plugin (`weather`, `weather.*` or `weather.forecast`). */
export function pluginToolProblems(plugin: string, tool: string, catalog: PluginCatalog, at: PathSegment[]): Problem[] {
  const entry = pluginOf(catalog, plugin, at);
  if ('message' in entry) return [entry];
  if (tool === '*') return entry.tools.size === 0 ? [{ path: at, message: `plugin '${plugin}' adds no tools` }] : [];
  if (entry.tools.has(tool)) return [];
  return [{ path: at, message: `plugin '${plugin}' adds no tool '${tool}'${didYouMean(tool, entry.tools.keys())}` }];
}
