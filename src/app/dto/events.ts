/**
 * What `GET /v1/events` returns: events across runs, each the event the per-run route returns
 * (`GET /v1/runs/{id}/events`) with its run and the run's workflow.
 */
import { Type, type Static } from 'typebox';
import type { WorkflowEvent } from '../../store/store.js';
import { Nullable } from './common.js';
import { EventSchema, eventDto } from './runs.js';

/** A page's default and largest `limit`, and how many events of the window one page looks at, at most. */
export const EVENT_PAGE = { limit: 100, maxLimit: 1000, scanLimit: 10_000 } as const;

export const WorkflowEventSchema = Type.Object(
  {
    run_id: Type.String(),
    workflow: Type.String({ description: "The run's workflow" }),
    ...EventSchema.properties,
  },
  { title: 'WorkflowEvent' },
);
export type WorkflowEventDto = Static<typeof WorkflowEventSchema>;

export const WorkflowEventPageSchema = Type.Object(
  {
    items: Type.Array(WorkflowEventSchema, { description: 'In time order (at, then run_id, then seq)' }),
    next_cursor: Nullable(
      Type.String({
        description: `Pass as ?cursor= for the next page; null when the window holds no more. A page looks at no more than ${EVENT_PAGE.scanLimit} events of the window, so it may hold fewer than \`limit\` (even none) while this is set`,
      }),
    ),
  },
  { title: 'WorkflowEventPage' },
);
export type WorkflowEventPageDto = Static<typeof WorkflowEventPageSchema>;

export function workflowEventDto(event: WorkflowEvent): WorkflowEventDto {
  return { run_id: event.runId, workflow: event.workflow, ...eventDto(event) };
}
