/** Calendar helpers shared by the gateway's budgets and the store's usage queries. */

/** The UTC day of an epoch-milliseconds time, as `YYYY-MM-DD`. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The UTC calendar month of an epoch-milliseconds time, as `YYYY-MM`. */
export function utcMonth(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 7);
}

/** The first and last UTC days (`YYYY-MM-DD`) of a month `YYYY-MM`. */
export function monthDays(month: string): { first: string; last: string } {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return { first: `${month}-01`, last: `${month}-${String(last).padStart(2, '0')}` };
}
