import { describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';

describe('ids', () => {
  it('are unique, prefixed, URL-safe and ordered by creation time', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newId('run', 1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^run_[0-9a-z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});
