/**
 * Roles and scopes. `ROLE_SCOPES` is the one table that says what each role may do; every route
 * declares the scope it needs next to its handler (`RouteDef.scope`). Grants — roles, raw scopes
 * and task roles (`role:<name>`) — are turned into scopes here, for bootstrap keys, managed keys
 * and OIDC sign-ins alike.
 */
import type { RunAccess } from '../app/caller.js';

export const SCOPES = [
  'runs:read',
  'runs:write',
  // Reach every run of the tenant, not only the key's own (with runs:read / runs:write); the run
  // services read them through `Caller.runAccess`. The agents' memory routes require them: a
  // thread holds what every key's runs told the agent.
  'runs:read:all',
  'runs:write:all',
  'tasks:read',
  'tasks:write',
  'specs:read',
  'specs:write',
  'tools:read',
  'tools:write',
  // Replace an environment's policy (`PUT /v1/policies/{env}`): admin and operator.
  'policies:write',
  'usage:read',
  'audit:read',
  // The credential inventory: names of secrets and what uses them, never values.
  'credentials:read',
  'metrics:read',
  'gateway:use',
  // Manage the managed API keys (`/v1/admin/keys`): only `admin` holds it.
  'keys:admin',
  // The worker processes: list them, drain one (`/v1/admin/workers`).
  'workers:read',
  'workers:write',
  // Pause and resume claiming fleet-wide (`/v1/admin/maintenance`): only `admin` holds it.
  'maintenance:admin',
  // Read the server's recent log lines (`/v1/admin/logs`): only `admin` holds it.
  'logs:read',
] as const;

export type Scope = (typeof SCOPES)[number];

export const ROLES = ['admin', 'operator', 'service', 'reviewer', 'viewer'] as const;

export type Role = (typeof ROLES)[number];

/** What each built-in role may do. `docs/api.md` shows this table (a test keeps them in step). */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  admin: SCOPES,
  // Everything but the audit log, which belongs to whoever audits the operators, the keys,
  // which only admins hand out, the fleet-wide maintenance switch, and the server's log lines
  // (they name every tenant's runs).
  operator: SCOPES.filter((scope) => scope !== 'audit:read' && scope !== 'keys:admin' && scope !== 'maintenance:admin' && scope !== 'logs:read'),
  service: ['runs:read', 'runs:write', 'specs:read', 'gateway:use'],
  // A reviewer reads the runs whose tasks it decides; a viewer watches the whole deployment.
  reviewer: ['runs:read', 'runs:read:all', 'tasks:read', 'tasks:write'],
  viewer: ['runs:read', 'runs:read:all', 'tasks:read', 'specs:read', 'tools:read', 'usage:read', 'metrics:read'],
};

/** A grant naming a task role (`role:finance`): who may decide tasks for that role; no scopes. */
const TASK_ROLE_GRANT = /^role:[A-Za-z0-9_.-]{1,64}$/;

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * The scopes of a list of grants (roles, raw scopes, task roles `role:<name>`), and the grants
 * kept; a grant that is none of them is a problem named with `label`.
 */
export function grantsOf(grants: readonly string[], label: string, problems: string[]): { held: string[]; scopes: Set<Scope> } {
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
  return { held, scopes };
}

/** The problems with a managed key's grants (the app's `GrantChecker`): what `AGENTRY_API_KEYS` would refuse. */
export function grantProblems(grants: readonly string[]): string[] {
  const problems: string[] = [];
  grantsOf(grants, 'grant', problems);
  return problems.map((p) => p.replace(/^grant: /, ''));
}

/** Which runs a key with these scopes reaches: every run with `runs:*:all`, else the ones it started. */
export function runAccessOf(scopes: ReadonlySet<Scope>): RunAccess {
  return { read: scopes.has('runs:read:all') ? 'all' : 'own', write: scopes.has('runs:write:all') ? 'all' : 'own' };
}
