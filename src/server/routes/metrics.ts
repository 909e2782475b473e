/** Prometheus metrics of this process. */
import { Type } from 'typebox';
import type { RouteTable, ServerDeps } from '../route.js';

export function metricsRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/metrics',
    scope: 'metrics:read',
    deploymentWide: true,
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['health'],
    errors: [],
    schema: { operationId: 'getMetrics', response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } } },
    async handler(_request, reply) {
      const text = await deps.metrics.text();
      return reply.type(deps.metrics.contentType).send(text);
    },
  });
}
