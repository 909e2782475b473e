/**
 * `GET /v1/routes` (scope `maintenance:admin`: admin): the routes this process serves, each with
 * its method, path, operation and owner — `core`, or the plugin that adds it (`AdminService.routes`
 * adds the plugins' routes from their manifests, in place of the shared `/v1/plugins/{name}/*`
 * dispatch; a disabled plugin's are listed with `enabled: false`). For triage: when `/readyz` is
 * fine but some routes fail, this says whether they are a plugin's.
 */
import { ApiRouteListSchema, type ApiRouteDto } from '../../app/dto/routes.js';
import type { RouteTable, ServerDeps } from '../route.js';

/** The dispatch of plugin routes, listed as the plugins' own routes instead. */
const PLUGIN_DISPATCH = '/v1/plugins/:name/*';

/** Fastify's `/v1/runs/:id` as OpenAPI's `/v1/runs/{id}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function routeListRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/routes',
    scope: 'maintenance:admin',
    deploymentWide: true,
    summary:
      'The routes this process serves: method, path, operationId and owner (`core` or a plugin’s name); a disabled plugin’s routes with `enabled: false`',
    tags: ['fleet'],
    errors: [],
    schema: { operationId: 'listRoutes', response: { 200: ApiRouteListSchema } },
    handler: (_request, _reply, principal) => {
      const core: ApiRouteDto[] = [];
      const dispatch = new Map<string, string>();
      for (const route of table.routes) {
        const operationId = (route.schema as { operationId?: string }).operationId ?? '';
        if (route.url === PLUGIN_DISPATCH) dispatch.set(route.method, operationId);
        else core.push({ method: route.method, path: openApiPath(route.url), operationId, owner: 'core', enabled: true });
      }
      return Promise.resolve(deps.services.admin.routes(principal, core, dispatch));
    },
  });
}
