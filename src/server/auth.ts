/**
 * Who a request is, and whether it may do what it asks: a bootstrap key (`bootstrap-keys.ts`),
 * a managed key of the database (`agk_…`, through the app's keys service), a JWT of the OIDC
 * issuer (`oidc.ts`) or, on the gateway routes, a worker's internal token (`internal-auth.ts`).
 * What each role may do is `scopes.ts`.
 *
 * A key's name is its principal: the runs it starts are recorded as its own, and without
 * `runs:read:all` / `runs:write:all` it reads and acts on only those (`app/caller.ts`).
 *
 * Tenants: a key acts in the tenant its `tenant:<id>` grant names, else in the deployment's
 * tenant (`AGENTRY_TENANT`). System admins — bootstrap keys with role `admin` and no `tenant:`
 * grant, and the break-glass key — may act in another tenant by naming it (`tenancy.ts`).
 */
import { hash } from 'node:crypto';
import type { Caller } from '../app/caller.js';
import type { KeyAuthentication } from '../app/key-cache.js';
import { AgentryError } from '../lib/errors.js';
import { isLoopback } from '../lib/address-list.js';
import { DEFAULT_TENANT, tenantIdProblem } from '../lib/tenant.js';
import type { InternalCall, InternalTokenVerifier } from '../gateway/internal-token.js';
import { internalIdentity, internalVerifier, presentedInternalToken } from './internal-auth.js';
import { looksLikeJwt, OidcVerifier, oidcSettings, parseRoleMap, type OidcOptions } from './oidc.js';
import { breakGlassKey, MANAGED_KEY_PREFIX, parseApiKeys, type ApiKey } from './bootstrap-keys.js';
import { grantsOf, runAccessOf, SCOPES, type Scope } from './scopes.js';

/** Who made a request: the caller the application services scope their answers to, with its scopes. */
export interface Principal extends Caller {
  name: string;
  scopes: ReadonlySet<Scope>;
  /**
   * The key's grants as configured (roles, raw scopes, task roles as `role:<name>`): who may
   * decide a human task is matched against these (a task's `role:`), not against scopes.
   */
  roles: readonly string[];
  /**
   * The tenant the request acts in: the credential's own (a key's `tenant:` grant, a token's
   * tenant claim, else the deployment's tenant), or for a system admin the one it named with
   * `?tenant=` / `X-Agentry-Tenant`. Services scope every read and write by it.
   */
  tenantId: string;
  /** May act in any tenant by naming it: bootstrap `admin` keys without `tenant:`, the break-glass key, auth off. */
  systemAdmin: boolean;
  /**
   * How the caller signed in: an API key, a JWT of the OIDC issuer, or an internal service token
   * of a worker or API process (absent with auth off).
   */
  via?: 'api_key' | 'oidc' | 'internal';
  /** When the credential stops working: a JWT's `exp`, a managed key's expiry or rotation grace; absent for keys that do not expire. */
  expiresAt?: Date;
  /** The id of the managed key (`key_…`) the caller signed in with. */
  keyId?: string;
  /** An internal service token's call: the tenant, run and step it was minted for, and its id (`jti`). */
  internal?: InternalCall & { tokenId: string };
}

export interface AuthSettings {
  /** False only for a loopback dev server (`--no-auth` / `AGENTRY_AUTH=off`). */
  enabled: boolean;
  /** The deployment's tenant (`AGENTRY_TENANT`): of keys without `tenant:`, tokens without a tenant claim, and auth off. */
  tenant: string;
  keys: readonly ApiKey[];
  /** The break-glass key (`AGENTRY_ADMIN_API_KEY`), a system admin named `admin`. */
  adminKey?: ApiKey;
  /** Sign-in with JWTs of one OIDC issuer (`AGENTRY_OIDC_ISSUER`), when configured. */
  oidc?: OidcVerifier;
  /** The managed keys (`agk_…`) of the database: the app's keys service (`buildApp` plugs it in). */
  managedKeys?: ManagedKeys;
  /** Verifies internal service tokens (`AGENTRY_INTERNAL_SECRET`); undefined: none are accepted. */
  internal?: InternalTokenVerifier;
  /**
   * Multi-tenant mode (`AGENTRY_TENANCY=multi`): nothing falls back to the deployment's tenant,
   * so a system admin names the tenant of every tenant-scoped request (`tenancy.ts`).
   */
  multiTenant?: boolean;
}

/** Signs in a managed key (`app/keys.ts` implements it on the keys table). */
export interface ManagedKeys {
  authenticate(secret: string): Promise<KeyAuthentication>;
  /** Keys that can sign in now. */
  usableCount(): Promise<number>;
}

