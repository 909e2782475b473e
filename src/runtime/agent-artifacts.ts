/**
 * The agent's built-in artifact tool (`write_artifacts: true` on its step): `artifacts__write`
 * stores a file among the run's artifacts, under a name the workflow's `artifacts:` declares.
 * A refused write (an undeclared name, `..`, too large) fails the step with its error; the
 * call's result is journaled like any tool call's, so a resumed attempt does not write twice.
 */
import type { ToolDefinition } from '../gateway/types.js';
import { AgentryError } from '../lib/errors.js';
import type { StepContext } from './types.js';

/** The function name the model calls (a tool server name never holds `__`, so no server's tool can take it). */
export const ARTIFACT_TOOL = 'artifacts__write';

export const ARTIFACT_TOOL_DEFINITION: ToolDefinition = {
  type: 'function',
  function: {
    name: ARTIFACT_TOOL,
    description: "Stores a file (a report, a data extract) among the run's artifacts. `name` is a relative path the workflow allows, e.g. out/report.md.",
    parameters: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'Relative path of the file, e.g. out/report.md' },
        content: { type: 'string', description: 'The text of the file' },
        content_type: { type: 'string', description: 'Media type, default text/plain; charset=utf-8 (text/markdown for Markdown)' },
      },
      required: ['name', 'content'],
      additionalProperties: false,
    },
  },
};

/** Whether the step offers the tool. */
export function offersArtifactTool(ctx: StepContext): boolean {
  return ctx.artifactTool === true && ctx.artifacts !== undefined;
}

/** Carries out one call of the tool; its result for the model. */
export async function callArtifactTool(ctx: StepContext, args: Record<string, unknown>): Promise<string> {
  const { name, content } = args;
  const contentType = args.content_type ?? 'text/plain; charset=utf-8';
  if (typeof name !== 'string' || typeof content !== 'string' || typeof contentType !== 'string') {
    return JSON.stringify({ error: `${ARTIFACT_TOOL} takes { name: string, content: string, content_type?: string }` });
  }
  if (!ctx.artifacts) throw new AgentryError('artifact_denied', `${ARTIFACT_TOOL}: this process has no artifact store`);
  const saved = await ctx.artifacts.write(name, content, contentType);
  ctx.logger.info({ artifact: saved.name, size: saved.size }, 'agent wrote an artifact');
  return JSON.stringify({ stored: saved.name, size: saved.size, sha256: saved.sha256 });
}
