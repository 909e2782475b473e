/** The UTC day and month of a time: right across day, month and year boundaries, asked in any order. */
import { describe, expect, it } from 'vitest';
import { utcDay, utcMonth } from '../../src/lib/time.js';

describe('utcDay and utcMonth', () => {
  it('give each time its own UTC day and month, whatever was asked before', () => {
    const times = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2026, 11, 31, 0, 0, 0, 0),
      Date.UTC(2026, 1, 28, 12),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(1970, 0, 1),
      Date.UTC(2027, 0, 1, 23, 59),
    ];
    for (const at of [...times, ...times.reverse()]) {
      const iso = new Date(at).toISOString();
      expect([utcDay(at), utcMonth(at)]).toEqual([iso.slice(0, 10), iso.slice(0, 7)]);
    }
  });

  it('refuses an invalid time as before', () => {
    expect(() => utcDay(Number.NaN)).toThrow(RangeError);
  });
});
