/** What `GET /v1/runs/{id}/checkpoints[/diff]` answer: a run's checkpoints and the diff of its state between two (`app/run-checkpoints.ts`). */
import { Type, type Static } from 'typebox';
import { EVENT_TYPES } from '../../types.js';
import { Nullable, Time } from './common.js';
import { ValueChangeSchema } from './runs.js';

export const CheckpointSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'The event’s sequence number in the run: the checkpoint’s id' }),
    type: Type.Enum([...EVENT_TYPES].filter((t) => t.startsWith('run.') || t.startsWith('step.'))),
    step_id: Nullable(Type.String({ description: 'The step whose state changed; null for a change of the run’s' })),
    attempt: Nullable(Type.Integer({ description: 'The step’s attempt the event names' })),
    at: Time,
  },
  { title: 'Checkpoint' },
);
export type CheckpointDto = Static<typeof CheckpointSchema>;

export const CheckpointPageSchema = Type.Object(
  {
    run_id: Type.String(),
    items: Type.Array(CheckpointSchema, { description: 'Oldest first' }),
    next_after: Nullable(Type.Integer({ description: 'Pass as ?after= for the next page; null: no more' })),
  },
  { title: 'CheckpointPage' },
);
export type CheckpointPageDto = Static<typeof CheckpointPageSchema>;

export const CheckpointDiffSchema = Type.Object(
  {
    run_id: Type.String(),
    from: CheckpointSchema,
    to: CheckpointSchema,
    differences: Type.Array(ValueChangeSchema, {
      description:
        "Each change of the run's state from checkpoint `from` (before) to `to` (after), its path an RFC 6901 JSON Pointer into { status, output, error, steps: { <id>: { status, attempt, output, error } } }: e.g. /steps/fetch/output/price",
    }),
    truncated: Type.Boolean({ description: 'More differences were found than `limit`: differences holds the first `limit`' }),
    limit: Type.Integer(),
  },
  { title: 'CheckpointDiff' },
);
export type CheckpointDiffDto = Static<typeof CheckpointDiffSchema>;
