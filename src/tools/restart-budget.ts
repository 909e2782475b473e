/**
 * A tool server's restart budget (`restart:` in its spec): after a lost or failed connection
 * the next open is a restart, made `initial * 2^(restarts in the window)` (at most `max`) after
 * the loss; once `max_restarts` restarts happened within `window`, no more until the oldest
 * leaves the window or the server is enabled again.
 */
import type { RestartPolicy } from './config.js';

/** What the next restart must do: wait `waitMs` after now, or not happen (the budget is used up). */
export type RestartPlan = { usedUp: false; waitMs: number } | { usedUp: true; budget: string; retryAfterMs: number | undefined };

export class RestartBudget {
  #times: number[] = [];
  #lostAt: number | undefined;
  #restarts = 0;

  constructor(private readonly policy: RestartPolicy) {}

  /** Reconnects after a failed or lost connection, since start. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The connection was lost or failed to open: the next open is a restart. */
  get pending(): boolean {
    return this.#lostAt !== undefined;
  }

  /** The connection was lost, or failed to open, at `now`. */
  lost(now: number): void {
    this.#lostAt = now;
  }

  /** A connection opened: the next open is not a restart. */
  connected(): void {
    this.#lostAt = undefined;
  }

  /** The server was enabled again: the budget is whole and the next open is not a restart. */
  reset(): void {
    this.#times = [];
    this.#lostAt = undefined;
  }

  /** The next restart, as of `now`. */
  plan(now: number): RestartPlan {
    const { maxRestarts, windowMs, initialMs, maxMs } = this.policy;
    this.#times = this.#times.filter((at) => now - at < windowMs);
    const oldest = this.#times[0];
    if (this.#times.length >= maxRestarts) {
      const retryAfterMs = oldest === undefined ? undefined : oldest + windowMs - now;
      return { usedUp: true, budget: `restart budget used up (${maxRestarts} restarts within ${windowMs}ms)`, retryAfterMs };
    }
    return { usedUp: false, waitMs: (this.#lostAt ?? now) + Math.min(initialMs * 2 ** this.#times.length, maxMs) - now };
  }

  /** A restart begins at `now`. */
  begin(now: number): void {
    this.#times.push(now);
    this.#restarts++;
  }
}
