/** Retry delays: one function for step retries, gateway retries and database reconnects. */

export interface BackoffPolicy {
  /** `exponential` doubles from `initialMs` each attempt; `fixed` waits `initialMs` every time. */
  backoff: 'exponential' | 'fixed';
  initialMs: number;
  maxMs: number;
  /** Draw the delay uniformly from [d/2, d] instead of waiting exactly d. */
  jitter: boolean;
}

/**
 * Delay before attempt `attempt + 1`, after attempt `attempt` failed: the policy's delay capped at
 * `maxMs`, with jitter drawn from [d/2, d] ("equal jitter": retries of many callers spread out,
 * yet never retry instantly). A server's `retryAfterMs` is a floor.
 */
export function retryDelayMs(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = policy.backoff === 'fixed' ? policy.initialMs : policy.initialMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, policy.maxMs);
  const delay = policy.jitter ? capped / 2 + random() * (capped / 2) : capped;
  return Math.round(Math.max(delay, retryAfterMs ?? 0));
}
