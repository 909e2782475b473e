/**
 * Fields that every log line written during one piece of work carries, whichever logger
 * writes it: while the server handles an API request, `request_id` (and `tenant_id` once the
 * caller is known). The server enters the context per request (`server/request-context.ts`);
 * the process logger's `mixin` (`logger.ts`) adds its fields to each line. Services, the
 * engine and the gateway need no request logger passed down to them: a run started by a
 * request logs `run started` with that request's id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The fields of the work in progress (`request_id`, `tenant_id`). */
export type LogContext = Record<string, string>;

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` (and everything it starts) with `fields` added to the current context. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/**
 * Runs `fn` outside any context: for what outlives the request that happens to start it (a
 * tool server's connection, whose later lines are no part of that request).
 */
export function withoutLogContext<T>(fn: () => T): T {
  return storage.run({}, fn);
}

/** Adds `fields` to the current context (no-op outside one), e.g. the tenant once a request is signed in. */
export function addToLogContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store !== undefined) Object.assign(store, fields);
}

/** The current context's fields (not a copy: do not change them), or `undefined` outside one. */
export function currentLogContext(): Readonly<LogContext> | undefined {
  return storage.getStore();
}
