/**
 * The run stream (`GET /v1/runs/stream`): the runs the caller may list as they change, as a
 * `text/event-stream` that resumes after `Last-Event-ID`, or a JSON page of the changes up to
 * now. What it reads and how it resumes: `src/app/run-changes.ts`.
 */
import { Type } from 'typebox';
import { RunChangePageSchema } from '../../app/dto/runs.js';
import { RUN_CHANGE_POSITION_PATTERN } from '../../app/run-changes.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { mapFrames, streamFrames, wantsEventStream } from '../sse.js';

export function runStreamRoutes(table: RouteTable, deps: ServerDeps): void {
  const { runs } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/runs/stream',
    scope: 'runs:read',
    summary:
      'The runs the caller may list as they change (created, started, waiting, resumed, blocked, ended), each with the run and its cost: a text/event-stream (Accept: text/event-stream) that resumes after Last-Event-ID, or a JSON page of the changes up to now',
    tags: ['runs'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'streamRunChanges',
      querystring: Type.Object(
        {
          after: Type.Optional(
            Type.String({
              pattern: RUN_CHANGE_POSITION_PATTERN,
              description: 'The changes after this position (an id the stream sent); default: from a few seconds (2 s) before the request',
            }),
          ),
          workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only the runs of this workflow' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'JSON: the most changes in the page' })),
        },
        { additionalProperties: false },
      ),
      headers: Type.Object({
        'last-event-id': Type.Optional(Type.String({ pattern: RUN_CHANGE_POSITION_PATTERN, description: 'Resume after this position (overrides ?after=)' })),
      }),
      response: {
        200: {
          description: 'The changes up to now (application/json) or the stream of changes (text/event-stream)',
          content: {
            'application/json': { schema: RunChangePageSchema },
            'text/event-stream': { schema: Type.String({ description: 'id: <position>\\nevent: <run event type>\\ndata: <RunChange JSON>' }) },
          },
        },
      },
    },
    async handler(request, reply, principal) {
      const q = request.query;
      const options = {
        pollMs: deps.ssePollMs,
        settleMs: deps.runStreamSettleMs,
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...((request.headers['last-event-id'] ?? q.after) === undefined ? {} : { after: request.headers['last-event-id'] ?? q.after }),
      };
      if (!wantsEventStream(request.headers.accept)) {
        return reply.type('application/json').send(await runs.changePage(principal, options, q.limit ?? 100));
      }
      const closed = new AbortController();
      const changes = runs.changes(principal, { ...options, signal: closed.signal });
      await streamFrames(deps, request, reply, closed, {
        intro: `changes of runs${options.after === undefined ? '' : ` after ${options.after}`}`,
        frames: mapFrames(changes, (change) => ({ id: change.id, event: change.type, data: change })),
        logFields: {},
      });
      return reply;
    },
  });
}
