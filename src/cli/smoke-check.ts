/**
 * What the checks of `agentry smoke` share: a check's result, the clients and deadline they run
 * with, what they learn from one another (`State`), and how a failure reads. The checks
 * themselves are in `smoke-probes.ts`, `smoke-runs.ts` and `smoke-access.ts`; `smoke.ts` runs
 * them in order.
 */
import { AgentryError } from '../lib/errors.js';
import type { RemoteClient, RunDetailDto, RunDto } from './remote.js';
import type { Sample } from './prometheus-text.js';

/** The checks of the API, in the order they run. */
export const CHECK_NAMES = [
  'livez',
  'readyz',
  'auth-refuses',
  'auth-accepts',
  'openapi',
  'specs',
  'run',
  'checkpoints',
  'cancel',
  'human',
  'viewer-write',
  'audit',
  'credentials',
  'metrics',
] as const;

/** `config` is the check of `--env-file`, made before the others when asked for. */
export type CheckName = (typeof CHECK_NAMES)[number] | 'config';
export type CheckStatus = 'pass' | 'warn' | 'skip' | 'fail';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** What was found, or why the check failed. */
  detail: string;
  duration_ms: number;
  /** The error code of a check that failed with one (`forbidden`, `not_ready`, …). */
  code?: string;
}

/** A check's outcome when it did not fail. */
export interface Outcome {
  status: Exclude<CheckStatus, 'fail'>;
  detail: string;
}

/** A check that found something wrong; `code` when it comes from an error with one (its exit code counts). */
export class CheckFailure extends Error {
  readonly code: string | undefined;

  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/** A key other than the main one: which option gave it, and its client (undefined when none was given). */
export interface RoleKey {
  option: '--viewer-key' | '--reviewer-key';
  client: RemoteClient | undefined;
}

/** The clients and deadline of one smoke check. */
export interface Context {
  /** Sends the main key (`--key`). */
  client: RemoteClient;
  viewer: RoleKey;
  reviewer: RoleKey;
  deadline: AbortSignal;
  timeoutMs: number;
  /** Fail, not warn, when the server has auth off. */
  expectAuth: boolean;
  /** Values no answer may contain (the keys, secrets of the env file): the credentials check looks for them. */
  secrets: readonly string[];
}

export interface Whoami {
  principal: string;
  via: string | null;
  tenant_id: string;
  roles: string[];
  scopes: string[];
}

/** What the checks learn and share. */
export interface State {
  authOff: boolean;
  /** The main key's caller (from `whoami`), once known. */
  who: Whoami | undefined;
  /** `/metrics` before the runs, or why it could not be read. */
  metricsBefore: Sample[] | Error | undefined;
  /** Runs started by the checks; `ended` those known to have ended. */
  runs: Array<{ id: string; workflow: string }>;
  ended: Set<string>;
  /** The run check's run once it succeeded, and the `compute` output it gave. */
  succeeded: { id: string; compute: unknown } | undefined;
  /** The cancel check's run, once cancelled. */
  cancelled: string | undefined;
  /** The human check's run, and who decided its task, once it succeeded. */
  reviewed: { id: string; by: string } | undefined;
}

export function newState(): State {
  return {
    authOff: false,
    who: undefined,
    metricsBefore: undefined,
    runs: [],
    ended: new Set(),
    succeeded: undefined,
    cancelled: undefined,
    reviewed: undefined,
  };
}

/** Whether the main key holds `scope` (auth off: every scope; not yet known: assumed). */
export function holds(state: State, scope: string): boolean {
  return state.who === undefined || state.who.scopes.includes(scope);
}

export const POLL_MS = 200;

/** `403 forbidden: missing required scope: runs:write` for a server's answer; `not_ready: cannot reach …` for the client's own. */
export function errorText(error: AgentryError): string {
  // The client's errors from a server's problem document carry it as details; its own carry none.
  if (error.details !== undefined) return `${error.status} ${error.code}: ${error.message}`;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(error.message) ? ' (trust its CA with --ca <file> or NODE_EXTRA_CA_CERTS)' : '';
  return `${error.code}: ${error.message}${tls}`;
}

/** An error of a request made with a role key, as a failure naming the option that gave the key. */
export function withKey(option: RoleKey['option'], error: unknown): unknown {
  if (!(error instanceof AgentryError)) return error;
  return new CheckFailure(`the ${option}: ${errorText(error)}`, { cause: error, code: error.code });
}

/** `60s`, `1500ms`: a duration as the --timeout it came from. */
export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function runState(run: RunDetailDto): string {
  return `${run.status} (${run.steps.map((step) => `${step.id} ${step.status}`).join(', ')})${run.status === 'queued' ? ': is a worker process running?' : ''}`;
}

export function errorOf(run: RunDto): string {
  return run.error === null ? '' : `: ${run.error.code}: ${run.error.message}`;
}

export function jsonField(text: string, field: string): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
