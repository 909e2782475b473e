/**
 * MCP tool servers of this process: status, and the operator's disable/enable switch.
 *
 * The switch acts on this process's `ToolHub` only and lives in memory: in a deployment with
 * several API or worker processes each holds its own state (a known limit; docs/tools.md).
 */
import { Type } from 'typebox';
import { ToolServerSchema } from '../../app/dto/tools.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Tool server name (tools/<name>.yaml)' }) });

export function toolRoutes(table: RouteTable, deps: ServerDeps): void {
  const { tools } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/tools',
    scope: 'tools:read',
    deploymentWide: true,
    summary: "This process's MCP tool servers and their state",
    tags: ['tools'],
    errors: [],
    schema: { response: { 200: Type.Object({ items: Type.Array(ToolServerSchema) }) } },
    handler: () => Promise.resolve({ items: tools.list() }),
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/disable',
    scope: 'tools:write',
    deploymentWide: true,
    summary: 'Disable a tool server in this process: its calls fail fast with tool_disabled until it is enabled',
    tags: ['tools'],
    errors: ['not_found'],
    schema: {
      params: Name,
      body: Type.Object(
        { reason: Type.String({ minLength: 1, maxLength: 1000, description: 'Why (shown in tool_disabled errors and GET /v1/tools)' }) },
        { additionalProperties: false },
      ),
      response: { 200: ToolServerSchema },
    },
    async handler(request, _reply, principal) {
      const status = await tools.disable(principal, request.params.name, request.body.reason);
      request.log.warn({ server: status.name, reason: request.body.reason, principal: principal.name }, `tool server ${status.name} disabled`);
      return status;
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/enable',
    scope: 'tools:write',
    deploymentWide: true,
    summary: 'Enable a disabled tool server in this process (also resets a used-up restart budget)',
    tags: ['tools'],
    errors: ['not_found'],
    schema: {
      params: Name,
      body: Type.Object({}, { additionalProperties: false }),
      response: { 200: ToolServerSchema },
    },
    async handler(request, _reply, principal) {
      const status = await tools.enable(principal, request.params.name);
      request.log.info({ server: status.name, principal: principal.name }, `tool server ${status.name} enabled`);
      return status;
    },
  });
}
