/** Small text helpers for terminal output: colours, durations, tables, status symbols. */
export interface Style {
  color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type Color = keyof typeof CODES;

export function paint(style: Style, color: Color, text: string): string {
  return style.color ? `\x1b[${CODES[color]}m${text}\x1b[${color === 'bold' || color === 'dim' ? 22 : 39}m` : text;
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  return { color: stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb' };
}

export const STATUS_LOOK: Record<string, { symbol: string; color: Color }> = {
  pending: { symbol: '·', color: 'gray' },
  queued: { symbol: '○', color: 'gray' },
  running: { symbol: '▶', color: 'cyan' },
  waiting: { symbol: '◷', color: 'yellow' },
  retrying: { symbol: '↻', color: 'yellow' },
  succeeded: { symbol: '✓', color: 'green' },
  failed: { symbol: '✗', color: 'red' },
  timed_out: { symbol: '✗', color: 'red' },
  skipped: { symbol: '↷', color: 'gray' },
  cancelled: { symbol: '⊘', color: 'yellow' },
  expired: { symbol: '✗', color: 'red' },
};

export function statusText(style: Style, status: string): string {
  const look = STATUS_LOOK[status] ?? { symbol: '?', color: 'gray' };
  return paint(style, look.color, `${look.symbol} ${status}`);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatTime(epochMs: number | null): string {
  return epochMs === null
    ? '-'
    : new Date(epochMs)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

/** An API time (ISO 8601) like `formatTime`. */
export function formatIso(iso: string | null): string {
  return iso === null ? '-' : formatTime(Date.parse(iso));
}

/** Visible width (without ANSI colour codes). */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

export function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

/** Left-aligned columns separated by two spaces; the header is bold on a terminal. */
export function table(style: Style, header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [paint(style, 'bold', line(header)), ...rows.map(line)].join('\n');
}

/** A value as indented JSON (coloured on a terminal). */
export function formatValue(style: Style, value: unknown, indent = '  '): string {
  const json = JSON.stringify(value, null, 2) ?? 'null';
  // Keys dim-free, strings green: enough colour to scan, still valid JSON when copied.
  const text = style.color
    ? json.replace(/(: |^\s*|\[\s*)("(?:[^"\\]|\\.)*")(?=,?$)/gm, (_m, lead: string, str: string) => `${lead}${paint(style, 'green', str)}`)
    : json;
  return text
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
