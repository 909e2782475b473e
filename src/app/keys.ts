/**
 * Managed API keys (docs/security.md#managed-api-keys): created, listed, revoked and rotated by
 * admins over `/v1/admin/keys` and by `agentry keys` on the store, and used by the server to
 * sign requests in (`authenticate`, through the cache in `key-cache.ts`). A key belongs to one
 * tenant; a caller scoped to a tenant manages that tenant's keys only (another tenant's key is
 * `not_found`, naming another tenant is `forbidden`). Every change is an audit entry
 * (`key.create`, `key.revoke`, `key.rotate`, target `key:<tenant>/<name>`) without the secret,
 * which is returned once and kept nowhere.
 *
 * Roles and scopes are the server's (`server/scopes.ts`); it hands in `checkGrants`, so a key is
 * granted exactly what `AGENTRY_API_KEYS` could grant.
 */
import { parseDuration } from '../lib/duration.js';
import { AgentryError } from '../lib/errors.js';
import type { Store } from '../store/store.js';
import type { ApiKeyRecord } from '../types.js';
import type { AuditService } from './audit.js';
import { assertVisible, type Caller } from './caller.js';
import { apiKeyDto, type ApiKeyDto, type ApiKeyPageDto, type IssuedKeyDto, type RevokedKeysDto } from './dto/keys.js';
import { KeyCache, type KeyAuthentication } from './key-cache.js';
import { keyIdOfRef, newKeySecret } from './key-secrets.js';

/** The problems with a list of grants (an unknown role or scope), as `AGENTRY_API_KEYS` parsing reports them; none: valid. */
export type GrantChecker = (grants: readonly string[]) => string[];

export interface KeysDeps {
  store: Store;
  audit: AuditService;
  checkGrants: GrantChecker;
  /** The tenant of keys created without one (the deployment's tenant). */
  defaultTenant?: string;
  now?: () => number;
}

export interface CreateKeyInput {
  name: string;
  /** The tenant the key acts in; default: the caller's, or the deployment's. */
  tenant?: string | undefined;
  roles: readonly string[];
  /** How long the key works (`90d`); default: until revoked. */
  expiresIn?: string | undefined;
}

export interface RotateKeyInput {
  /** The tenant a key given by name is looked up in (as for `create`). */
  tenant?: string | undefined;
  /** How long the replaced key keeps working (default 24h, at most 30d; `0s` ends it at once). */
  grace?: string | undefined;
  /** How long the new key works; default: as long as the replaced one was given. */
  expiresIn?: string | undefined;
}

export interface KeyListQuery {
  tenant?: string | undefined;
  name?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export const DEFAULT_GRACE_MS = 24 * 3_600_000;
const MAX_GRACE_MS = 30 * 24 * 3_600_000;
/** Longest lifetime a key may be given (ten years): past it, "never expires" says what is meant. */
const MAX_LIFETIME_MS = 3_650 * 24 * 3_600_000;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const TENANT = /^[A-Za-z0-9_.@-]{1,64}$/;
/** The tenant no data lives in (reserved for the installation itself). */
const RESERVED_TENANT = 'system';

function checkName(name: string): void {
  if (!NAME.test(name)) throw new AgentryError('invalid_request', `key name '${name.slice(0, 80)}' is not valid: use 1–64 letters, digits or _.@-`);
  if (keyIdOfRef(name) !== undefined || /^(key|agk)_/.test(name)) {
    throw new AgentryError('invalid_request', `key name '${name}' is not valid: names may not start with key_ or agk_ (those are key ids)`);
  }
}

function checkTenant(tenant: string): void {
  if (!TENANT.test(tenant)) throw new AgentryError('invalid_request', `tenant '${tenant.slice(0, 80)}' is not valid: use 1–64 letters, digits or _.@-`);
  if (tenant === RESERVED_TENANT) throw new AgentryError('invalid_request', `tenant '${RESERVED_TENANT}' is reserved: no key can act in it`);
}

/** Milliseconds of a duration option (`90d`), or a clear error naming the option. */
function durationOf(text: string, option: string, allowZero: boolean): number {
  let ms: number;
  try {
    ms = parseDuration(/^\d+$/.test(text) ? Number(text) : text);
  } catch (error) {
    throw new AgentryError('invalid_request', `${option}: ${(error as Error).message}`);
  }
  if (ms === 0 && !allowZero) throw new AgentryError('invalid_request', `${option} must be longer than 0`);
  if (ms > MAX_LIFETIME_MS) throw new AgentryError('invalid_request', `${option} must be at most 3650d; leave it out for a key that does not expire`);
  return ms;
}

export class KeysService {
  private readonly cache: KeyCache;
  private readonly now: () => number;
  private readonly defaultTenant: string;

