/**
 * `tool` steps: call one MCP tool directly. Config (rendered): `{ server, name, args? }`.
 * Output: the tool's structured content, else its single text content parsed as JSON, else
 * `{ content: [...] }`. Errors keep the hub's codes (`tool_error`, `tool_timeout`, …).
 */
import { AgentryError } from '../lib/errors.js';
import type { ToolHub } from '../tools/hub.js';
import { toolOutput } from '../tools/result.js';
import type { StepContext, StepExecutor, StepResult } from './types.js';

export interface ToolStepConfig {
  server: string;
  name: string;
  args: Record<string, unknown>;
}

const KEYS = new Set(['server', 'name', 'args']);

export function parseToolStepConfig(config: unknown): ToolStepConfig {
  if (!isRecord(config)) throw invalid('tool step config must be an object with server and name');
  for (const key of Object.keys(config)) if (!KEYS.has(key)) throw invalid(`tool step config has unknown field "${key}"`);
  const { server, name, args } = config;
  if (typeof server !== 'string' || server === '') throw invalid('tool step server must be a non-empty string');
  if (typeof name !== 'string' || name === '') throw invalid('tool step name must be a non-empty string');
  if (args !== undefined && args !== null && !isRecord(args)) throw invalid('tool step args must be an object');
  return { server, name, args: args ?? {} };
}

export function createToolExecutor(hub: ToolHub): StepExecutor {
  return {
    kind: 'tool',
    async execute(config: unknown, ctx: StepContext): Promise<StepResult> {
      const step = parseToolStepConfig(config);
      const result = await hub.callTool(step.server, step.name, step.args, { signal: ctx.signal });
      ctx.logger.debug({ server: step.server, tool: step.name, contents: result.content.length }, 'tool step result');
      return { kind: 'output', output: toolOutput(result) };
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function invalid(message: string): AgentryError {
  return new AgentryError('invalid_request', message);
}
