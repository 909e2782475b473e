/**
 * Who calls a service: an API key (the server's principal) or the CLI's user on the local
 * store. Services scope what they read and change by it here, once, so the HTTP API and the
 * CLI cannot drift apart on who sees what.
 */
import { AgentryError } from '../lib/errors.js';
import type { RunRecord } from '../types.js';

/** Which of its tenant's runs a caller reaches: those it started (`RunRecord.createdBy`), or all. */
export type RunReach = 'own' | 'all';

/**
 * How far a caller reaches among runs, to read them (get, list, events, attempts, items) and to
 * act on them (cancel, retry, signal). An API key gets `all` from the `runs:read:all` /
 * `runs:write:all` scopes; without them it reaches only the runs it started.
 */
export interface RunAccess {
  read: RunReach;
  write: RunReach;
}

/** Every run, to read and to act on: operators, and the CLI on its own store. */
export const EVERY_RUN: RunAccess = { read: 'all', write: 'all' };

export interface Caller {
  /** The key's name (or the CLI user's): recorded as who decided a task or cancelled a run. */
  name: string;
  /** Roles and raw scopes the key was given; a task's `role:` is matched against these. */
  roles: readonly string[];
  /**
   * The tenant the caller acts in: every read and write is scoped to it. Every caller of the
   * server has one (see `server/tenancy.ts`); only the CLI's user on its own store may have none,
   * and then reads every tenant (`agentry … --tenant <id>` narrows it).
   */
  tenantId?: string;
  /**
   * May act in any tenant (bootstrap `admin` keys without `tenant:`, the break-glass key, the
   * CLI on its own store): the server let it pick `tenantId`; the audit log also shows it the
   * installation's own entries (no tenant).
   */
  systemAdmin?: boolean;
  /** Which runs the caller may read and act on (see `assertRunAccess`). */
  runAccess: RunAccess;
  /** The HTTP request's id (`X-Request-Id`), recorded in the audit log; none on the CLI's local store. */
  requestId?: string;
  /** The client's address as the server sees it (after trusted proxies), recorded in the audit log. */
  clientIp?: string;
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
 * Checks that the caller may `read` or `write` (cancel, retry, signal) this run: it is in the
 * caller's tenant, and the caller started it or reaches every run. A run the caller may not
 * read is `not_found`, exactly like a missing one, so another key's runs do not leak (their
 * ids neither); a run it may read but not act on is `forbidden`, naming the scope it lacks. A
 * run without an owner (stored before owners were recorded) is reached only with `all`.
 */
export function assertRunAccess(caller: Caller, run: Pick<RunRecord, 'id' | 'tenantId' | 'createdBy'>, access: keyof RunAccess): void {
  assertVisible(caller, run.tenantId, `run ${run.id}`);
  const own = run.createdBy !== null && run.createdBy === caller.name;
  const reads = own || caller.runAccess.read === 'all';
  const writes = own || caller.runAccess.write === 'all';
  if (access === 'read' ? reads : writes) return;
  if (!reads) throw new AgentryError('not_found', `run ${run.id} not found`);
  throw new AgentryError('forbidden', `run ${run.id} was started by another caller; acting on it needs the scope runs:write:all`, {
    details: { required_scope: 'runs:write:all' },
  });
}

/** The filter of a run listing: the caller's tenant, and its own runs unless it reads every run. */
export function runFilter(caller: Caller): { tenantId?: string; createdBy?: string } {
  return { ...tenantFilter(caller), ...(caller.runAccess.read === 'all' ? {} : { createdBy: caller.name }) };
}

/**
 * The CLI's user on the project's own store. Local access to the store is operator access:
 * the user decides tasks as `admin`, reads every tenant (or the one `--tenant` names) and acts
 * on every run.
 */
export function localOperator(env: NodeJS.ProcessEnv, tenantId?: string): Caller {
  return { name: env.USER ?? 'cli', roles: ['admin'], runAccess: EVERY_RUN, systemAdmin: true, ...(tenantId === undefined ? {} : { tenantId }) };
}
