/**
 * Events across runs, for diagnosis (`GET /v1/events`): a time window narrowed by workflow, type,
 * run and step, in time order, cursor-paged. Scoped like `GET /v1/runs`: the caller's tenant, and
 * its own runs unless it has `runs:read:all`. One run's history, or following it live, is
 * `GET /v1/runs/{id}/events`.
 */
import { Type } from 'typebox';
import { EVENT_PAGE, WorkflowEventPageSchema } from '../../app/dto/events.js';
import { AgentryError } from '../../lib/errors.js';
import { EVENT_TYPES } from '../../types.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Time = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));

/** Epoch ms of an RFC 3339 time the schema let through; `invalid_request` naming `name` for one that is no instant (a leap second). */
function instant(text: string, name: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `${name} is not an RFC 3339 date-time this server can place`);
  return ms;
}

export function eventRoutes(table: RouteTable, deps: ServerDeps): void {
  const { events } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/events',
    scope: 'runs:read',
    summary: 'Events across runs, in time order: by workflow, type, run, step and time window',
    tags: ['runs'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'listEvents',
      querystring: Type.Object(
        {
          workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only events of runs of this workflow' })),
          type: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 1000,
              description: `Comma-separated event types, each exact (run.failed) or a family (step.*); any of them matches. Types: ${EVENT_TYPES.join(', ')}`,
            }),
          ),
          run_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only events of this run' })),
          step_id: Type.Optional(Type.String({ minLength: 1, maxLength: 160, description: 'Only events of this step (a for_each item: `step[index]`)' })),
          from: Time('RFC 3339: events at or after this time'),
          to: Time('RFC 3339: events before this time (not after from)'),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: EVENT_PAGE.maxLimit, default: EVENT_PAGE.limit })),
          cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
        },
        { additionalProperties: false },
      ),
      response: { 200: WorkflowEventPageSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      return events.list(principal, {
        limit: q.limit ?? EVENT_PAGE.limit,
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(q.type === undefined ? {} : { type: q.type }),
        ...(q.run_id === undefined ? {} : { runId: q.run_id }),
        ...(q.step_id === undefined ? {} : { stepId: q.step_id }),
        ...(q.from === undefined ? {} : { from: instant(q.from, 'from') }),
        ...(q.to === undefined ? {} : { to: instant(q.to, 'to') }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  });
}
