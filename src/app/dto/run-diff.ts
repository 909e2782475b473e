/** What `GET /v1/runs/{a}/diff/{b}` answers: the differences between two runs (`app/run-diff.ts`). */
import { Type, type Static } from 'typebox';
import { RUN_STATUSES } from '../../types.js';
import { ValueChangeSchema } from './runs.js';

const RunSideSchema = Type.Object(
  {
    id: Type.String(),
    workflow: Type.String(),
    status: Type.Enum([...RUN_STATUSES]),
    spec_hash: Type.String(),
  },
  { description: 'Which run this side is' },
);

export const RunDiffSchema = Type.Object(
  {
    a: RunSideSchema,
    b: RunSideSchema,
    steps: Type.Object(
      {
        only_in_a: Type.Array(Type.String(), { description: 'Steps run a has and run b has not' }),
        only_in_b: Type.Array(Type.String(), { description: 'Steps run b has and run a has not' }),
        changed: Type.Array(Type.String(), { description: 'Steps of both runs that differ (in status, attempts, output, error or duration)' }),
        unchanged: Type.Integer({ description: 'How many steps of both runs do not differ' }),
      },
      { description: 'Step ids in the workflow order (run a first, then the steps only run b has); complete even when differences is truncated' },
    ),
    differences: Type.Array(ValueChangeSchema, {
      description:
        'Each difference from run a (before) to run b (after), its path an RFC 6901 JSON Pointer into { workflow, spec_hash, status, input, output, error, metadata, overrides, duration_ms, steps: { <id>: { kind, status, attempt, output, error, duration_ms } } }: e.g. /steps/fetch/output/items/3/price',
    }),
    truncated: Type.Boolean({ description: 'More differences were found than `limit`: differences holds the first `limit`' }),
    limit: Type.Integer({ description: 'The most differences reported' }),
  },
  { title: 'RunDiff' },
);
export type RunDiffDto = Static<typeof RunDiffSchema>;
