/** The bench's summary statistics: medians of alternated rounds. */

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of each figure `pick` reads from every round. */
export function medians<T, K extends string>(rounds: readonly T[], pick: (round: T) => Record<K, number>): Record<K, number> {
  const figures = rounds.map(pick);
  const keys = Object.keys(figures[0] ?? {}) as K[];
  return Object.fromEntries(keys.map((key) => [key, median(figures.map((f) => f[key]))])) as Record<K, number>;
}
