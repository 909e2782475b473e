/** What a tool call returns, and the two views of it Agentry uses: step output and model text. */
import type { CallToolResult, ContentBlock, Tool } from '@modelcontextprotocol/sdk/types.js';

/** An MCP tool as listed by its server (name, description, JSON Schemas of input and output). */
export type ToolDefinition = Tool;
export type ToolContent = ContentBlock;

/** A successful tool call (an `isError` result is raised as `tool_error` instead). */
export interface ToolCallResult {
  content: ToolContent[];
  structuredContent: Record<string, unknown> | undefined;
}

/** The function-tool shape of the OpenAI chat API (other providers' adapters convert from it). */
export interface FunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export function fromCallResult(result: CallToolResult): ToolCallResult {
  return { content: result.content, structuredContent: result.structuredContent };
}

/**
 * A step's output: the structured content when the tool gave one, else its single text content
 * parsed as JSON when it parses, else `{ content: [...] }`.
 */
export function toolOutput(result: ToolCallResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const only = result.content.length === 1 ? result.content[0] : undefined;
  if (only?.type === 'text') {
    try {
      return JSON.parse(only.text) as unknown;
    } catch {
      // Not JSON: fall through to the content list.
    }
  }
  return { content: result.content };
}

/** The text a model sees: text contents joined, else the structured content as JSON. */
export function toolText(result: { content: ToolContent[]; structuredContent?: Record<string, unknown> | undefined }): string {
  const texts = result.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
  if (texts.length > 0) return texts.join('\n');
  if (result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return result.content.map((block) => `[${block.type}]`).join('\n');
}
