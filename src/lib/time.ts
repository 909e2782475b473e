/** Calendar helpers shared by the gateway's budgets and the store's usage queries. */

/** The UTC day of an epoch-milliseconds time, as `YYYY-MM-DD`. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
