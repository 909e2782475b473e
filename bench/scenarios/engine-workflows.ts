/** The workflows of the `engine` scenario: one no-op `transform` step, and a chain of ten. */
export const CHAIN_LENGTH = 10;

export const BENCH_WORKFLOWS: Array<{ name: string } & Record<string, unknown>> = [
  { name: 'one', steps: { only: { transform: { ok: true } } } },
  {
    name: 'chain',
    steps: Object.fromEntries(
      Array.from({ length: CHAIN_LENGTH }, (_, i) => {
        const id = `s${String(i + 1).padStart(2, '0')}`;
        const previous = `s${String(i).padStart(2, '0')}`;
        return [id, { ...(i > 0 ? { needs: [previous] } : {}), transform: { i: i + 1 } }];
      }),
    ),
  },
];
