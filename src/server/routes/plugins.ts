/**
 * The project's plugins (`/v1/plugins`): the list (scope `workers:read`: admin, operator), the
 * fleet-wide switch (`POST /v1/plugins/{name}/disable|enable`, scope `workers:write`: admin,
 * operator; audited; every process follows it within 5 s), and each enabled plugin's routes under
 * `/v1/plugins/{name}/…` (any valid key, scoped to the caller's tenant). A disabled plugin's routes
 * answer 404; a plugin that throws answers 500 `plugin_failed` naming it, other routes unaffected.
 * A plugin's own `POST /disable` or `/enable` route is shadowed by the switch.
 */
import { Type } from 'typebox';
import { PluginListSchema, PluginSchema } from '../../app/dto/plugins.js';
import { PLUGIN_NAME_PATTERN } from '../../spec/plugin-manifest.js';
import { AgentryError } from '../../lib/errors.js';
import type { PluginService } from '../../app/plugin-service.js';
import type { Method, RouteTable, ServerDeps } from '../route.js';

const PluginRef = Type.Object({ name: Type.String({ pattern: PLUGIN_NAME_PATTERN, description: 'The plugin’s name, as `GET /v1/plugins` lists it' }) });
const PluginPath = Type.Object({
  name: Type.String({ pattern: PLUGIN_NAME_PATTERN, description: 'The plugin’s name' }),
  '*': Type.String({ maxLength: 1024, description: 'The path the plugin’s manifest declares, without its leading `/`' }),
});
const MAX_REASON_LENGTH = 500;
/** Request headers a plugin never sees: the caller's credentials. */
const WITHHELD_HEADERS = new Set(['authorization', 'cookie', 'x-api-key', 'x-agentry-internal-token', 'proxy-authorization']);
/** Response headers a plugin may not set: the server's own framing and sessions. */
const REFUSED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'set-cookie', 'content-type']);
const PLUGIN_METHODS: Method[] = ['GET', 'POST', 'PUT', 'DELETE'];

function pluginsOf(deps: ServerDeps): PluginService {
  const plugins = deps.services.plugins;
  if (plugins === undefined) throw new AgentryError('not_found', 'this process has no project, so no plugins');
  return plugins;
}

function forwardedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || WITHHELD_HEADERS.has(name.toLowerCase())) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function pluginRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/plugins',
    scope: 'workers:read',
    deploymentWide: true,
    summary: 'The plugins of the project’s lock: version, source, isolation mode, enabled/disabled/unavailable, what they add and the permissions accepted',
    tags: ['plugins'],
    errors: ['forbidden'],
    schema: { operationId: 'listPlugins', response: { 200: PluginListSchema } },
    handler: (_request, _reply, principal) => Promise.resolve({ items: deps.services.plugins?.listFor(principal) ?? [] }),
  });

  table.add({
    method: 'POST',
    url: '/v1/plugins/:name/disable',
    scope: 'workers:write',
    deploymentWide: true,
    summary: 'Disable a plugin on every process (within 5 s, and after restarts): its routes 404, runs using it are refused, calls in flight finish',
    tags: ['plugins'],
    errors: ['not_found'],
    schema: {
      operationId: 'disablePlugin',
      params: PluginRef,
      body: Type.Object(
        { reason: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH, description: 'Why, for whoever looks (`GET /v1/plugins`, the audit log)' })) },
        { additionalProperties: false },
      ),
      response: { 200: PluginSchema },
    },
    handler: (request, _reply, principal) => pluginsOf(deps).disable(principal, request.params.name, request.body.reason ?? ''),
  });

  table.add({
    method: 'POST',
    url: '/v1/plugins/:name/enable',
    scope: 'workers:write',
    deploymentWide: true,
    summary: 'Enable a disabled plugin again on every process (within 5 s)',
    tags: ['plugins'],
    errors: ['not_found'],
    schema: { operationId: 'enablePlugin', params: PluginRef, body: Type.Object({}, { additionalProperties: false }), response: { 200: PluginSchema } },
    handler: (request, _reply, principal) => pluginsOf(deps).enable(principal, request.params.name),
  });

  for (const method of PLUGIN_METHODS) {
    table.add({
      method,
      url: '/v1/plugins/:name/*',
      scope: 'authenticated',
      summary: `A route a plugin adds (${method}): answered by the plugin, with the status, body and headers it returns; 404 when the plugin is disabled or declares no such route`,
      tags: ['plugins'],
      errors: ['not_found', 'plugin_failed', 'plugin_disabled', 'plugin_permission_denied'],
      schema: { operationId: `${method.toLowerCase()}PluginRoute`, params: PluginPath },
      handler: async (request, reply, principal) => {
        const { name } = request.params;
        try {
          const answer = await pluginsOf(deps).route(principal, name, {
            method,
            path: `/${request.params['*']}`,
            query: request.query as Record<string, unknown>,
            body: request.body ?? null,
            headers: forwardedHeaders(request.headers),
          });
          for (const [header, value] of Object.entries(answer.headers ?? {})) {
            if (typeof value === 'string' && !REFUSED_HEADERS.has(header.toLowerCase())) void reply.header(header, value);
          }
          void reply.code(answer.status);
          return answer.body;
        } catch (error) {
          if (error instanceof AgentryError && error.code === 'plugin_failed') {
            request.log.error({ plugin: name, err: error }, `plugin ${name}: ${method} ${request.url} failed: ${error.message}`);
          }
          throw error;
        }
      },
    });
  }
}
