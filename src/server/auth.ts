/**
 * API keys, roles and scopes. `ROLE_SCOPES` is the one table that says what each role may
 * do; every route declares the scope it needs next to its handler (`RouteDef.scope`).
 *
 * Keys come from `AGENTRY_API_KEYS=name:key:role[,role];name2:key2:role` (a role may also be
 * given as raw scopes: `ci:…:runs:read,runs:write`). They are compared in constant time
 * (sha256 of both sides, `timingSafeEqual`) and never logged.
 *
 * A key's name is its principal: the runs it starts are recorded as its own, and without
 * `runs:read:all` / `runs:write:all` it reads and acts on only those (`app/caller.ts`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { Caller, RunAccess } from '../app/caller.js';
import { AgentryError } from '../lib/errors.js';

export const SCOPES = [
  'runs:read',
  'runs:write',
  // Reach every run of the tenant, not only the key's own (with runs:read / runs:write). No
  // route requires them; the run services read them through `Caller.runAccess`.
  'runs:read:all',
  'runs:write:all',
  'tasks:read',
  'tasks:write',
  'specs:read',
  'specs:write',
  'tools:read',
  'tools:write',
  'usage:read',
  'audit:read',
  'metrics:read',
  'gateway:use',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['admin', 'operator', 'service', 'reviewer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What each built-in role may do. `docs/api.md` shows this table (a test keeps them in step). */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  admin: SCOPES,
  operator: [
    'runs:read',
    'runs:write',
    'runs:read:all',
    'runs:write:all',
    'tasks:read',
    'tasks:write',
    'specs:read',
    'specs:write',
    'tools:read',
    'tools:write',
    'usage:read',
    'metrics:read',
    'gateway:use',
  ],
  service: ['runs:read', 'runs:write', 'specs:read', 'gateway:use'],
  // A reviewer reads the runs whose tasks it decides; a viewer watches the whole deployment.
  reviewer: ['runs:read', 'runs:read:all', 'tasks:read', 'tasks:write'],
  viewer: ['runs:read', 'runs:read:all', 'tasks:read', 'specs:read', 'tools:read', 'usage:read', 'metrics:read'],
};

export const MIN_KEY_LENGTH = 16;

/** A grant naming a task role (`role:finance`): who may decide tasks for that role; no scopes. */
const TASK_ROLE_GRANT = /^role:[A-Za-z0-9_.-]{1,64}$/;

export interface ApiKey {
  name: string;
  /** Roles, raw scopes and task roles (`role:<name>`, kept so) as configured. */
  grants: string[];
  scopes: ReadonlySet<Scope>;
  hash: Buffer;
}

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
   * The tenant a key is scoped to. Bootstrap keys (`AGENTRY_API_KEYS`) are the deployment's own
   * and have none: they act in the default tenant (`DEFAULT_TENANT`) and read every tenant.
   */
  tenantId?: string;
}

/** The tenant of requests made with a key that is not scoped to one. */
export const DEFAULT_TENANT = 'default';

export interface AuthSettings {
  /** False only for a loopback dev server (`--no-auth` / `AGENTRY_AUTH=off`). */
  enabled: boolean;
  keys: readonly ApiKey[];
}

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Parses `AGENTRY_API_KEYS`. Every problem is reported at once, naming the entry by position
 * and name, never by its key.
 */
export function parseApiKeys(text: string | undefined): ApiKey[] {
  const keys: ApiKey[] = [];
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
    if (grants.length === 0) problems.push(`${label}: no role or scope given (roles: ${ROLES.join(', ')})`);
    const scopes = new Set<Scope>();
    const held: string[] = [];
    for (const grant of grants) {
      if (isRole(grant)) {
        for (const scope of ROLE_SCOPES[grant]) scopes.add(scope);
        held.push(grant);
      } else if (isScope(grant)) {
        scopes.add(grant);
        held.push(grant);
      } else if (TASK_ROLE_GRANT.test(grant)) {
        // `role:finance`: a role a human step or tool server may name (`role:`), granting no scope.
        // Kept with its prefix, so `role:admin` names the task role `admin` and never makes the
        // key the built-in `admin` (a supervisor of every task).
        held.push(grant);
      } else {
        problems.push(`${label}: '${grant}' is neither a role (${ROLES.join(', ')}), a scope (${SCOPES.join(', ')}) nor a task role (role:<name>)`);
      }
    }
    keys.push({ name, grants: held, scopes, hash: sha256(key) });
  });
  const seen = new Map<string, string>();
  for (const k of keys) {
    const hex = k.hash.toString('hex');
    const other = seen.get(hex);
    if (other !== undefined) problems.push(`entries '${other}' and '${k.name}' use the same key`);
    seen.set(hex, k.name);
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

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return false;
  const addr = ipaddr.process(bare);
  return addr.range() === 'loopback';
}

