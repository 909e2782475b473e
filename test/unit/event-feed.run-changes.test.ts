/**
 * The event feed's wake-up of the run stream (`waitForRunChange`): a run-level event committed
 * here wakes it, a step's event does not, and one committed between the reader's look and its
 * wait is not slept through.
 */
import { describe, expect, it } from 'vitest';
import { EventFeed, type CommittedEvent } from '../../src/app/event-feed.js';
import type { EventType, RunRecord } from '../../src/types.js';

function committed(type: EventType, seq: number): CommittedEvent {
  return { event: { runId: 'run_1', seq, type, stepId: null, data: {}, at: seq }, run: { id: 'run_1' } as RunRecord };
}

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('EventFeed.waitForRunChange', () => {
  it("wakes on a run's own event, not on a step's", async () => {
    const feed = new EventFeed();
    const stop = new AbortController();
    const waiting = feed.waitForRunChange(60_000, stop.signal, feed.runChangeVersion);
    feed.publish([committed('step.started', 1), committed('step.succeeded', 2)]);
    expect(await settled(waiting)).toBe(false);
    feed.publish([committed('step.succeeded', 3), committed('run.succeeded', 4)]);
    expect(await settled(waiting)).toBe(true);
    stop.abort();
  });

  it('returns at once when a run event came after the version the reader looked at', async () => {
    const feed = new EventFeed();
    const seen = feed.runChangeVersion;
    feed.publish([committed('run.created', 1)]);
    expect(await settled(feed.waitForRunChange(60_000, undefined, seen))).toBe(true);
  });

  it('ends the wait when the signal aborts', async () => {
    const feed = new EventFeed();
    const stop = new AbortController();
    const waiting = feed.waitForRunChange(60_000, stop.signal, feed.runChangeVersion);
    stop.abort();
    expect(await settled(waiting)).toBe(true);
  });

  it('tells the earliest time of the run events committed since a version, so the run stream looks back to it', () => {
    const feed = new EventFeed();
    const seen = feed.runChangeVersion;
    expect(feed.earliestRunChangeSince(seen)).toBeUndefined();
    feed.publish([committed('step.succeeded', 7), committed('run.succeeded', 9)]);
    feed.publish([committed('step.started', 3)]);
    feed.publish([committed('run.created', 5)]);
    expect(feed.earliestRunChangeSince(seen)).toBe(5);
    expect(feed.earliestRunChangeSince(feed.runChangeVersion)).toBeUndefined();
    // More commits than it keeps: it cannot tell (the reader goes back its settle window only).
    for (let i = 0; i < 1_001; i++) feed.publish([committed('run.started', 100 + i)]);
    expect(feed.earliestRunChangeSince(seen)).toBeUndefined();
  });
});
