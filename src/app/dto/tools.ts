/** What the API returns for this process's MCP tool servers (`/v1/tools`): their status and tools as the hub reports them. */
import { Type, type Static } from 'typebox';

export const ToolSchema = Type.Object(
  {
    name: Type.String({ description: "The server's name of the tool" }),
    function_name: Type.String({ description: 'The function name models are offered (`<server>__<tool>`, rewritten when providers would refuse it)' }),
    description: Type.Optional(Type.String()),
    input_schema: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "The tool's JSON Schema of its arguments (absent for a disabled tool not listed yet)" }),
    ),
    require_approval: Type.Boolean({ description: "An agent's calls wait for a person's approval (`require_approval`)" }),
    disabled: Type.Boolean({ description: 'An operator disabled this tool fleet-wide' }),
    disabled_reason: Type.Optional(Type.String()),
  },
  { title: 'Tool' },
);
export type ToolDto = Static<typeof ToolSchema>;

export const ToolServerSchema = Type.Object(
  {
    name: Type.String(),
    transport: Type.Enum(['stdio', 'http']),
    state: Type.Enum(['idle', 'connected', 'failed', 'disabled']),
    tools: Type.Integer({ description: 'Tools exposed after `allow`, as last listed (0 before the first listing)' }),
    restarts: Type.Integer(),
    last_error: Type.Optional(Type.String()),
    disabled_reason: Type.Optional(Type.String()),
    pid: Type.Optional(Type.Integer()),
    tool_list: Type.Array(ToolSchema, { description: 'The tools as last listed, and disabled tools the listing lacks' }),
  },
  { title: 'ToolServer' },
);
export type ToolServerDto = Static<typeof ToolServerSchema>;