/**
 * The auth settings a server may start with: auth off only on a loopback bind, and auth on
 * needs at least one key.
 */
export function authSettings(options: { enabled: boolean; host: string; apiKeys: string | undefined }): AuthSettings {
  const keys = parseApiKeys(options.apiKeys);
  if (!options.enabled) {
    if (!isLoopback(options.host)) {
      throw new AgentryError(
        'invalid_request',
        `auth can be turned off only on a loopback address; the server binds ${options.host} (remove --no-auth / AGENTRY_AUTH=off, or bind 127.0.0.1)`,
      );
    }
    return { enabled: false, keys };
  }
  if (keys.length === 0) {
    throw new AgentryError(
      'invalid_request',
      'auth is on but no API keys are configured: set AGENTRY_API_KEYS=name:key:role (key of 16+ characters), or for a local dev server use --no-auth on 127.0.0.1',
    );
  }
  return { enabled: true, keys };
}

/** Which runs a key with these scopes reaches: every run with `runs:*:all`, else the ones it started. */
export function runAccessOf(scopes: ReadonlySet<Scope>): RunAccess {
  return { read: scopes.has('runs:read:all') ? 'all' : 'own', write: scopes.has('runs:write:all') ? 'all' : 'own' };
}

/** Who a request is with auth off (a loopback dev server): the operator of the machine, so `admin`. */
const ANONYMOUS: Principal = { name: 'anonymous', scopes: new Set(SCOPES), roles: ['admin'], runAccess: runAccessOf(new Set(SCOPES)) };

/** The configured key equal to `key`, compared with every key (no early exit), each in constant time. */
function keyOf(settings: AuthSettings, key: string): ApiKey | undefined {
  const hash = sha256(key);
  let found: ApiKey | undefined;
  for (const candidate of settings.keys) if (timingSafeEqual(candidate.hash, hash) && found === undefined) found = candidate;
  return found;
}

/**
 * Who the request is, without requiring anything: undefined for no key or a wrong one. For open
 * routes that show more to some callers (`/readyz`'s checks).
 */
export function identify(settings: AuthSettings, headers: Record<string, string | string[] | undefined>): Principal | undefined {
  if (!settings.enabled) return ANONYMOUS;
  const key = presentedKey(headers);
  const found = key === undefined || key === '' ? undefined : keyOf(settings, key);
  return found && { name: found.name, scopes: found.scopes, roles: found.grants, runAccess: runAccessOf(found.scopes) };
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

/**
 * Who the request is, and whether it may use `scope`. Throws `unauthorized` (no or wrong key)
 * or `forbidden` (naming the missing scope).
 */
export function authorize(settings: AuthSettings, headers: Record<string, string | string[] | undefined>, scope: Scope): Principal {
  if (!settings.enabled) return ANONYMOUS;
  const key = presentedKey(headers);
  if (key === undefined || key === '') {
    throw new AgentryError('unauthorized', 'a valid API key is required: send Authorization: Bearer <key> or X-Api-Key: <key>');
  }
  const found = keyOf(settings, key);
  if (!found) throw new AgentryError('unauthorized', 'the API key is not valid');
  if (!found.scopes.has(scope)) {
    throw new AgentryError('forbidden', `missing required scope: ${scope}`, { details: { required_scope: scope, principal: found.name } });
  }
  return { name: found.name, scopes: found.scopes, roles: found.grants, runAccess: runAccessOf(found.scopes) };
}
