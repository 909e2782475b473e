/**
 * Rate-limit token buckets in the store, on SQLite and PostgreSQL: a take refills for the time
 * since the last one and takes a token in one statement; an empty bucket refuses until a token
 * has grown back; a clock that is behind refills nothing; full buckets are pruned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateTake, Store } from '../../src/store/store.js';
import { storeFactories } from '../helpers/store.js';

const T0 = Date.UTC(2026, 0, 1);
/** 6 a minute: one token every 10 s. */
const PER_MS = 6 / 60_000;

describe.each(storeFactories)('rate buckets ($name)', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await factory.open());
    await Promise.all(Array.from({ length: 5 }, () => store.ping()));
  });
  afterAll(async () => {
    await cleanup();
  });

  const take = (bucket: string, now: number, capacity = 3): ReturnType<Store['takeRateToken']> =>
    store.takeRateToken({ bucket, capacity, perMs: PER_MS } satisfies RateTake, now);

  it('starts full, takes a token per request, and refuses when empty', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await take('t/a', T0));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => Math.round(r.tokens * 1000) / 1000)).toEqual([2, 1, 0, 0]);
    // Empty at T0: full again after 3 tokens × 10 s.
    expect(results[3]!.fullAt).toBe(T0 + 30_000);
  });

  it('grows a token back in 1/rate and never past the capacity', async () => {
    expect((await take('t/b', T0)).allowed).toBe(true);
    expect((await take('t/b', T0)).allowed).toBe(true);
    expect((await take('t/b', T0)).allowed).toBe(true);
    expect((await take('t/b', T0 + 5_000)).allowed).toBe(false); // half a token
    const refilled = await take('t/b', T0 + 10_000); // one whole token since T0
    expect(refilled.allowed).toBe(true);
    expect(refilled.tokens).toBeCloseTo(0, 6);
    expect((await take('t/b', T0 + 10_001)).allowed).toBe(false);
    // An hour idle: full (3), not 360.
    const idle = await take('t/b', T0 + 3_600_000);
    expect(idle.allowed).toBe(true);
    expect(idle.tokens).toBeCloseTo(2, 6);
  });

  it('refills nothing for a clock that is behind the last take', async () => {
    for (let i = 0; i < 3; i++) await take('t/c', T0 + 60_000);
    expect((await take('t/c', T0)).allowed).toBe(false);
    // The earlier clock did not move the bucket back in time: 10 s after the last take is one token.
    expect((await take('t/c', T0 + 69_999)).allowed).toBe(false);
    expect((await take('t/c', T0 + 70_000)).allowed).toBe(true);
  });

  it('holds a lowered capacity at once', async () => {
    await take('t/d', T0, 10);
    const lowered = await take('t/d', T0, 2);
    expect(lowered.allowed).toBe(true);
    expect(lowered.tokens).toBeCloseTo(1, 6);
  });

  it('keeps buckets apart', async () => {
    for (let i = 0; i < 3; i++) await take('t/e', T0);
    expect((await take('t/e', T0)).allowed).toBe(false);
    expect((await take('t/f', T0)).allowed).toBe(true);
  });

  it('prunes only the buckets that are full again', async () => {
    await take('t/g', T0 + 1_000_000); // full again 10 s later
    await take('t/h', T0 + 1_000_000, 3);
    await take('t/h', T0 + 1_000_000, 3); // full again 20 s later
    const pruned = await store.pruneRateBuckets(T0 + 1_015_000);
    expect(pruned).toBeGreaterThanOrEqual(1);
    // t/h survived: 1 token + 1.5 grown back − 1 taken (a new bucket would have 2 left).
    expect((await take('t/h', T0 + 1_015_000)).tokens).toBeCloseTo(1.5, 6);
    // t/g was deleted: it starts full again (as it would have been).
    expect((await take('t/g', T0 + 1_015_000)).tokens).toBeCloseTo(2, 6);
  });

  it('lets concurrent takes on one bucket take exactly its tokens', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => take('t/race', T0, 7)));
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
  });
});
