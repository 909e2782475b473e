/**
 * MCP tool servers of this process: status, and the operator's disable/enable switch.
 *
 * The switch acts on this process's `ToolHub` only and lives in memory: in a deployment with
 * several API or worker processes each holds its own state (a known limit; docs/tools.md).
 */
import { Type } from 'typebox';
import { AgentryError } from '../../lib/errors.js';
import type { ToolServerStatus } from '../../tools/connection.js';
import type { RouteTable, ServerDeps } from '../route.js';

const ToolServerSchema = Type.Object(
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

const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Tool server name (tools/<name>.yaml)' }) });

function statusOf(deps: ServerDeps, name: string): ToolServerStatus {
  const status = deps.tools?.status().find((s) => s.name === name);
  if (status === undefined) {
    const known = deps.tools?.servers() ?? [];
    throw new AgentryError('not_found', `no tool server named '${name}' (${known.length === 0 ? 'this project has no tools/*.yaml' : `servers: ${known.join(', ')}`})`, {
      details: { server: name },
    });
  }
  return status;
}

export function toolRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/tools',
    scope: 'tools:read',
    summary: "This process's MCP tool servers and their state",
    tags: ['tools'],
    errors: [],
    schema: { response: { 200: Type.Object({ items: Type.Array(ToolServerSchema) }) } },
    handler: () => Promise.resolve({ items: deps.tools?.status() ?? [] }),
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/disable',
    scope: 'tools:write',
    summary: "Disable a tool server in this process: its calls fail fast with tool_disabled until it is enabled",
    tags: ['tools'],
    errors: ['not_found'],
    schema: {
      params: Name,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000, description: 'Why (shown in tool_disabled errors and GET /v1/tools)' }) }, { additionalProperties: false }),
      response: { 200: ToolServerSchema },
    },
    handler(request, _reply, principal) {
      const { name } = statusOf(deps, request.params.name);
      deps.tools!.disable(name, request.body.reason);
      request.log.warn({ server: name, reason: request.body.reason, principal: principal.name }, `tool server ${name} disabled`);
      return Promise.resolve(statusOf(deps, name));
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/enable',
    scope: 'tools:write',
    summary: 'Enable a disabled tool server in this process (also resets a used-up restart budget)',
    tags: ['tools'],
    errors: ['not_found'],
    schema: {
      params: Name,
      body: Type.Object({}, { additionalProperties: false }),
      response: { 200: ToolServerSchema },
    },
    handler(request, _reply, principal) {
      const { name } = statusOf(deps, request.params.name);
      deps.tools!.enable(name);
      request.log.info({ server: name, principal: principal.name }, `tool server ${name} enabled`);
      return Promise.resolve(statusOf(deps, name));
    },
  });
}
