/**
 * Managed API keys (`/v1/admin/keys`, scope `keys:admin`: the `admin` role): create, list, get,
 * revoke, rotate. A key of a tenant manages that tenant's keys only; `?tenant=` names the tenant
 * (a key of every tenant may name any). Answers that carry a secret are `Cache-Control: no-store`.
 */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ApiKeyPageSchema, ApiKeySchema, IssuedKeySchema, RevokedKeysSchema, type IssuedKeyDto } from '../../app/dto/keys.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Tenant = Type.Optional(
  Type.String({ minLength: 1, maxLength: 64, description: "The key's tenant (default: the caller's; a key of every tenant may name any)" }),
);
const KeyRef = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, description: 'A key id (`key_…`), the public prefix of its secret (`agk_…`), or its name in the tenant' }),
});
const TenantQuery = Type.Object({ tenant: Tenant });
const Duration = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 32, description }));
const TAGS = ['keys'];

/** 201 with the new key, where to find it, and no caching of the secret anywhere on the way. */
function issued(reply: FastifyReply, result: IssuedKeyDto): IssuedKeyDto {
  reply.header('cache-control', 'no-store');
  reply.header('location', `/v1/admin/keys/${result.key.id}`);
  reply.code(201);
  return result;
}

export function keyRoutes(table: RouteTable, deps: ServerDeps): void {
  const { keys } = deps.services;
  table.add({
    method: 'POST',
    url: '/v1/admin/keys',
    scope: 'keys:admin',
    summary: 'Create a managed API key; the answer holds its secret, shown only this once',
    tags: TAGS,
    errors: ['conflict'],
    schema: {
      operationId: 'createApiKey',
      querystring: TenantQuery,
      body: Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 64, description: 'The principal the key signs in as: 1–64 letters, digits or _.@-' }),
          roles: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
            minItems: 1,
            maxItems: 32,
            description: 'Roles (admin, operator, service, reviewer, viewer), raw scopes, task roles (`role:<name>`)',
          }),
          expires_in: Duration('How long the key works (`90d`, `12h`; at most 3650d); default: until revoked'),
        },
        { additionalProperties: false },
      ),
      response: { 201: IssuedKeySchema },
    },
    handler: async (request, reply, principal) =>
      issued(
        reply,
        await keys.create(principal, { name: request.body.name, roles: request.body.roles, tenant: request.query.tenant, expiresIn: request.body.expires_in }),
      ),
  });

  table.add({
    method: 'GET',
    url: '/v1/admin/keys',
    scope: 'keys:admin',
    summary: 'List managed API keys, newest first (never their secrets)',
    tags: TAGS,
    errors: [],
    schema: {
      operationId: 'listApiKeys',
      querystring: Type.Object({
        tenant: Tenant,
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only keys of this name (its current key and the ones it replaced)' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: ApiKeyPageSchema },
    },
    handler: (request, _reply, principal) => {
      const q = request.query;
      return keys.list(principal, { tenant: q.tenant, name: q.name, limit: q.limit ?? 100, cursor: q.cursor });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/admin/keys/:id',
    scope: 'keys:admin',
    summary: 'Get a managed API key by id, secret prefix or name',
    tags: TAGS,
    errors: ['not_found'],
    schema: { operationId: 'getApiKey', params: KeyRef, querystring: TenantQuery, response: { 200: ApiKeySchema } },
    handler: (request, _reply, principal) => keys.get(principal, request.params.id, request.query.tenant),
  });

  table.add({
    method: 'POST',
    url: '/v1/admin/keys/:id/revoke',
    scope: 'keys:admin',
    summary: 'Revoke a key (by name: every key of the name not revoked yet); every API process refuses it within seconds',
    tags: TAGS,
    errors: ['not_found', 'conflict'],
    schema: {
      operationId: 'revokeApiKey',
      params: KeyRef,
      querystring: TenantQuery,
      body: Type.Object({}, { additionalProperties: false }),
      response: { 200: RevokedKeysSchema },
    },
    handler: (request, _reply, principal) => keys.revoke(principal, request.params.id, request.query.tenant),
  });

  table.add({
    method: 'POST',
    url: '/v1/admin/keys/:id/rotate',
    scope: 'keys:admin',
    summary: 'Replace a key by a new secret under the same name; the old one works for a grace period',
    tags: TAGS,
    errors: ['not_found', 'conflict'],
    schema: {
      operationId: 'rotateApiKey',
      params: KeyRef,
      querystring: TenantQuery,
      body: Type.Object(
        {
          grace: Duration('How long the replaced key keeps working (default 24h, at most 30d; `0s`: it stops at once)'),
          expires_in: Duration('How long the new key works (default: as long as the replaced key was given)'),
        },
        { additionalProperties: false },
      ),
      response: { 201: IssuedKeySchema },
    },
    handler: async (request, reply, principal) =>
      issued(
        reply,
        await keys.rotate(principal, request.params.id, { tenant: request.query.tenant, grace: request.body.grace, expiresIn: request.body.expires_in }),
      ),
  });
}