/**
 * The auth settings a server may start with: auth off only on a loopback bind, and auth on
 * needs at least one key or an OIDC issuer. With an issuer, the role map's grants are checked
 * like a key's, and no key may look like a JWT (a JWT-shaped bearer value is always checked as one).
 */
export function authSettings(options: {
  enabled: boolean;
  host: string;
  apiKeys: string | undefined;
  oidc?: OidcOptions | undefined;
  /** `AGENTRY_ADMIN_API_KEY`, the break-glass key. */
  adminApiKey?: string | undefined;
  /** The deployment's tenant (`AGENTRY_TENANT`, default `default`). */
  tenant?: string | undefined;
  /** `AGENTRY_INTERNAL_SECRET` and, during a rotation, `AGENTRY_INTERNAL_SECRET_PREVIOUS`: internal service tokens. */
  internalSecret?: string | undefined;
  internalSecretPrevious?: string | undefined;
  /** `AGENTRY_TENANCY=multi`: refuse every way of falling back to the deployment's tenant. */
  multiTenant?: boolean | undefined;
}): AuthSettings {
  const keys = parseApiKeys(options.apiKeys);
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const tenantProblem = tenantIdProblem(tenant);
  if (tenantProblem !== undefined) throw new AgentryError('invalid_request', `invalid AGENTRY_TENANT: ${tenantProblem}`);
  const adminKey = options.adminApiKey === undefined ? undefined : breakGlassKey(options.adminApiKey, keys, options.oidc !== undefined);
  const internal = internalVerifier(options.internalSecret, options.internalSecretPrevious);
  const base = {
    tenant,
    keys,
    ...(adminKey ? { adminKey } : {}),
    ...(options.multiTenant === true ? { multiTenant: true } : {}),
    ...(internal ? { internal } : {}),
  };
  if (options.multiTenant === true) assertMultiTenant(options, keys);
  if (!options.enabled) {
    if (!isLoopback(options.host)) {
      throw new AgentryError(
        'invalid_request',
        `auth can be turned off only on a loopback address; the server binds ${options.host} (remove --no-auth / AGENTRY_AUTH=off, or bind 127.0.0.1)`,
      );
    }
    return { enabled: false, ...base };
  }
  const oidc = options.oidc === undefined ? undefined : oidcVerifier(options.oidc, options.apiKeys);
  return { enabled: true, ...base, ...(oidc ? { oidc } : {}) };
}

/**
 * Multi-tenant mode refuses what would land a caller in the deployment's tenant without it
 * naming one: auth off, a bootstrap key of no tenant that is not a system admin, OIDC without a
 * tenant claim. Every problem at once, naming keys by name, never by value.
 */
function assertMultiTenant(options: { enabled: boolean; oidc?: OidcOptions | undefined }, keys: readonly ApiKey[]): void {
  const problems: string[] = [];
  if (!options.enabled) problems.push('auth is off: every request would act in the deployment tenant');
  for (const key of keys) {
    if (key.tenantId === undefined && !key.systemAdmin) {
      problems.push(`AGENTRY_API_KEYS entry '${key.name}' has no tenant: grant (only admin keys may be of no tenant, as system admins)`);
    }
  }
  if (options.oidc !== undefined && (options.oidc.tenantClaim ?? '').trim() === '') {
    problems.push('AGENTRY_OIDC_TENANT_CLAIM is not set: every signed-in person would act in the deployment tenant');
  }
  if (problems.length > 0) {
    throw new AgentryError(
      'invalid_request',
      `multi-tenant mode (AGENTRY_TENANCY=multi) refuses this configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):${problems.map((p) => `\n  - ${p}`).join('')}`,
      { details: { problems } },
    );
  }
}

/**
 * Auth on needs a way to sign in: a bootstrap key, an OIDC issuer, the internal secret (workers'
 * tokens), or a managed key in the database that can sign in now (checked when the server starts, `buildApp`). Without any, every
 * request would be 401, so the server refuses to start instead.
 */
export async function assertCanSignIn(settings: AuthSettings): Promise<void> {
  // Internal service tokens are a way in too: a gateway process may serve workers only.
  if (!settings.enabled || settings.keys.length > 0 || settings.oidc !== undefined || settings.internal !== undefined) return;
  if (settings.managedKeys && (await settings.managedKeys.usableCount()) > 0) return;
  throw new AgentryError(
    'invalid_request',
    'auth is on but no API keys are configured: set AGENTRY_API_KEYS=name:key:role (key of 16+ characters) or AGENTRY_OIDC_ISSUER, create a key in the database with `agentry keys create`, or for a local dev server use --no-auth on 127.0.0.1',
  );
}

