/**
 * The credential inventory: every secret the server's configuration and project refer to,
 * whether it resolves, where it comes from and what uses it — never a value. Needs
 * `credentials:read` (admin and operator keys) of the deployment's tenant, or a system admin.
 */
import { Type } from 'typebox';
import { CredentialListSchema } from '../../app/dto/credentials.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function securityRoutes(table: RouteTable, deps: ServerDeps): void {
  const { credentials } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/security/credentials',
    scope: 'credentials:read',
    deploymentWide: true,
    summary: 'The credential inventory: secret references, whether each resolves and what uses it (never values)',
    tags: ['security'],
    errors: ['forbidden'],
    schema: {
      operationId: 'listCredentials',
      querystring: Type.Object({
        unresolved: Type.Optional(Type.Boolean({ description: 'Only the secrets that do not resolve' })),
        used_by: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 256,
            description: "Only the secrets used by this ('agent:triage', 'tool:github'; 'workflow:x' includes its steps)",
          }),
        ),
      }),
      response: { 200: CredentialListSchema },
    },
    handler(request, _reply, principal) {
      const { unresolved, used_by: usedBy } = request.query;
      return Promise.resolve({ items: credentials.list(principal, { unresolved, usedBy }) });
    },
  });
}
