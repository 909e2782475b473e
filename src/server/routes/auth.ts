/** Who the caller is: `GET /v1/auth/whoami` (any valid API key or token). */
import { Type, type Static } from 'typebox';
import { AUTHENTICATED, type Principal } from '../auth.js';
import { SCOPES } from '../scopes.js';
import type { RouteTable } from '../route.js';

const WhoamiSchema = Type.Object(
  {
    principal: Type.String({
      description: "The caller's name: the key's name, or `oidc:<sub>` for a signed-in person; runs it starts are recorded as its own",
    }),
    via: Type.Union([Type.Literal('api_key'), Type.Literal('oidc'), Type.Null()], { description: 'How the caller signed in; null with auth off' }),
    tenant_id: Type.String({
      description: "The tenant the caller acts in: the credential's own, or the one a system admin named with `?tenant=` / `X-Agentry-Tenant`",
    }),
    system_admin: Type.Boolean({
      description: 'True when the caller may act in any tenant by naming it (bootstrap `admin` keys without `tenant:`, the break-glass key, auth off)',
    }),
    roles: Type.Array(Type.String(), { description: 'Roles, raw scopes and task roles (`role:<name>`) granted' }),
    scopes: Type.Array(Type.String(), { description: 'The scopes those grant' }),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description:
        "When the credential stops working: a token's `exp`, a managed key's expiry (or the end of its grace after a rotate); null for keys that do not expire",
    }),
    key_id: Type.Union([Type.String(), Type.Null()], { description: 'The managed key signed in with (`key_…`); null for bootstrap keys and tokens' }),
  },
  { title: 'Whoami' },
);
type WhoamiDto = Static<typeof WhoamiSchema>;

function whoami(p: Principal): WhoamiDto {
  return {
    principal: p.name,
    // Internal service tokens never reach this route (401 on every route but the gateway's).
    via: p.via === undefined || p.via === 'internal' ? null : p.via,
    tenant_id: p.tenantId,
    system_admin: p.systemAdmin,
    roles: [...p.roles],
    // In the order of `SCOPES`, so the answer is stable.
    scopes: SCOPES.filter((s) => p.scopes.has(s)),
    expires_at: p.expiresAt?.toISOString() ?? null,
    key_id: p.keyId ?? null,
  };
}

export function authRoutes(table: RouteTable): void {
  table.add({
    method: 'GET',
    url: '/v1/auth/whoami',
    scope: AUTHENTICATED,
    deploymentWide: true,
    summary: "The caller's principal, tenant, roles, scopes and credential expiry",
    tags: ['auth'],
    errors: [],
    schema: { operationId: 'whoami', response: { 200: WhoamiSchema } },
    handler: (_request, _reply, principal) => Promise.resolve(whoami(principal)),
  });
}
