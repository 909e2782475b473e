/** Time left before a deadline in words ("due in 3 h 12 min", "overdue by 2 min"), for the inbox. No DOM: unit-tested (test/unit/console.forms.test.ts). */
export function countdown(due: string, now: number): string {
  const ms = Date.parse(due) - now;
  const abs = Math.abs(ms);
  const m = Math.floor(abs / 60_000);
  const text =
    m >= 1440
      ? `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`
      : m >= 60
        ? `${Math.floor(m / 60)} h ${m % 60} min`
        : m >= 1
          ? `${m} min`
          : `${Math.floor(abs / 1000)} s`;
  return ms >= 0 ? `due in ${text}` : `overdue by ${text}`;
}
