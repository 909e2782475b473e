/**
 * Which tools exist and who may call them. Two lists apply, both must allow a tool:
 * - a server's `allow:` (tools/*.yaml): the server's other tools do not exist for Agentry;
 * - an agent's `tools:` (agents/*.yaml): entries `crm` or `crm.*` (every tool of server `crm`)
 *   and `crm.find_customer` (one tool). Server names contain no dots, so the first dot splits.
 */
import { didYouMean, type Problem } from '../spec/diagnostics.js';
import type { ToolSpec } from '../spec/schemas.js';

export interface ToolPattern {
  server: string;
  /** A tool name, or `*` for every tool of the server. */
  tool: string;
}

export function parseToolPattern(entry: string): ToolPattern {
  const dot = entry.indexOf('.');
  if (dot === -1) return { server: entry, tool: '*' };
  return { server: entry.slice(0, dot), tool: entry.slice(dot + 1) || '*' };
}

export function patternAllows(patterns: readonly ToolPattern[], server: string, tool: string): boolean {
  return patterns.some((p) => p.server === server && (p.tool === '*' || p.tool === tool));
}

export function serverAllows(allow: ReadonlySet<string> | undefined, tool: string): boolean {
  return allow === undefined || allow.has(tool);
}

/**
 * Problems of an agent's `tools:` list against the project's tool servers: unknown servers and
 * tools a server's `allow:` hides. (For the spec loader; paths are relative to the agent spec.)
 */
export function agentToolProblems(entries: readonly string[], servers: ReadonlyMap<string, Pick<ToolSpec, 'allow'>>): Problem[] {
  return entries.flatMap((entry, i): Problem[] => {
    const { server, tool } = parseToolPattern(entry);
    const spec = servers.get(server);
    if (spec === undefined) {
      return [{ path: ['tools', i], message: `unknown tool server '${server}'${didYouMean(server, servers.keys())}` }];
    }
    if (tool !== '*' && spec.allow !== undefined && !spec.allow.includes(tool)) {
      return [{ path: ['tools', i], message: `tool '${tool}' is not in the allow list of tool server '${server}'${didYouMean(tool, spec.allow)}` }];
    }
    return [];
  });
}
