/**
 * MCP tool servers: their status and tools, and the operator's switch. The switch is the
 * fleet's: stored, applied by every API and worker process within seconds, kept across
 * restarts, audited (`app/tools.ts`). Status and tools are the answering process's view.
 */
import { Type } from 'typebox';
import { MAX_TOOL_REASON_LENGTH } from '../../app/tools.js';
import { ToolServerSchema } from '../../app/dto/tools.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Server = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Tool server name (tools/<name>.yaml)' }) });
const Target = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 400,
    description: 'A tool server (`crm`), or one tool of it (`crm.delete_customer`)',
  }),
});

export function toolRoutes(table: RouteTable, deps: ServerDeps): void {
  const { tools } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/tools',
    scope: 'tools:read',
    deploymentWide: true,
    summary: 'The MCP tool servers: state, and their tools as last listed (name, function name, description, input schema, approval, disabled)',
    tags: ['tools'],
    errors: [],
    schema: { operationId: 'listTools', response: { 200: Type.Object({ items: Type.Array(ToolServerSchema) }) } },
    handler: () => Promise.resolve({ items: tools.list() }),
  });

  table.add({
    method: 'GET',
    url: '/v1/tools/:name',
    scope: 'tools:read',
    deploymentWide: true,
    summary: 'One MCP tool server with its tools listed now (connecting it when it is not; a disabled one is not)',
    tags: ['tools'],
    errors: ['not_found'],
    schema: { operationId: 'getTool', params: Server, response: { 200: ToolServerSchema } },
    handler: (request) => tools.describe(request.params.name),
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/disable',
    scope: 'tools:write',
    deploymentWide: true,
    summary: 'Disable a tool server or one tool on every process: its calls fail fast with tool_disabled until it is enabled (kept across restarts)',
    tags: ['tools'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'disableTool',
      params: Target,
      body: Type.Object(
        {
          reason: Type.String({
            minLength: 1,
            maxLength: MAX_TOOL_REASON_LENGTH,
            description: 'Why (shown in tool_disabled errors, GET /v1/tools and the audit log)',
          }),
        },
        { additionalProperties: false },
      ),
      response: { 200: ToolServerSchema },
    },
    async handler(request, _reply, principal) {
      const status = await tools.disable(principal, request.params.name, request.body.reason);
      request.log.warn({ target: request.params.name, reason: request.body.reason, principal: principal.name }, `tool ${request.params.name} disabled`);
      return status;
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/tools/:name/enable',
    scope: 'tools:write',
    deploymentWide: true,
    summary: 'Enable a disabled tool server or tool on every process (a server also gets its used-up restart budget reset)',
    tags: ['tools'],
    errors: ['not_found', 'invalid_request'],
    schema: { operationId: 'enableTool', params: Target, body: Type.Object({}, { additionalProperties: false }), response: { 200: ToolServerSchema } },
    async handler(request, _reply, principal) {
      const status = await tools.enable(principal, request.params.name);
      request.log.info({ target: request.params.name, principal: principal.name }, `tool ${request.params.name} enabled`);
      return status;
    },
  });
}
