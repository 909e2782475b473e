/**
 * Upstream throttling (gateway.yaml `limits:` of a provider and of a target): requests and
 * tokens per minute sent to it. A call over a limit is not refused: it waits for its slot, as
 * long as the slot comes before the caller's deadline (a step's timeout, the call's own
 * timeout); only a slot past the deadline is refused, `upstream_throttled` with when room
 * comes. Requests are spread evenly (`burst` may go at once); tokens may use a minute's worth at
 * once. Each limit is a scheduler of its own ("lane", a token bucket that hands out future
 * slots): a call takes its slot on every lane of its provider and target at the same time.
 *
 * Where the lanes are kept decides who shares the limits: the store's (`storeLanes`) are shared
 * by every process on the database, so N processes together send up to the limits; without a
 * store (`memoryLanes`) they hold per process (docs/gateway.md#upstream-throttling).
 */
import { AgentryError } from '../lib/errors.js';
import type { LaneHold, LaneMove, LaneTake, LaneTakeResult } from '../store/store-types.js';
import type { Store } from '../store/store.js';
import type { ResolvedTarget, UpstreamLimits } from './config.js';

/** Where the lanes are: `take` hands out a slot on several lanes at once, atomically. */
export interface ThrottleLanes {
  take(take: LaneTake): Promise<LaneTakeResult>;
  move(moves: readonly LaneMove[]): Promise<void>;
}

/** Lanes in this process's memory: the limits hold per process. */
export function memoryLanes(): ThrottleLanes {
  /** Per lane, when everything handed out so far has drained (epoch ms). */
  const tats = new Map<string, number>();
  const tatOf = (key: string) => tats.get(key) ?? 0;
  return {
    take({ lanes, now, deadline }) {
      const start = Math.max(now, ...lanes.map((lane) => tatOf(lane.key) - (lane.capacity - Math.min(lane.units, lane.capacity)) / lane.perMs));
      if (start > deadline) return Promise.resolve({ refusedUntil: start });
      for (const lane of lanes) tats.set(lane.key, Math.max(tatOf(lane.key), start) + lane.units / lane.perMs);
      return Promise.resolve({ start });
    },
    move(moves) {
      for (const move of moves) tats.set(move.key, tatOf(move.key) + move.units / move.perMs);
      return Promise.resolve();
    },
  };
}

/** Lanes in the store: every process on the database shares the limits. */
export function storeLanes(store: Pick<Store, 'takeUpstreamSlot' | 'moveUpstreamLanes'>): ThrottleLanes {
  return { take: (take) => store.takeUpstreamSlot(take), move: (moves) => store.moveUpstreamLanes(moves) };
}

/** What a call holds on one lane. */
interface Hold extends LaneHold {
  kind: 'requests' | 'tokens';
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
  /** Where the lanes are kept (default: this process's memory). */
  lanes?: ThrottleLanes | undefined;
  observer?: ThrottleObserver | undefined;
  /** A correction of the lanes that failed (the store unreachable): the lanes stay as they were. */
  onError?: (error: unknown) => void;
}

export class UpstreamThrottle {
  readonly #lanes: ThrottleLanes;

  constructor(private readonly deps: ThrottleDeps) {
    this.#lanes = deps.lanes ?? memoryLanes();
  }

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
    const taken = await this.#lanes.take({ lanes: holds.map(({ kind: _kind, ...lane }) => lane), now, deadline });
    const observer = this.deps.observer;
    if ('refusedUntil' in taken) {
      observer?.throttled(target.provider, group);
      const waitMs = Math.ceil(taken.refusedUntil - now);
      throw new AgentryError(
        'upstream_throttled',
        `the upstream limits of ${target.provider}/${target.model} leave room in ${waitMs} ms, after the call's deadline (${Math.max(0, deadline - now)} ms away)`,
        { retryable: true, retryAfterMs: waitMs, details: { group, provider: target.provider, model: target.model, wait_ms: waitMs } },
      );
    }
    const waitMs = taken.start - now;
    if (waitMs > 0) {
      observer?.queueChanged(target.provider, 1);
      try {
        await this.deps.sleep(waitMs, signal);
      } catch (cause) {
        // Never sent: the slot goes back to the calls behind it.
        await this.#lanes.move(holds.map(({ key, perMs, units }) => ({ key, perMs, units: -units }))).catch((error: unknown) => this.deps.onError?.(error));
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
        const moves = tokenLanes.filter((lane) => lane.units !== actual).map(({ key, perMs, units }) => ({ key, perMs, units: actual - units }));
        if (moves.length > 0) this.#lanes.move(moves).catch((error: unknown) => this.deps.onError?.(error));
      },
    };
  }

  #holds(key: string, limits: UpstreamLimits | undefined, tokens: number): Hold[] {
    if (limits === undefined) return [];
    const holds: Hold[] = [];
    if (limits.requestsPerMinute !== undefined) {
      holds.push({ key: `${key}:requests`, capacity: limits.burst, perMs: limits.requestsPerMinute / 60_000, kind: 'requests', units: 1 });
    }
    if (limits.tokensPerMinute !== undefined) {
      // At most a minute's worth: a call whose estimate is larger (a huge max_tokens) waits for a drained lane and holds it for a
      // minute, not for as long as its estimate would take, until it is settled at what the provider reported.
      const units = Math.min(tokens, limits.tokensPerMinute);
      holds.push({ key: `${key}:tokens`, capacity: limits.tokensPerMinute, perMs: limits.tokensPerMinute / 60_000, kind: 'tokens', units });
    }
    return holds;
  }
}
