/**
 * Upstream throttling (gateway.yaml `limits:` of a provider and of a target): requests and
 * tokens per minute this process sends. A call over a limit is not refused: it waits for its
 * slot, as long as the slot comes before the caller's deadline (a step's timeout, the call's
 * own timeout); only a slot past the deadline is refused, `upstream_throttled` with when room
 * comes. Requests are spread evenly (`burst` may go at once); tokens may use a minute's worth at
 * once. Each limit is a scheduler of its own ("lane", a token bucket that hands out future
 * slots): a call takes its slot on every lane of its provider and target at the same time.
 *
 * The limits hold per process: N processes with the same gateway.yaml send up to N times them
 * (docs/gateway.md#upstream-throttling).
 */
import { AgentryError } from '../lib/errors.js';
import type { ResolvedTarget, UpstreamLimits } from './config.js';

interface Lane {
  /** When everything handed out so far has drained (epoch ms). */
  tat: number;
  /** Units that may go at once. */
  capacity: number;
  /** Units per millisecond. */
  perMs: number;
}

/** What a call holds on one lane. */
interface Hold {
  lane: Lane;
  kind: 'requests' | 'tokens';
  units: number;
}

/** A call's slot: given back if it never went (cancelled while waiting); its tokens settled once the provider reported them. */
export interface ThrottleSlot {
  /** Milliseconds the call waited for its slot. */
  waitedMs: number;
  /** The call's real tokens (the estimate was the prompt and the output cap): the token lanes are corrected. */
  settle(tokens: number): void;
}

export interface ThrottleObserver {
  /** A call began waiting (+1) or stopped waiting (-1) for a slot of `provider`. */
  queueChanged(provider: string, delta: 1 | -1): void;
  /** A call got its slot after `seconds` of waiting (0 when it had room at once). */
  queued(provider: string, group: string, seconds: number): void;
  /** A call was refused: its slot would come after its deadline. */
  throttled(provider: string, group: string): void;
}

export interface ThrottleDeps {
  now: () => number;
  /** Rejects when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  observer?: ThrottleObserver | undefined;
}

export class UpstreamThrottle {
  readonly #lanes = new Map<string, Lane>();

  constructor(private readonly deps: ThrottleDeps) {}

  /**
   * Waits for the call's slot on the limits of `provider` and `target` (none: it goes at once).
   * `tokens` is the call's estimate. Throws `upstream_throttled` (retryable, with `retryAfterMs`)
   * when the slot would come after `deadline`, and `cancelled` when `signal` aborts while waiting.
   */
  async acquire(
    group: string,
    target: ResolvedTarget,
    provider: UpstreamLimits | undefined,
    tokens: number,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<ThrottleSlot> {
    const holds = [
      ...this.#holds(`provider:${target.provider}`, provider, tokens),
      ...this.#holds(`target:${target.provider}/${target.model}`, target.limits, tokens),
    ];
    if (holds.length === 0) return { waitedMs: 0, settle: () => undefined };
    const now = this.deps.now();
    const start = Math.max(now, ...holds.map(({ lane, units }) => lane.tat - (lane.capacity - Math.min(units, lane.capacity)) / lane.perMs));
    const observer = this.deps.observer;
    if (start > deadline) {
      observer?.throttled(target.provider, group);
      const waitMs = Math.ceil(start - now);
      throw new AgentryError(
        'upstream_throttled',
        `the upstream limits of ${target.provider}/${target.model} leave room in ${waitMs} ms, after the call's deadline (${Math.max(0, deadline - now)} ms away)`,
        { retryable: true, retryAfterMs: waitMs, details: { group, provider: target.provider, model: target.model, wait_ms: waitMs } },
      );
    }
    for (const { lane, units } of holds) lane.tat = Math.max(lane.tat, start) + units / lane.perMs;
    const waitMs = start - now;
    if (waitMs > 0) {
      observer?.queueChanged(target.provider, 1);
      try {
        await this.deps.sleep(waitMs, signal);
      } catch (cause) {
        // Never sent: the slot goes back to the calls behind it.
        for (const { lane, units } of holds) lane.tat -= units / lane.perMs;
        throw new AgentryError('cancelled', `call to model group '${group}' cancelled while waiting for an upstream slot`, { cause });
      } finally {
        observer?.queueChanged(target.provider, -1);
      }
    }
    observer?.queued(target.provider, group, waitMs / 1000);
    const tokenLanes = holds.filter((h) => h.kind === 'tokens');
    return {
      waitedMs: waitMs,
      settle: (actual) => {
        for (const { lane } of tokenLanes) lane.tat += (actual - tokens) / lane.perMs;
      },
    };
  }

  #holds(key: string, limits: UpstreamLimits | undefined, tokens: number): Hold[] {
    if (limits === undefined) return [];
    const holds: Hold[] = [];
    if (limits.requestsPerMinute !== undefined) {
      holds.push({ lane: this.#lane(`${key}:requests`, limits.burst, limits.requestsPerMinute / 60_000), kind: 'requests', units: 1 });
    }
    if (limits.tokensPerMinute !== undefined) {
      holds.push({ lane: this.#lane(`${key}:tokens`, limits.tokensPerMinute, limits.tokensPerMinute / 60_000), kind: 'tokens', units: tokens });
    }
    return holds;
  }

  #lane(key: string, capacity: number, perMs: number): Lane {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { tat: 0, capacity, perMs };
      this.#lanes.set(key, lane);
    }
    return lane;
  }
}
