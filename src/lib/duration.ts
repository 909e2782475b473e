/**
 * Durations in specs: a string of one or more `<integer><unit>` parts (`500ms`, `2s`,
 * `1h30m`, `1d`) or a non-negative integer number of milliseconds.
 */
import { AgentryError } from './errors.js';

export const DURATION_PATTERN = '^(\\d+(ms|s|m|h|d))+$';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+)(ms|s|m|h|d)/g;
const WHOLE = new RegExp(DURATION_PATTERN);

/** Milliseconds of a spec duration; throws `invalid_request` for anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new AgentryError('invalid_request', `invalid duration ${value}: must be a non-negative whole number of milliseconds`);
  }
  if (!WHOLE.test(value)) {
    throw new AgentryError('invalid_request', `invalid duration '${value}': use e.g. 500ms, 2s, 1h30m or 1d`);
  }
  let total = 0;
  for (const match of value.matchAll(PART)) {
    const unit = match[2] as keyof typeof UNIT_MS;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isSafeInteger(total)) {
    throw new AgentryError('invalid_request', `invalid duration '${value}': too large`);
  }
  return total;
}

/** Milliseconds of `500ms`, `2s`, `1m`, `1h30m`, `1d` or a whole number of milliseconds; undefined otherwise. */
export function parseDurationText(text: string): number | undefined {
  const trimmed = text.trim();
  try {
    return parseDuration(/^\d+$/.test(trimmed) ? Number(trimmed) : trimmed);
  } catch {
    return undefined;
  }
}

/** A duration as people write it, in the largest unit that divides it exactly: `2m`, `90s`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** An elapsed time in its two largest units, for people: `3d 4h`, `5h 12m`, `42s`, `250ms`. */
export function formatAge(ms: number): string {
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const;
  const abs = Math.abs(Math.round(ms));
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${abs}ms`;
  const i = units.findIndex(([, size]) => abs >= size);
  const [unit, size] = units[i]!;
  const next = units[i + 1];
  const whole = Math.floor(abs / size);
  const rest = next === undefined ? 0 : Math.floor((abs % size) / next[1]);
  return `${sign}${whole}${unit}${rest > 0 && next !== undefined ? ` ${rest}${next[0]}` : ''}`;
}
