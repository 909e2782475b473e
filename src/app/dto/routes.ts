/** What `GET /v1/routes` returns: the routes the answering process serves, each with who adds it. */
import { Type, type Static } from 'typebox';

export const ApiRouteSchema = Type.Object(
  {
    method: Type.Enum(['GET', 'POST', 'PUT', 'DELETE']),
    path: Type.String({ description: 'OpenAPI path syntax (`/v1/runs/{id}`); a plugin’s route in full (`/v1/plugins/weather/forecast`)' }),
    operationId: Type.String({ description: 'The OpenAPI operation that serves it (a plugin’s routes: the shared `getPluginRoute`, `postPluginRoute`, …)' }),
    owner: Type.String({ description: '`core`, or the name of the plugin that adds it' }),
    enabled: Type.Boolean({ description: 'false for the routes of a disabled plugin: they answer 404 until it is enabled again' }),
  },
  { title: 'ApiRoute' },
);

export const ApiRouteListSchema = Type.Object({ items: Type.Array(ApiRouteSchema) }, { title: 'ApiRouteList' });

export type ApiRouteDto = Static<typeof ApiRouteSchema>;
export type ApiRouteListDto = Static<typeof ApiRouteListSchema>;
