/**
 * `Idempotency-Key` on run starts. The engine records the key with the hash of the request
 * (workflow, input, priority) in the run's own transaction: the same key and request returns
 * the first run (`replayed`), the same key and a different request is `idempotency_conflict`.
 * Here: the header's shape, checked before anything is started.
 */
import { AgentryError } from '../lib/errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/** The trimmed key, or undefined without the header; 400 when blank, too long or repeated. */
export function parseIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new AgentryError('invalid_idempotency_key', 'send one Idempotency-Key header, not several');
  const key = value.trim();
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new AgentryError('invalid_idempotency_key', `Idempotency-Key must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters after trimming (got ${key.length})`);
  }
  return key;
}

/** Response header set when the response is the replay of an earlier request. */
export const REPLAYED_HEADER = 'idempotent-replayed';
