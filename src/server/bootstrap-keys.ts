/**
 * Bootstrap keys: `AGENTRY_API_KEYS=name:key:role[,role];name2:key2:role` (a role may also be
 * given as raw scopes: `ci:…:runs:read,runs:write`; a grant `tenant:<id>` binds the key to a
 * tenant) and the break-glass key `AGENTRY_ADMIN_API_KEY`. Only their sha256 is kept; they are
 * compared in constant time (`auth.ts`) and never logged. Every problem is reported at once,
 * naming the entry by position and name, never by its key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AgentryError } from '../lib/errors.js';
import { tenantIdProblem } from '../lib/tenant.js';
import { looksLikeJwt } from './oidc.js';
import { grantsOf, ROLE_SCOPES, ROLES, type Scope } from './scopes.js';

export const MIN_KEY_LENGTH = 16;

/** A grant binding a bootstrap key to a tenant (`tenant:acme`). */
const TENANT_GRANT = 'tenant:';

/** The principal name of the break-glass key (`AGENTRY_ADMIN_API_KEY`). */
export const BREAK_GLASS_NAME = 'admin';

export interface ApiKey {
  name: string;
  /** Roles, raw scopes and task roles (`role:<name>`, kept so) as configured; not the `tenant:` grant. */
  grants: string[];
  scopes: ReadonlySet<Scope>;
  hash: Buffer;
  /** The tenant of a `tenant:<id>` grant; undefined: the deployment's tenant. */
  tenantId?: string;
  /** Role `admin` without a `tenant:` grant, or the break-glass key: may act in every tenant. */
  systemAdmin: boolean;
}

/** What every managed key starts with (`app/key-secrets.ts`); a bootstrap key may not. */
export const MANAGED_KEY_PREFIX = 'agk_';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** An entry of `AGENTRY_API_KEYS` with its key: for a client of the deployment (`agentry smoke --env-file`), never for the server to keep. */
export interface ApiKeyEntry extends Omit<ApiKey, 'hash'> {
  key: string;
}

/**
 * Parses `AGENTRY_API_KEYS`. Every problem is reported at once, naming the entry by position
 * and name, never by its key.
 */
export function parseApiKeys(text: string | undefined): ApiKey[] {
  return parseApiKeyEntries(text).map(({ key, ...entry }) => ({ ...entry, hash: sha256(key) }));
}

/** `AGENTRY_API_KEYS` parsed as {@link parseApiKeys} does, each entry keeping its key. */
export function parseApiKeyEntries(text: string | undefined): ApiKeyEntry[] {
  const keys: ApiKeyEntry[] = [];
  const problems: string[] = [];
  const entries = (text ?? '').split(';').map((e) => e.trim());
  entries.forEach((entry, index) => {
    if (entry === '') return;
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    const name = (first < 0 ? entry : entry.slice(0, first)).trim();
    const label = `entry ${index + 1}${name !== '' && first >= 0 ? ` ('${name}')` : ''}`;
    if (first < 0 || second < 0) {
      problems.push(`${label}: expected name:key:role[,role]`);
      return;
    }
    const key = entry.slice(first + 1, second).trim();
    const grants = entry
      .slice(second + 1)
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== '');
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) problems.push(`${label}: the name must be 1–64 letters, digits or _.@-`);
    if (key.length < MIN_KEY_LENGTH) problems.push(`${label}: the key is shorter than ${MIN_KEY_LENGTH} characters`);
    if (/\s/.test(key)) problems.push(`${label}: the key contains whitespace`);
    if (key.startsWith(MANAGED_KEY_PREFIX)) problems.push(`${label}: the key starts with ${MANAGED_KEY_PREFIX}, which marks managed keys`);
    const tenants = grants.filter((g) => g.startsWith(TENANT_GRANT)).map((g) => g.slice(TENANT_GRANT.length));
    const access = grants.filter((g) => !g.startsWith(TENANT_GRANT));
    if (access.length === 0) problems.push(`${label}: no role or scope given (roles: ${ROLES.join(', ')})`);
    if (tenants.length > 1) problems.push(`${label}: more than one tenant: grant (a key acts in one tenant)`);
    for (const tenant of tenants) {
      const problem = tenantIdProblem(tenant);
      if (problem !== undefined) problems.push(`${label}: tenant:${tenant.slice(0, 80)}: ${problem}`);
    }
    const { held, scopes } = grantsOf(access, label, problems);
    const tenantId = tenants[0];
    keys.push({
      name,
      key,
      grants: held,
      scopes,
      systemAdmin: tenantId === undefined && held.includes('admin'),
      ...(tenantId === undefined ? {} : { tenantId }),
    });
  });
  const seen = new Map<string, string>();
  for (const k of keys) {
    const other = seen.get(k.key);
    if (other !== undefined) problems.push(`entries '${other}' and '${k.name}' use the same key`);
    seen.set(k.key, k.name);
  }
  if (problems.length > 0) {
    throw new AgentryError(
      'invalid_request',
      `invalid AGENTRY_API_KEYS (${problems.length} problem${problems.length === 1 ? '' : 's'}):${problems.map((p) => `\n  - ${p}`).join('')}`,
      {
        details: { problems },
      },
    );
  }
  return keys;
}

/** `AGENTRY_ADMIN_API_KEY` as a key: principal `admin`, role `admin`, a system admin. Its problems are named, never the key. */
export function breakGlassKey(key: string, keys: readonly ApiKey[], withOidc: boolean): ApiKey {
  const problems: string[] = [];
  if (key.length < MIN_KEY_LENGTH) problems.push(`it is shorter than ${MIN_KEY_LENGTH} characters`);
  if (/\s/.test(key)) problems.push('it contains whitespace');
  if (withOidc && looksLikeJwt(key)) problems.push('it looks like a JWT; with AGENTRY_OIDC_ISSUER it would be checked as one');
  const hash = sha256(key);
  const twin = keys.find((k) => timingSafeEqual(k.hash, hash));
  if (twin !== undefined) problems.push(`it is also the key of AGENTRY_API_KEYS entry '${twin.name}'; give the break-glass key its own value`);
  if (problems.length > 0) throw new AgentryError('invalid_request', `invalid AGENTRY_ADMIN_API_KEY: ${problems.join('; ')}`, { details: { problems } });
  return { name: BREAK_GLASS_NAME, grants: ['admin'], scopes: new Set(ROLE_SCOPES.admin), hash, systemAdmin: true };
}
