/** What the API returns for this process's MCP tool servers (`/v1/tools`): their status as the hub reports it. */
import { Type, type Static } from 'typebox';

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
  },
  { title: 'ToolServer' },
);
export type ToolServerDto = Static<typeof ToolServerSchema>;
