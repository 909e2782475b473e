/**
 * The `worker` and `scheduler` readiness checks judge this process's loops from their status:
 * a loop that is stopping, has not gone round for a few intervals, is stuck in one round, or a
 * heartbeat that has not reached the database fails, saying which. (Times are given, not waited
 * for: the loops' own status is covered live in server.readyz-roles.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { HealthService } from '../../src/app/health.js';
import type { Engine, EngineLoops, LoopStatus } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/store.js';

const NOW = 1_000_000;
const loop = (over: Partial<LoopStatus> = {}): LoopStatus => ({
  state: 'running',
  lastRoundAt: NOW - 200,
  roundStartedAt: undefined,
  lastError: undefined,
  intervalMs: 1_000,
  ...over,
});

function health(loops: Partial<EngineLoops>): HealthService {
  const all: EngineLoops = { now: NOW, worker: { ...loop(), busy: 2, slots: 10 }, scheduler: loop(), heartbeatAt: NOW - 3_000, ...loops };
  const engine = { workerId: 'wrk_1', loops: () => all } as unknown as Engine;
  return new HealthService({ engine, store: {} as Store });
}

describe('the worker check', () => {
  it('is ok with the loop going round and a fresh heartbeat, showing slots, round and heartbeat', async () => {
    await expect(health({}).worker(90_000)).resolves.toBe('wrk_1: 2/10 slots busy, last round 0.2s ago, heartbeat 3.0s ago');
  });

  it('fails while stopping, when the loop went quiet or is stuck in a round, and when the heartbeat is stale', () => {
    const worker = (over: Partial<LoopStatus>) => ({ ...loop(over), busy: 0, slots: 10 });
    expect(() => health({ worker: worker({ state: 'stopping' }) }).worker(90_000)).toThrow('the worker loop is stopping (the process is shutting down)');
    expect(() => health({ worker: worker({ lastRoundAt: NOW - 12_000, lastError: 'connect ECONNREFUSED' }) }).worker(90_000)).toThrow(
      'the worker loop last went round 12.0s ago (expected every 1.0s); its last round failed: connect ECONNREFUSED',
    );
    expect(() => health({ worker: worker({ roundStartedAt: NOW - 30_000 }) }).worker(90_000)).toThrow(
      'the worker loop has been in one round for 30.0s (stuck?)',
    );
    expect(() => health({ heartbeatAt: NOW - 100_000 }).worker(90_000)).toThrow("worker wrk_1's last heartbeat reached the database 100.0s ago (limit 90.0s)");
    expect(() => health({ heartbeatAt: undefined }).worker(90_000)).toThrow('worker wrk_1 has not recorded a heartbeat in the database yet');
  });
});

describe('the scheduler check', () => {
  it('is ok during a recent sweep and after one, and fails once sweeps stopped', async () => {
    await expect(health({ scheduler: loop({ lastRoundAt: undefined, roundStartedAt: NOW - 1_000 }) }).scheduler()).resolves.toBe(
      'sweeps: first round in progress',
    );
    await expect(health({}).scheduler()).resolves.toBe('sweeps: last round 0.2s ago');
    expect(() => health({ scheduler: loop({ lastRoundAt: NOW - 60_000 }) }).scheduler()).toThrow('the scheduler last went round 60.0s ago');
    expect(() => health({ scheduler: undefined }).scheduler()).toThrow("this process's scheduler is not running");
  });
});
