/**
 * Scrubbing of provider credentials from text: the configured key values themselves, and
 * anything shaped like an API key or a bearer credential (SDK error messages sometimes echo
 * part of a key, e.g. "Incorrect API key provided: sk-abc***xyz").
 */

import { Redactor } from '../lib/redact.js';

/** `text` with every configured secret (in any of its encodings) and every key-shaped string replaced by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  return new Redactor({ secrets, pii: ['bearer'] }).text(text);
}

/**
 * A copy of an error (and of its `cause` chain) safe to log or return: messages and stacks
 * scrubbed, SDK internals (headers, raw bodies, request objects) dropped. The copy keeps
 * `name`, `status`, `code` and `type` so callers can still classify it.
 */
export function scrubError(error: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redactSecrets(error, secrets) : error;
  const copy = new Error(redactSecrets(error.message, secrets));
  copy.name = error.name;
  copy.stack = redactSecrets(error.stack ?? '', secrets);
  const source = error as Error & { status?: unknown; code?: unknown; type?: unknown };
  const target = copy as Error & { status?: unknown; code?: unknown; type?: unknown; cause?: unknown };
  if (typeof source.status === 'number') target.status = source.status;
  if (typeof source.code === 'string' || typeof source.code === 'number') target.code = source.code;
  if (typeof source.type === 'string') target.type = redactSecrets(source.type, secrets);
  if (error.cause !== undefined && depth < 5) target.cause = scrubError(error.cause, secrets, depth + 1);
  return copy;
}
