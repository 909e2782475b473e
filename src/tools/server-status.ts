/**
 * What a tool server reports of itself (`/readyz`, `GET /v1/tools`, `/metrics`): its state and
 * its tools as last listed, with the function names models see and the operator's switches.
 */
import type { ToolTransport } from './config.js';
import { functionName } from './names.js';
import type { ToolDefinition } from './result.js';

export const SERVER_STATES = { idle: 'idle', connected: 'connected', failed: 'failed', disabled: 'disabled' } as const;
export type ServerState = (typeof SERVER_STATES)[keyof typeof SERVER_STATES];

/** One tool of a server as `GET /v1/tools` shows it. */
export interface ToolStatus {
  /** The server's name of the tool. */
  name: string;
  /** The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it). */
  function_name: string;
  description?: string;
  /** Undefined for a disabled tool the server has not listed. */
  input_schema?: Record<string, unknown>;
  require_approval: boolean;
  disabled: boolean;
  disabled_reason?: string;
}

/** One server in `/readyz` and `GET /v1/tools`. */
export interface ToolServerStatus {
  name: string;
  transport: ToolTransport;
  state: ServerState;
  /** Tools the server exposes after its `allow` list (as last listed; 0 before the first listing). */
  tools: number;
  last_error?: string;
  /** Reconnects after a failed or lost connection, since start. */
  restarts: number;
  disabled_reason?: string;
  /** The child process of a connected stdio server. */
  pid?: number;
}

/** What the fleet's switches say of one server: its reason when it is disabled, and its disabled tools with theirs. */
export interface ServerSwitches {
  reason: string | undefined;
  tools: ReadonlyMap<string, string>;
}

/** The `ToolStatus` of each listed tool, then of each disabled tool the listing lacks. */
export function toolStatuses(
  server: string,
  listed: readonly ToolDefinition[],
  disabled: ReadonlyMap<string, string>,
  needsApproval: (tool: string) => boolean,
): ToolStatus[] {
  const tools: ToolStatus[] = listed.map((t) => {
    const entry: ToolStatus = {
      name: t.name,
      function_name: functionName(server, t.name),
      input_schema: t.inputSchema,
      require_approval: needsApproval(t.name),
      disabled: disabled.has(t.name),
    };
    const description = t.description ?? t.title;
    if (description !== undefined) entry.description = description;
    const reason = disabled.get(t.name);
    if (reason !== undefined) entry.disabled_reason = reason;
    return entry;
  });
  for (const [name, reason] of disabled) {
    if (listed.some((t) => t.name === name)) continue;
    tools.push({ name, function_name: functionName(server, name), require_approval: needsApproval(name), disabled: true, disabled_reason: reason });
  }
  return tools;
}
