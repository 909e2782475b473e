/**
 * The values of options read as text: a flag or variable's string coerced to the option's
 * kind (whole number, boolean, duration), and the options that hold a list or a port parsed
 * and checked. None throws: each says what is wrong (an error, or a line added to `problems`),
 * so that `loadConfig` reports every problem at once.
 */
import { parseAddressList } from '../lib/address-list.js';
import { parseDurationText } from '../lib/duration.js';
import type { ValueKind } from './config-option.js';

/** A string value as the option's kind; other values (already typed: a flag, YAML) pass as they are. */
export function coerce(kind: ValueKind, value: unknown): { value: unknown; error?: string } {
  if (value === undefined || typeof value !== 'string') {
    if (kind === 'duration' && typeof value === 'number' && !Number.isSafeInteger(value)) return { value, error: 'must be a duration like 500ms, 2s or 1m' };
    return { value };
  }
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(value.trim()) ? { value: Number(value) } : { value, error: `must be a whole number, got '${value}'` };
    case 'boolean': {
      const lower = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(lower)) return { value: false };
      return { value, error: `must be true or false, got '${value}'` };
    }
    case 'duration': {
      const ms = parseDurationText(value);
      return ms === undefined ? { value, error: `must be a duration like 500ms, 2s or 1m, got '${value}'` } : { value: ms };
    }
    default:
      return { value };
  }
}

/** `AGENTRY_PROBE_PORT`: a port (0: any free one), undefined for `off`, null when it is neither. */
export function probePortOf(value: unknown): number | undefined | null {
  const text = String(value).trim().toLowerCase();
  if (text === 'off') return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return null;
  return Number(text);
}

/**
 * `AGENTRY_CORS_ORIGINS`: comma-separated origins, each exactly as a browser sends it in
 * `Origin` (scheme, host, and port unless the default; no path, no `*`), since they are
 * compared as strings.
 */
export function parseOrigins(text: string | undefined, problems: string[]): string[] {
  const origins: string[] = [];
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin === entry && /^https?:/.test(entry)) origins.push(entry);
    else problems.push(`AGENTRY_CORS_ORIGINS: '${entry}' is not an origin like https://app.example.com (scheme and host, no path, no trailing slash, no *)`);
  }
  return origins;
}

/** A comma-separated list of environment variable names. */
export function variableNames(value: unknown, label: string, problems: string[]): string[] {
  const names = (typeof value === 'string' ? value : '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const name of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`${label}: '${name}' is not an environment variable name`);
  return [...new Set(names)];
}

/** A comma-separated list of IPs or CIDR blocks (`lib/address-list.ts`). */
export function addressListOf(value: unknown, label: string, problems: string[]): string[] {
  const { entries, problems: bad } = parseAddressList(typeof value === 'string' ? value : undefined, label);
  problems.push(...bad);
  return entries;
}
