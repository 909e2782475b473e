/**
 * The workflows of the `engine` scenario: one no-op `transform` step, a chain of ten, and the
 * parked ones (`PARKED_WORKFLOWS`): a run of each waits, parked in the store with no worker, on
 * a timer or a person — what the "waiting runs" cases fill the store with.
 */
export const CHAIN_LENGTH = 10;

/** Each parks its run at its first step for an hour or more (see engine-parked.ts). */
export const PARKED_WORKFLOWS: Array<{ name: string } & Record<string, unknown>> = [
  // A durable timer: the step suspends until `available_at` = start + 1 h.
  { name: 'parked-sleep', steps: { nap: { sleep: '1h' } } },
  // A signal that does not come: waits with a one-hour timeout.
  { name: 'parked-signal', steps: { payment: { wait: { signal: 'payment', timeout: '1h' } } } },
  // People: an approval with a three-day deadline, and one with none.
  { name: 'parked-approval', steps: { review: { human: { title: 'Approve the claim', role: 'reviewer', timeout: '3d', on_timeout: 'continue' } } } },
  { name: 'parked-person', steps: { review: { human: { title: 'Decide whenever', assignees: ['ada'] } } } },
];

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
  ...PARKED_WORKFLOWS,
];
