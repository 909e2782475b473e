/**
 * The server's recent log lines (`GET /v1/admin/logs`; what `agentry logs [-f]` shows): the
 * backlog as JSON, or (`?follow=true`, or Accept: text/event-stream) the backlog and then every
 * new line as a `text/event-stream` (`id: <seq>`, `event: log`, `data: <the line's JSON>`). A reader that
 * falls more than 1,000 lines behind gets `event: dropped` and the stream ends. Scope
 * `logs:read` (admin only); deployment-wide. The lines are those written on stderr, after
 * redaction (see `app/logs.ts`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { LOG_LEVEL_FILTERS, LogPageSchema } from '../../app/dto/logs.js';
import { MAX_LOG_LIMIT, type FollowItem } from '../../app/logs.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { openEventStream, wantsEventStream } from '../sse.js';

const DEFAULT_LIMIT = 200;

const LogQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_LOG_LIMIT,
        default: DEFAULT_LIMIT,
        description: 'The newest lines to answer (the stream: the backlog before new lines)',
      }),
    ),
    level: Type.Optional(Type.Enum([...LOG_LEVEL_FILTERS], { description: 'Only lines at this level and above' })),
    follow: Type.Optional(Type.Boolean({ description: 'Stream: the backlog, then every new line as text/event-stream (also with Accept: text/event-stream)' })),
  },
  { additionalProperties: false },
);

function frame(item: FollowItem): string {
  if (item.kind === 'dropped')
    return `event: dropped\ndata: ${JSON.stringify({ reason: 'the reader fell behind the log; reconnect to follow again', pending: item.pending })}\n\n`;
  return `id: ${item.line.seq}\nevent: log\ndata: ${JSON.stringify(item.line.record)}\n\n`;
}

/** Takes over the response and streams `items` until they end, the client goes or the server closes. */
async function streamLines(
  deps: ServerDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  items: AsyncGenerator<FollowItem>,
  closed: AbortController,
): Promise<void> {
  const stream = openEventStream(deps, request, reply, closed);
  try {
    await stream.write(': log lines of this process\n\n');
    for await (const item of items) await stream.write(frame(item));
  } finally {
    // Ends the follow too (it unsubscribes from the ring) when the stream ended on the client's side.
    closed.abort();
    stream.end();
  }
}

export function logRoutes(table: RouteTable, deps: ServerDeps): void {
  const { logs } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/admin/logs',
    scope: 'logs:read',
    deploymentWide: true,
    summary:
      'The newest log lines of the answering process (as written on stderr, redacted), oldest first; with `follow=true` (or Accept: text/event-stream) ' +
      'then every new line as it is written (`event: log`, `data: <line JSON>`); a reader over 1,000 lines behind gets `event: dropped` and the end',
    tags: ['fleet'],
    errors: ['not_found'],
    schema: {
      operationId: 'listLogs',
      querystring: LogQuery,
      response: {
        200: {
          description: 'A page of lines (application/json), or the event stream (text/event-stream)',
          content: {
            'application/json': { schema: LogPageSchema },
            'text/event-stream': { schema: Type.String({ description: 'id: <seq>\\nevent: log\\ndata: <log line JSON>' }) },
          },
        },
      },
    },
    async handler(request, reply, principal) {
      const { limit = DEFAULT_LIMIT, level, follow } = request.query;
      if (follow !== true && !wantsEventStream(request.headers.accept))
        return reply.type('application/json').send(await logs.recent(principal, { limit, level }));
      const closed = new AbortController();
      // Refused (not found, forbidden) before the response is taken over.
      const items = logs.follow(principal, { limit, level, signal: closed.signal });
      await streamLines(deps, request, reply, items, closed);
      return reply;
    },
  });
}
