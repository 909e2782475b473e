/** Calendar helpers shared by the gateway's budgets and the store's usage queries. */

const DAY_MS = 86_400_000;

// The day of the last time asked, and its texts: the gateway's ledger asks for the same day's
// once per call record, and formatting a `Date` each time showed in its profile.
let lastDay = Number.NaN;
let lastDayText = '';

function dayText(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== lastDay) {
    lastDayText = new Date(epochMs).toISOString().slice(0, 10); // throws on an invalid time, as before
    lastDay = day;
  }
  return lastDayText;
}

/** The UTC day of an epoch-milliseconds time, as `YYYY-MM-DD`. */
export function utcDay(epochMs: number): string {
  return dayText(epochMs);
}

/** The UTC calendar month of an epoch-milliseconds time, as `YYYY-MM`. */
export function utcMonth(epochMs: number): string {
  return dayText(epochMs).slice(0, 7);
}

/**
 * The epoch-milliseconds span `[from, until)` of the UTC days `first` to `last` (`YYYY-MM-DD`,
 * both included): the ledger's `at` range of records whose `day` is in them (its indexes are by
 * time). An unparsable day gives `NaN`.
 */
export function daysSpanMs(first: string, last: string): { from: number; until: number } {
  return { from: Date.parse(`${first}T00:00:00Z`), until: Date.parse(`${last}T00:00:00Z`) + DAY_MS };
}

/** The first and last UTC days (`YYYY-MM-DD`) of a month `YYYY-MM`. */
export function monthDays(month: string): { first: string; last: string } {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return { first: `${month}-01`, last: `${month}-${String(last).padStart(2, '0')}` };
}
