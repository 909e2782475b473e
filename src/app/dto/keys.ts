/** What the API returns for managed API keys (`/v1/admin/keys`), and the record → DTO mapping. Never the secret's hash. */
import { Type, type Static } from 'typebox';
import type { ApiKeyRecord } from '../../types.js';
import { iso, Nullable, Time } from './common.js';

/** Where a key stands at a given time. */
export const KEY_STATUSES = ['active', 'grace', 'rotated', 'expired', 'revoked'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export const ApiKeySchema = Type.Object(
  {
    id: Type.String({ description: 'key_<26 chars>; the secret starts with agk_<the same 26 chars>_' }),
    tenant_id: Type.String(),
    name: Type.String({ description: 'The principal the key signs in as; runs it starts are recorded as its own' }),
    roles: Type.Array(Type.String(), { description: 'Roles, raw scopes and task roles (`role:<name>`) granted' }),
    prefix: Type.String({ description: 'The public start of the secret (agk_<26 chars>), to recognise a key in a leak report' }),
    status: Type.Enum([...KEY_STATUSES], {
      description:
        'active; grace (replaced by a rotate, works until grace_until); rotated (replaced, grace over); expired (past expires_at); revoked. Only active and grace keys sign in',
    }),
    created_at: Time,
    created_by: Type.String(),
    expires_at: Nullable(Time),
    last_used_at: Nullable(Type.String({ format: 'date-time', description: 'Recorded at most once a minute per API process' })),
    revoked_at: Nullable(Time),
    revoked_by: Nullable(Type.String()),
    rotated_from: Nullable(Type.String({ description: 'The key this one replaced' })),
    replaced_by: Nullable(Type.String({ description: 'The key that replaced this one' })),
    grace_until: Nullable(Type.String({ format: 'date-time', description: 'When this replaced key stops working' })),
  },
  { title: 'ApiKey' },
);
export type ApiKeyDto = Static<typeof ApiKeySchema>;

export const ApiKeyPageSchema = Type.Object({ items: Type.Array(ApiKeySchema), next_cursor: Nullable(Type.String()) }, { title: 'ApiKeyPage' });
export type ApiKeyPageDto = Static<typeof ApiKeyPageSchema>;

export const IssuedKeySchema = Type.Object(
  {
    key: ApiKeySchema,
    secret: Type.String({ description: 'The key to send (Authorization: Bearer …). Shown only in this answer: it is not stored and cannot be shown again' }),
    previous: Type.Optional(ApiKeySchema),
  },
  { title: 'IssuedApiKey', description: 'A new key and its secret; after a rotate, `previous` is the key it replaced' },
);
export type IssuedKeyDto = Static<typeof IssuedKeySchema>;

export const RevokedKeysSchema = Type.Object(
  { revoked: Type.Array(ApiKeySchema, { description: 'The keys this request revoked' }) },
  { title: 'RevokedApiKeys' },
);
export type RevokedKeysDto = Static<typeof RevokedKeysSchema>;

export function keyStatus(k: ApiKeyRecord, now: number): KeyStatus {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  if (k.replacedBy !== null) return k.graceUntil !== null && k.graceUntil > now ? 'grace' : 'rotated';
  return 'active';
}

export function apiKeyDto(k: ApiKeyRecord, now: number): ApiKeyDto {
  return {
    id: k.id,
    tenant_id: k.tenantId,
    name: k.name,
    roles: [...k.grants],
    prefix: k.prefix,
    status: keyStatus(k, now),
    created_at: iso(k.createdAt),
    created_by: k.createdBy,
    expires_at: iso(k.expiresAt),
    last_used_at: iso(k.lastUsedAt),
    revoked_at: iso(k.revokedAt),
    revoked_by: k.revokedBy,
    rotated_from: k.rotatedFrom,
    replaced_by: k.replacedBy,
    grace_until: iso(k.graceUntil),
  };
}
