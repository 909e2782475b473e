import type { RetryPolicy } from '../spec/model.js';

/**
 * Delay before attempt `attempt + 1`, after attempt `attempt` failed.
 * Exponential doubles from `initialMs` up to `maxMs`; full jitter picks uniformly in
 * [delay/2, delay] so retries of many steps spread out without ever retrying instantly.
 * A server's `retryAfterMs` is a floor.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const base =
    policy.backoff === 'fixed' ? policy.initialMs : policy.initialMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, policy.maxMs);
  const delay = policy.jitter ? capped / 2 + random() * (capped / 2) : capped;
  return Math.round(Math.max(delay, retryAfterMs ?? 0));
}
