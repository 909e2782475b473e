/**
 * Who calls a service: an API key (the server's principal) or the CLI's user on the local
 * store. Services scope what they read and change by it here, once, so the HTTP API and the
 * CLI cannot drift apart on who sees what.
 */
import { AgentryError } from '../lib/errors.js';

export interface Caller {
  /** The key's name (or the CLI user's): recorded as who decided a task or cancelled a run. */
  name: string;
  /** Roles and raw scopes the key was given; a task's `role:` is matched against these. */
  roles: readonly string[];
  /**
   * The tenant the caller is scoped to. Without one (bootstrap keys, the CLI on its own store)
   * the caller reads every tenant.
   */
  tenantId?: string;
}

/**
 * Throws `not_found` when a record belongs to a tenant the caller is not scoped to: another
 * tenant's run or task is reported exactly like a missing one, so its existence does not leak.
 */
export function assertVisible(caller: Caller, tenantId: string, what: string): void {
  if (caller.tenantId !== undefined && tenantId !== caller.tenantId) throw new AgentryError('not_found', `${what} not found`);
}

/** The tenant filter of a listing: the caller's tenant, or none for a caller that reads every tenant. */
export function tenantFilter(caller: Caller): { tenantId?: string } {
  return caller.tenantId === undefined ? {} : { tenantId: caller.tenantId };
}

/**
 * The CLI's user on the project's own store. Local access to the store is operator access:
 * the user decides tasks as `admin` and reads every tenant.
 */
export function localOperator(env: NodeJS.ProcessEnv): Caller {
  return { name: env.USER ?? 'cli', roles: ['admin'] };
}