/** The verifier of `AGENTRY_OIDC_*`; every problem reported at once. */
function oidcVerifier(options: OidcOptions, apiKeys: string | undefined): OidcVerifier {
  const problems: string[] = [];
  const settings = oidcSettings(options, problems);
  for (const [value, grants] of parseRoleMap(options.roleMap, [])) grantsOf(grants, `AGENTRY_OIDC_ROLE_MAP '${value}'`, problems);
  (apiKeys ?? '').split(';').forEach((entry, index) => {
    const key = entry.split(':')[1]?.trim();
    if (key !== undefined && looksLikeJwt(key))
      problems.push(
        `AGENTRY_API_KEYS entry ${index + 1}: the key looks like a JWT (three base64url parts joined by dots); with AGENTRY_OIDC_ISSUER it would be checked as one`,
      );
  });
  if (problems.length > 0 || settings === undefined) {
    throw new AgentryError(
      'invalid_request',
      `invalid OIDC sign-in settings (${problems.length} problem${problems.length === 1 ? '' : 's'}):${problems.map((p) => `\n  - ${p}`).join('')}`,
      {
        details: { problems },
      },
    );
  }
  return new OidcVerifier(settings);
}

/**
 * Who a request is with auth off (a loopback dev server): the operator of the machine, so
 * `admin` in the deployment's tenant, and a system admin (like the CLI on its own store).
 */
function anonymous(settings: AuthSettings): Principal {
  return {
    name: 'anonymous',
    scopes: new Set(SCOPES),
    roles: ['admin'],
    runAccess: runAccessOf(new Set(SCOPES)),
    tenantId: settings.tenant,
    systemAdmin: true,
  };
}

/**
 * The principals of the configured keys (the break-glass key too) by the SHA-256 of the key,
 * built once per settings: a presented key is hashed and looked up, so no comparison ever
 * touches a key itself, and a lookup costs one hash whatever the number of keys. Bootstrap keys
 * change only with the configuration (a restart), so the map never goes stale. The first key
 * listed wins when two are equal, as before.
 */
const bootstrapPrincipals = new WeakMap<AuthSettings, ReadonlyMap<string, Principal>>();

function bootstrapPrincipalsOf(settings: AuthSettings): ReadonlyMap<string, Principal> {
  let map = bootstrapPrincipals.get(settings);
  if (!map) {
    const built = new Map<string, Principal>();
    for (const key of settings.adminKey ? [...settings.keys, settings.adminKey] : settings.keys) {
      const hash = key.hash.toString('hex');
      if (!built.has(hash)) built.set(hash, keyPrincipal(settings, key));
    }
    bootstrapPrincipals.set(settings, (map = built));
  }
  return map;
}