  constructor(private readonly deps: KeysDeps) {
    this.now = deps.now ?? Date.now;
    this.defaultTenant = deps.defaultTenant ?? 'default';
    this.cache = new KeyCache(deps.store, this.now);
  }

  /** Signs a presented `agk_…` key in (the server's `AuthSettings.managedKeys`). */
  authenticate(secret: string): Promise<KeyAuthentication> {
    return this.cache.authenticate(secret);
  }

  /** Keys that can sign in now (a server with auth on needs one of these, a bootstrap key or OIDC). */
  usableCount(): Promise<number> {
    return this.deps.store.countUsableApiKeys(this.now());
  }

  /**
   * The tenant a request names, checked against the caller: one scoped to a tenant may name only
   * its own (`forbidden` otherwise). Undefined when neither names one (a caller of every tenant).
   */
  private scope(caller: Caller, tenant: string | undefined): string | undefined {
    if (tenant !== undefined) checkTenant(tenant);
    if (caller.tenantId === undefined || tenant === undefined || tenant === caller.tenantId) return tenant ?? caller.tenantId;
    throw new AgentryError('forbidden', `a key of tenant ${caller.tenantId} manages only that tenant's keys, not those of ${tenant}`);
  }

  async create(caller: Caller, input: CreateKeyInput): Promise<IssuedKeyDto> {
    checkName(input.name);
    if (input.tenant !== undefined) checkTenant(input.tenant);
    const tenant = input.tenant ?? caller.tenantId ?? this.defaultTenant;
    return this.deps.audit.audited(
      caller,
      'key.create',
      `key:${tenant}/${input.name}`,
      async () => {
        this.scope(caller, tenant);
        const grants = this.grants(input.roles);
        const now = this.now();
        const expiresAt = input.expiresIn === undefined ? null : now + durationOf(input.expiresIn, 'expires', false);
        const made = newKeySecret(now);
        const record: ApiKeyRecord = {
          id: made.id,
          tenantId: tenant,
          name: input.name,
          grants,
          secretHash: made.hash,
          prefix: made.prefix,
          createdAt: now,
          createdBy: caller.name,
          expiresAt,
          revokedAt: null,
          revokedBy: null,
          lastUsedAt: null,
          rotatedFrom: null,
          replacedBy: null,
          graceUntil: null,
          updatedAt: now,
        };
        await this.deps.store.insertApiKey(record);
        this.cache.invalidate();
        return { key: apiKeyDto(record, now), secret: made.secret };
      },
      (issued) => ({ key_id: issued.key.id, roles: issued.key.roles, expires_at: issued.key.expires_at }),
    );
  }

