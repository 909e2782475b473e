import { AgentryError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import type { StepContext, StepExecutor, StepResult } from './types.js';

/** What a suspended sleep step keeps in the store between executions. */
export interface SleepState {
  /** Epoch ms at which the step may complete. */
  wake_at: number;
  /** Epoch ms of the first execution, to report how long the step slept. */
  started_at: number;
}

export interface SleepOptions {
  /** Clock, injectable for tests. */
  now?: () => number;
}

/**
 * `sleep`: durable. The first execution computes the wake time and suspends; the engine parks
 * the step in the store (no worker held) and executes it again at `until` with the saved state.
 */
export function createSleepExecutor(options: SleepOptions = {}): StepExecutor {
  const now = options.now ?? Date.now;
  return {
    kind: 'sleep',
    execute(config: unknown, ctx: StepContext): Promise<StepResult> {
      // Deferred so that invalid config rejects the promise rather than throwing synchronously.
      return Promise.resolve().then(() => step(config, ctx.state, now()));
    },
  };
}

export const sleepExecutor: StepExecutor = createSleepExecutor();

function step(config: unknown, saved: unknown, current: number): StepResult {
  const state = saved === undefined ? firstState(config, current) : readState(saved);
  if (state.wake_at > current) return { kind: 'suspend', until: state.wake_at, state };
  return {
    kind: 'output',
    output: { slept_ms: Math.max(0, current - state.started_at), woke_at: new Date(current).toISOString() },
  };
}

function firstState(config: unknown, current: number): SleepState {
  return { wake_at: wakeAt(config, current), started_at: current };
}

function wakeAt(config: unknown, current: number): number {
  if (typeof config === 'string' || typeof config === 'number') return current + durationMs(config);
  if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
    const block = config as Record<string, unknown>;
    const keys = Object.keys(block);
    if (keys.length === 1 && 'duration' in block) return current + durationMs(block.duration);
    if (keys.length === 1 && 'until' in block) return untilMs(block.until);
  }
  throw invalid('sleep expects a duration, { duration } or { until }');
}

function durationMs(value: unknown): number {
  if (typeof value !== 'string' && typeof value !== 'number')
    throw invalid(`sleep duration must be a string like "2s" or milliseconds, got ${JSON.stringify(value)}`);
  return parseDuration(value);
}

function untilMs(value: unknown): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(`sleep until ${JSON.stringify(value)} is not an ISO date or epoch milliseconds`);
  return ms;
}

function readState(state: unknown): SleepState {
  if (typeof state === 'object' && state !== null) {
    const { wake_at: wake, started_at: started } = state as Record<string, unknown>;
    if (typeof wake === 'number' && Number.isFinite(wake)) {
      return { wake_at: wake, started_at: typeof started === 'number' ? started : wake };
    }
  }
  throw new AgentryError('internal', 'sleep step resumed with a state that has no wake_at', { details: { state } });
}

function invalid(message: string): AgentryError {
  return new AgentryError('invalid_request', message);
}
