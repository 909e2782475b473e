/**
 * Which database errors are worth retrying, named in one place, and the one retry loop
 * (bounded exponential backoff with jitter) the store and the engine's loops use.
 *
 * A transient error says nothing about the statement: the same statement may succeed a
 * moment later (the server restarted, a lock cycle was broken, a connection slot freed).
 */
import type { Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import { retryDelayMs } from '../lib/backoff.js';
import { sleep } from '../lib/sleep.js';

/** SQLSTATE codes (or code classes, ending in `xxx`) of PostgreSQL errors that may pass. */
export const TRANSIENT_SQLSTATES: Readonly<Record<string, string>> = {
  // Class 08 — connection exception: the connection failed or was lost (08000, 08003,
  // 08006 connection_failure, 08001 unable to establish, 08004 rejected, …).
  '08xxx': 'connection exception',
  // The server is shutting down (`pg_ctl stop -m fast`, pg_terminate_backend).
  '57P01': 'admin_shutdown',
  // The server crashed and is restarting (another backend died; every session is reset).
  '57P02': 'crash_shutdown',
  // The server is starting up or in recovery and does not accept connections yet.
  '57P03': 'cannot_connect_now',
  // A SERIALIZABLE/REPEATABLE READ transaction lost a race; run it again.
  '40001': 'serialization_failure',
  // PostgreSQL broke a lock cycle by aborting this transaction; run it again.
  '40P01': 'deadlock_detected',
  // max_connections reached; a slot frees as other clients disconnect.
  '53300': 'too_many_connections',
};

/** Node.js socket error codes that mean the database could not be reached or went away. */
export const TRANSIENT_SOCKET_CODES: Readonly<Record<string, string>> = {
  // Nothing listens on the port (the server is down or restarting).
  ECONNREFUSED: 'connection refused',
  // The server (or something between) dropped the connection.
  ECONNRESET: 'connection reset',
  // Wrote to a connection the server had already closed.
  EPIPE: 'broken pipe',
  // The server did not answer in time (network partition, overloaded host).
  ETIMEDOUT: 'timed out',
};

/**
 * Messages of errors the pg driver raises without a code when the connection ends or a
 * connection attempt times out.
 */
const TRANSIENT_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Postgres connection has been discarded/,
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when retrying `error` later may succeed (looks through `cause` chains). */
export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    if (e instanceof AgentryError) return e.code === 'store_unavailable' && e.retryable;
    const code = codeOf(e);
    if (code !== undefined) {
      if (Object.hasOwn(TRANSIENT_SQLSTATES, code) || Object.hasOwn(TRANSIENT_SOCKET_CODES, code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    const message = e instanceof Error ? e.message : undefined;
    if (message !== undefined && TRANSIENT_MESSAGES.some((m) => m.test(message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * True for a change the database refused because the schema forbids it (PostgreSQL SQLSTATE
 * class 23, integrity constraint violation; SQLite `SQLITE_CONSTRAINT*`): the caller's
 * concern (a race on a unique key), not a failing database.
 */
export function isConstraintViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && (/^23[0-9A-Z]{3}$/.test(code) || code.startsWith('SQLITE_CONSTRAINT'));
}

/** True when the database refused a write because its disk is full: SQLite `SQLITE_FULL`, PostgreSQL SQLSTATE 53100 (disk_full). */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    const code = codeOf(e);
    if (code === 'SQLITE_FULL' || code === '53100') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A write refused for want of disk space as Agentry reports it: `store_unavailable` (503),
 * retryable — the same write succeeds once space is freed, and the engine's loops wait for
 * that as for any outage of the database.
 */
export function storeFull(error: unknown, what = 'the database'): AgentryError {
  const message = error instanceof Error ? error.message : String(error);
  return new AgentryError('store_unavailable', `${what} cannot take writes: its disk is full (${message}); free space on its volume`, {
    retryable: true,
    cause: error,
    details: { disk_full: true },
  });
}

/** A transient error as Agentry reports it: `store_unavailable`, retryable, cause kept. */
export function storeUnavailable(error: unknown, what = 'the database'): AgentryError {
  if (error instanceof AgentryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AgentryError('store_unavailable', `${what} is unavailable: ${message}`, { retryable: true, cause: error });
}

/**
 * The connection was lost while COMMIT was in flight: the transaction may or may not have
 * been applied. Retrying the whole transaction blindly is not safe in general, so the store
 * does not; callers whose transitions are guarded (a lease, a status) may retry.
 */
export function commitUnknown(error: unknown): AgentryError {
  return new AgentryError(
    'store_unavailable',
    `the connection was lost while committing; the change may or may not have been applied: ${(error as Error).message}`,
    { retryable: true, cause: error, details: { commit_unknown: true } },
  );
}

export function isCommitUnknown(error: unknown): boolean {
  return error instanceof AgentryError && (error.details as { commit_unknown?: boolean } | undefined)?.commit_unknown === true;
}

/** Delay before try `attempt + 1` of a database operation: exponential from `baseMs`, capped, jittered. */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number, random?: () => number): number {
  return retryDelayMs({ backoff: 'exponential', initialMs: baseMs, maxMs, jitter: true }, attempt, undefined, random);
}

export interface RetryOptions {
  /** Tries in all (the first included); `Infinity` with `deadlineMs` or `signal` to bound it. */
  attempts: number;
  /** Delay before the second try; doubles each time. */
  baseMs: number;
  /** Longest delay between two tries. */
  maxMs: number;
  /** Gives up once this many milliseconds have passed since the first try. */
  deadlineMs?: number;
  /** Which errors are retried (default `isTransient`). */
  retryIf?: (error: unknown) => boolean;
  signal?: AbortSignal;
  /** Called before each wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn`, retrying errors `retryIf` accepts with bounded backoff; rethrows the last error. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, baseMs, maxMs, deadlineMs, retryIf = isTransient, signal, onRetry } = options;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !retryIf(error) || signal?.aborted) throw error;
      let delay = reconnectDelayMs(attempt, baseMs, maxMs);
      if (deadlineMs !== undefined) {
        const left = started + deadlineMs - Date.now();
        if (left <= 0) throw error;
        delay = Math.min(delay, left);
      }
      onRetry?.(error, attempt, delay);
      try {
        await sleep(delay, signal);
      } catch {
        throw error; // aborted while waiting
      }
    }
  }
}

/**
 * Logs a database outage once (warn) and its end once (info), however many loop ticks
 * fail in between; errors that are not transient are logged each time (error).
 */
export class OutageLog {
  private downSince: number | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  failed(error: unknown): void {
    if (!isTransient(error)) {
      this.logger.error({ err: error }, `${this.what} failed`);
      return;
    }
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.logger.warn({ err: error }, `${this.what}: database unavailable; retrying until it is back`);
  }

  ok(): void {
    if (this.downSince === undefined) return;
    this.logger.info({ outage_ms: Date.now() - this.downSince }, `${this.what}: database available again`);
    this.downSince = undefined;
  }
}