  /** Keys newest first (revoked and replaced ones too, with their status); a tenant's own for a caller scoped to one. */
  async list(caller: Caller, query: KeyListQuery): Promise<ApiKeyPageDto> {
    const tenant = this.scope(caller, query.tenant);
    if (query.name !== undefined) checkName(query.name);
    const page = await this.deps.store.listApiKeys({
      limit: query.limit,
      ...(tenant === undefined ? {} : { tenantId: tenant }),
      ...(query.name === undefined ? {} : { name: query.name }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    const now = this.now();
    return { items: page.items.map((k) => apiKeyDto(k, now)), next_cursor: page.nextCursor };
  }

  /** A key by id (`key_…`), by its public prefix (`agk_…`), or by name in the tenant (its newest key that is not revoked). */
  async get(caller: Caller, ref: string, tenant?: string): Promise<ApiKeyDto> {
    const [key] = await this.resolve(caller, ref, tenant);
    return apiKeyDto(key!, this.now());
  }

  /**
   * Revokes a key at once, in every process within seconds. By id: that key; by name: every key
   * of the name not revoked yet (the current one and any still in the grace of a rotate).
   */
  async revoke(caller: Caller, ref: string, tenant?: string): Promise<RevokedKeysDto> {
    const target = await this.target(caller, ref, tenant);
    return this.deps.audit.audited(
      caller,
      'key.revoke',
      target,
      async () => {
        const keys = await this.resolve(caller, ref, tenant);
        const live = keys.filter((k) => k.revokedAt === null);
        if (live.length === 0) throw new AgentryError('conflict', `key ${keys[0]!.id} was already revoked`);
        const revoked = await this.deps.store.revokeApiKeys(
          live.map((k) => k.id),
          caller.name,
        );
        this.cache.invalidate();
        const now = this.now();
        return { revoked: revoked.map((k) => apiKeyDto(k, now)) };
      },
      (result) => ({ key_ids: result.revoked.map((k) => k.id) }),
    );
  }

  /**
   * A new secret under the same name, tenant and grants; the replaced key keeps working for the
   * grace period (default 24h), so clients can move over without an outage (AUTH-13).
   */
  async rotate(caller: Caller, ref: string, input: RotateKeyInput = {}): Promise<IssuedKeyDto> {
    const target = await this.target(caller, ref, input.tenant);
    return this.deps.audit.audited(
      caller,
      'key.rotate',
      target,
      async () => {
        const graceMs = input.grace === undefined ? DEFAULT_GRACE_MS : durationOf(input.grace, 'grace', true);
        if (graceMs > MAX_GRACE_MS) throw new AgentryError('invalid_request', 'grace must be at most 30d: a long grace defeats the rotation');
        const expiresInMs = input.expiresIn === undefined ? undefined : durationOf(input.expiresIn, 'expires', false);
        const found = await this.resolve(caller, ref, input.tenant);
        // By name: the current key (a replaced one still in its grace may be listed too).
        const old = found.find((k) => k.replacedBy === null) ?? found[0];
        if (!old || old.revokedAt !== null) throw new AgentryError('conflict', `key ${old?.id ?? ref} is revoked: create a new key instead`);
        if (old.replacedBy !== null) throw new AgentryError('conflict', `key ${old.id} was already replaced by ${old.replacedBy}: rotate that one`);
        const now = this.now();
        const made = newKeySecret(now);
        const lifetime = expiresInMs ?? (old.expiresAt === null ? undefined : old.expiresAt - old.createdAt);
        const next: ApiKeyRecord = {
          ...old,
          id: made.id,
          secretHash: made.hash,
          prefix: made.prefix,
          createdAt: now,
          createdBy: caller.name,
          expiresAt: lifetime === undefined ? null : now + lifetime,
          lastUsedAt: null,
          rotatedFrom: old.id,
          replacedBy: null,
          graceUntil: null,
          updatedAt: now,
        };
        // The old key never outlives its own expiry.
        const graceUntil = Math.min(now + graceMs, old.expiresAt ?? Number.POSITIVE_INFINITY);
        if (!(await this.deps.store.rotateApiKey(old.id, graceUntil, next))) {
          throw new AgentryError('conflict', `key ${old.id} was revoked or rotated meanwhile; look at it again`);
        }
        this.cache.invalidate();
        const previous = { ...old, replacedBy: next.id, graceUntil, updatedAt: now };
        return { key: apiKeyDto(next, now), secret: made.secret, previous: apiKeyDto(previous, now) };
      },
      (issued) => ({ key_id: issued.key.id, previous_key_id: issued.previous?.id ?? null, grace_until: issued.previous?.grace_until ?? null }),
    );
  }

  /** The grants of a new key, checked; `tenant:` is not a grant of a managed key (its tenant is its own). */
  private grants(roles: readonly string[]): string[] {
    const grants = [...new Set(roles.map((r) => r.trim()).filter((r) => r !== ''))];
    if (grants.length === 0) throw new AgentryError('invalid_request', 'a key needs at least one role or scope (admin, operator, service, reviewer, viewer)');
    const problems = grants.some((g) => g.startsWith('tenant:')) ? ["'tenant:<id>' is not a grant of a managed key: give its tenant with tenant"] : [];
    problems.push(...this.deps.checkGrants(grants));
    if (problems.length > 0) {
      throw new AgentryError('invalid_request', `invalid roles: ${problems.join('; ')}`, { details: { problems } });
    }
    return grants;
  }

  /** The audit target of a request naming `ref`: `key:<tenant>/<name>` when the key is found, else what was asked for. */
  private async target(caller: Caller, ref: string, tenant: string | undefined): Promise<string> {
    try {
      const [key] = await this.resolve(caller, ref, tenant);
      return `key:${key!.tenantId}/${key!.name}`;
    } catch {
      return `key:${tenant ?? caller.tenantId ?? this.defaultTenant}/${ref.slice(0, 80)}`;
    }
  }

  /**
   * The keys `ref` names, visible to the caller: one by id or prefix, or by name every key of
   * the name not revoked yet, newest (the current one) first. `not_found` when there is none.
   */
  private async resolve(caller: Caller, ref: string, tenant: string | undefined): Promise<ApiKeyRecord[]> {
    const scoped = this.scope(caller, tenant);
    const id = keyIdOfRef(ref);
    if (id !== undefined) {
      const key = await this.deps.store.getApiKey(id);
      if (!key || (scoped !== undefined && key.tenantId !== scoped)) throw new AgentryError('not_found', `key ${ref} not found`);
      assertVisible(caller, key.tenantId, `key ${ref}`);
      return [key];
    }
    checkName(ref);
    const where = scoped ?? this.defaultTenant;
    const keys = await this.deps.store.unrevokedApiKeys(where, ref);
    if (keys.length === 0) throw new AgentryError('not_found', `tenant ${where} has no key named '${ref}' that is not revoked`);
    return keys;
  }
}
