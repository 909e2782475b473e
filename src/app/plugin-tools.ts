/**
 * Plugin tools for agents: an agent's `tools:` may name a plugin like a tool server (`weather`,
 * `weather.*`, `weather.forecast`), and the model sees each of its tools as the function
 * `<plugin>__<tool>` with the manifest's description and input schema. Entries naming a plugin
 * go here, the rest to the MCP tool servers. A call's input is checked against the schema, then
 * made through `PluginService.call` in the run's scope; its failure is told to the model, as
 * an MCP tool's is.
 */
import type { ToolDefinition } from '../gateway/types.js';
import { AgentryError } from '../lib/errors.js';
import type { AgentTools } from '../runtime/agent.js';
import { parseToolPattern, patternAllows } from '../tools/allowlist.js';
import { functionName, splitFunctionName } from '../tools/names.js';
import { assertMatches } from './plugin-step.js';
import type { PluginService } from './plugin-service.js';

/** `tools` (the MCP servers', if any) with the plugins' tools added. */
export function withPluginTools(tools: AgentTools | undefined, plugins: PluginService): AgentTools {
  const ownedByPlugin = (entry: string) => plugins.has(parseToolPattern(entry).server);
  const split = (allow: readonly string[]) => ({ plugin: allow.filter(ownedByPlugin), servers: allow.filter((e) => !ownedByPlugin(e)) });
  return {
    async toolsFor(allow, options) {
      const { plugin, servers } = split(allow);
      const defined: ToolDefinition[] = servers.length > 0 && tools ? await tools.toolsFor(servers, options) : [];
      const patterns = plugin.map(parseToolPattern);
      for (const name of new Set(patterns.map((p) => p.server))) {
        for (const tool of plugins.manifest(name)?.adds.tools ?? []) {
          if (!patternAllows(patterns, name, tool.name)) continue;
          defined.push({
            type: 'function',
            function: {
              name: functionName(name, tool.name),
              ...(tool.description === undefined ? {} : { description: tool.description }),
              parameters: tool.input,
            },
          });
        }
      }
      return defined;
    },
    async call(name, args, allow, options) {
      const target = splitFunctionName(name);
      const { plugin, servers } = split(allow);
      if (target === undefined || !plugins.has(target.server)) {
        if (!tools)
          throw new AgentryError('tool_not_allowed', `'${name}' is not a tool of any configured tool server or plugin`, { details: { function: name } });
        return tools.call(name, args, servers, options);
      }
      const pluginName = target.server;
      const tool = plugins.manifest(pluginName)?.adds.tools?.find((t) => functionName(pluginName, t.name) === name)?.name ?? target.rest;
      if (!patternAllows(plugin.map(parseToolPattern), pluginName, tool)) {
        throw new AgentryError('tool_not_allowed', `tool '${tool}' of plugin '${pluginName}' is not in the agent's tools list`, {
          details: { plugin: pluginName, tool },
        });
      }
      const input = plugins.manifest(pluginName)?.adds.tools?.find((t) => t.name === tool)?.input;
      assertMatches(input, args, `plugin ${pluginName} tool ${tool}: input`);
      const result = await plugins.call(pluginName, 'tool', tool, args, { tenantId: options.tenantId, runId: options.runId }, options.signal);
      return typeof result === 'string' ? result : JSON.stringify(result);
    },
    approvalFor(name, allow) {
      const target = splitFunctionName(name);
      if (target !== undefined && plugins.has(target.server)) return undefined;
      return tools?.approvalFor?.(name, split(allow).servers);
    },
  };
}
