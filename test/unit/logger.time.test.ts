/**
 * Each log line's `time` is the ISO 8601 time it was written at (`src/obs/logger.ts` makes its
 * text once per millisecond): lines of the same millisecond share it, a later line has its own.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';

function capture(): { times: unknown[]; stream: Writable } {
  const times: unknown[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') times.push((JSON.parse(line) as { time: unknown }).time);
      done();
    },
  });
  return { times, stream };
}

describe('log line time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the time of each line as ISO 8601, the same for lines of one millisecond and the next for a later one', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { times, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    vi.setSystemTime(Date.UTC(2026, 11, 6, 1, 2, 3, 456));
    logger.info('first');
    logger.info('same millisecond');
    vi.setSystemTime(Date.UTC(2026, 11, 6, 1, 2, 3, 457));
    logger.info('next millisecond');
    vi.setSystemTime(Date.UTC(2027, 0, 1));
    logger.child({ role: 'worker' }).info('next year, from a child');
    expect(times).toEqual(['2026-12-06T01:02:03.456Z', '2026-12-06T01:02:03.456Z', '2026-12-06T01:02:03.457Z', '2027-01-01T00:00:00.000Z']);
  });
});