/** The SHA-256 of a presented key, hex (one call, no hash object). */
function sha256Hex(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The principal of the configured key equal to `key` (a fresh copy: callers may spread or change it). */
function bootstrapPrincipal(settings: AuthSettings, key: string): Principal | undefined {
  const found = bootstrapPrincipalsOf(settings).get(sha256Hex(key));
  return found && { ...found };
}

/** The principal of a bootstrap key (or the break-glass key): in its `tenant:` grant's tenant, else the deployment's. */
function keyPrincipal(settings: AuthSettings, key: ApiKey): Principal {
  const { name, scopes, grants, systemAdmin } = key;
  return { name, scopes, roles: grants, tenantId: key.tenantId ?? settings.tenant, systemAdmin, runAccess: runAccessOf(scopes), via: 'api_key' };
}

/**
 * The scopes of a managed key's grants, by the grants list of the keys cache's record: computed
 * once per record, and recomputed when the cache reloads the keys (new records, new lists).
 */
const managedScopes = new WeakMap<readonly string[], { scopes: ReadonlySet<Scope>; runAccess: Principal['runAccess'] }>();

function scopesOfGrants(grants: readonly string[]): { scopes: ReadonlySet<Scope>; runAccess: Principal['runAccess'] } {
  let found = managedScopes.get(grants);
  if (!found) {
    const { scopes } = grantsOf(grants, 'key', []);
    managedScopes.set(grants, (found = { scopes, runAccess: runAccessOf(scopes) }));
  }
  return found;
}

/** The principal of a valid credential: a configured key, or a JWT of the OIDC issuer. Throws `unauthorized` for a wrong one. */
async function principalOf(settings: AuthSettings, credential: string): Promise<Principal> {
  if (settings.oidc && looksLikeJwt(credential)) {
    const identity = await settings.oidc.verify(credential);
    const { scopes } = grantsOf(identity.grants, 'token', []);
    return {
      name: identity.name,
      scopes,
      roles: identity.grants,
      // A token without a tenant claim acts in the deployment's tenant; a signed-in person is never a system admin.
      tenantId: identity.tenantId ?? settings.tenant,
      systemAdmin: false,
      runAccess: runAccessOf(scopes),
      via: 'oidc',
      expiresAt: identity.expiresAt,
    };
  }
  if (settings.managedKeys && credential.startsWith(MANAGED_KEY_PREFIX)) return managedPrincipal(settings.managedKeys, credential);
  const found = bootstrapPrincipal(settings, credential);
  if (!found) throw new AgentryError('unauthorized', 'the API key is not valid');
  return found;
}

/**
 * The principal of a managed key (`agk_…`) of the database. A refused one is 401 with the same
 * message as any wrong key; why (revoked, expired, …) is in `details` for the server's log only.
 */
async function managedPrincipal(keys: ManagedKeys, credential: string): Promise<Principal> {
  const result = await keys.authenticate(credential);
  if (!result.ok) {
    throw new AgentryError('unauthorized', 'the API key is not valid', { details: { key_id: result.keyId ?? null, refused: result.reason } });
  }
  const { key } = result;
  const { scopes, runAccess } = scopesOfGrants(key.grants);
  return {
    name: key.name,
    scopes,
    roles: key.grants,
    tenantId: key.tenantId,
    systemAdmin: false,
    runAccess,
    via: 'api_key',
    keyId: key.keyId,
    ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
  };
}

/**
 * Who the request is, without requiring anything: undefined for no credential or a wrong one.
 * For open routes that show more to some callers (`/readyz`'s checks).
 */
export async function identify(settings: AuthSettings, headers: Record<string, string | string[] | undefined>): Promise<Principal | undefined> {
  if (!settings.enabled) return anonymous(settings);
  const credential = presentedKey(headers);
  if (credential === undefined || credential === '') return undefined;
  try {
    return await principalOf(settings, credential);
  } catch {
    return undefined;
  }
}

/** The key in `Authorization: Bearer <key>` or `X-Api-Key: <key>`, if any. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match?.[1] ?? '';
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/** Any valid credential, whatever its scopes (`GET /v1/auth/whoami`). */
export const AUTHENTICATED = 'authenticated';
/** What a route requires: a scope, any valid credential (`AUTHENTICATED`), or nothing (`null`). */
export type RouteScope = Scope | typeof AUTHENTICATED | null;

/**
 * Who the request is, and whether it may use `scope`. Throws `unauthorized` (no or wrong
 * credential), `forbidden` (naming the missing scope) or `auth_unavailable` (the OIDC issuer's
 * keys could not be fetched).
 */
export async function authorize(
  settings: AuthSettings,
  headers: Record<string, string | string[] | undefined>,
  scope: Scope | typeof AUTHENTICATED,
  /** The route accepts internal service tokens (`RouteDef.internalTokens`). */
  options: { internalTokens?: boolean } = {},
): Promise<Principal> {
  // Checked first, and with auth off too: a request that carries one is judged by it alone.
  const internalToken = presentedInternalToken(headers);
  if (internalToken !== undefined) {
    const route = { accepts: options.internalTokens === true, alsoPresented: presentedKey(headers) !== undefined };
    return withScope(internalPrincipal(await internalIdentity(settings.internal, internalToken, route)), scope);
  }
  if (!settings.enabled) return anonymous(settings);
  const credential = presentedKey(headers);
  if (credential === undefined || credential === '') {
    throw new AgentryError('unauthorized', 'a valid API key or token is required: send Authorization: Bearer <key or token> or X-Api-Key: <key>');
  }
  return withScope(await principalOf(settings, credential), scope);
}

/** `principal` when it holds `scope`; `forbidden` naming the missing scope otherwise. */
function withScope(principal: Principal, scope: Scope | typeof AUTHENTICATED): Principal {
  if (scope !== AUTHENTICATED && !principal.scopes.has(scope)) {
    throw new AgentryError('forbidden', `missing required scope: ${scope}`, { details: { required_scope: scope, principal: principal.name } });
  }
  return principal;
}

/** The only scope an internal service token carries. */
const INTERNAL_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['gateway:use']);

/**
 * The principal of a verified internal service token: `internal:<worker id>` in the token's
 * tenant, `gateway:use` only, never a system admin (it cannot name another tenant).
 */
function internalPrincipal(identity: Awaited<ReturnType<typeof internalIdentity>>): Principal {
  const { name, tenantId, runId, stepId, tokenId, expiresAt } = identity;
  return {
    name,
    scopes: INTERNAL_SCOPES,
    roles: [],
    tenantId,
    systemAdmin: false,
    runAccess: runAccessOf(INTERNAL_SCOPES),
    via: 'internal',
    expiresAt,
    internal: { tenantId, tokenId, ...(runId === undefined ? {} : { runId }), ...(stepId === undefined ? {} : { stepId }) },
  };
}
