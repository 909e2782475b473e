/**
 * The web console's logic without a browser: task forms from JSON Schema (ui/src/pages/schema.ts),
 * the graph's layout (ui/src/pages/layout.ts) and deadline countdowns (ui/src/time.ts). The
 * browser tests (test/ui) drive the same code through the pages.
 */
import { describe, expect, it } from 'vitest';
import { layout, type DagNode } from '../../ui/src/pages/layout.js';
import { check, initialValue, prune, type Schema } from '../../ui/src/pages/schema.js';
import { countdown } from '../../ui/src/time.js';

const FORM: Schema = {
  type: 'object',
  required: ['amount', 'centre'],
  properties: {
    amount: { type: 'integer', minimum: 0, maximum: 10000 },
    rate: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    centre: { type: 'string', enum: ['engineering', 'sales'] },
    note: { type: 'string', maxLength: 5 },
    code: { type: 'string', pattern: '^[A-Z]{2}$' },
    urgent: { type: 'boolean', default: true },
    payment: { type: 'object', required: ['iban'], properties: { iban: { type: 'string', minLength: 4 } } },
  },
};

describe('task forms from JSON Schema', () => {
  it('start from defaults, with nested objects and booleans filled in', () => {
    expect(initialValue(FORM)).toEqual({
      amount: undefined,
      rate: undefined,
      centre: undefined,
      note: undefined,
      code: undefined,
      urgent: true,
      payment: { iban: undefined },
    });
  });

  it('name each problem by its field path: required, bounds, whole numbers, enums, lengths, patterns, nested fields', () => {
    expect(check(FORM, { payment: {} })).toEqual({ amount: 'Required.', centre: 'Required.', 'payment.iban': 'Required.' });
    expect(check(FORM, { amount: 20000, rate: 1, centre: 'legal', note: 'too long', code: 'abc', payment: { iban: 'DE' } })).toEqual({
      amount: 'At most 10000.',
      rate: 'Less than 1.',
      centre: 'Choose one of: engineering, sales.',
      note: 'At most 5 characters.',
      code: 'Must match ^[A-Z]{2}$.',
      'payment.iban': 'At least 4 characters.',
    });
    expect(check(FORM, { amount: 1.5, centre: 'sales', payment: { iban: 'DE89' } })).toEqual({ amount: 'Enter a whole number.' });
    expect(check(FORM, { amount: -1, rate: 0, centre: 'sales', payment: { iban: 'DE89' } })).toEqual({ amount: 'At least 0.', rate: 'More than 0.' });
    expect(check(FORM, { amount: 120, centre: 'sales', code: 'AB', payment: { iban: 'DE89' } })).toEqual({});
  });

  it('submit what was filled in: empty optional fields are left out', () => {
    expect(prune({ amount: 120, note: '', code: undefined, payment: { iban: 'DE89', bic: '' }, tags: ['a'] })).toEqual({
      amount: 120,
      payment: { iban: 'DE89' },
      tags: ['a'],
    });
  });
});

describe("the run graph's layout", () => {
  const node = (id: string, needs: string[] = []): DagNode => ({ id, kind: 'transform', needs, status: 'pending' });

  it('puts each step one column after the longest chain of needs before it, one row per step in a column', () => {
    const placed = layout([node('start'), node('nap', ['start']), node('side', ['start']), node('join', ['nap', 'side']), node('late', ['start', 'join'])]);
    expect(Object.fromEntries(placed)).toEqual({
      start: { layer: 0, row: 0 },
      nap: { layer: 1, row: 0 },
      side: { layer: 1, row: 1 },
      join: { layer: 2, row: 0 },
      late: { layer: 3, row: 0 },
    });
  });

  it('ignores needs of steps it does not know, and ends on a cycle instead of looping', () => {
    const placed = layout([node('a', ['ghost']), node('b', ['c']), node('c', ['b'])]);
    expect(placed.get('a')).toEqual({ layer: 0, row: 0 });
    expect(placed.size).toBe(3);
  });
});

describe('deadline countdowns', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('say how long is left, or how long overdue, in the largest units that fit', () => {
    expect(countdown('2026-01-03T05:30:00Z', now)).toBe('due in 2 d 5 h');
    expect(countdown('2026-01-01T03:12:00Z', now)).toBe('due in 3 h 12 min');
    expect(countdown('2026-01-01T00:05:00Z', now)).toBe('due in 5 min');
    expect(countdown('2026-01-01T00:00:42Z', now)).toBe('due in 42 s');
    expect(countdown('2025-12-31T23:58:00Z', now)).toBe('overdue by 2 min');
  });
});
