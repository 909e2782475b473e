/** An agent step's journal: its turns, model calls and tool calls (arguments and results, secrets masked), a page at a time. */
import { Type } from 'typebox';
import { StepJournalSchema } from '../../app/dto/journal.js';
import { JOURNAL_PAGE } from '../../app/journal.js';
import type { RouteTable, ServerDeps } from '../route.js';

export function journalRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/runs/:id/steps/:step/journal',
    scope: 'runs:read',
    summary: "An agent step's turns: each model call (model, tokens, cost, latency, finish reason) and the tool calls it asked for, with arguments and results",
    tags: ['runs'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'getStepJournal',
      params: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }),
        step: Type.String({ minLength: 1, maxLength: 160, description: 'Id of an agent step (a for_each item: `step[index]`)' }),
      }),
      querystring: Type.Object({
        after: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0, description: 'Turns after this one (next_after of the previous page)' }),
        ),
        limit: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: JOURNAL_PAGE.maxLimit,
            default: JOURNAL_PAGE.limit,
            description: `Turns per page (at most ${JOURNAL_PAGE.maxLimit})`,
          }),
        ),
        max_chars: Type.Optional(
          Type.Integer({
            minimum: 100,
            maximum: 100_000,
            default: JOURNAL_PAGE.maxChars,
            description: 'Texts (assistant messages, tool arguments, results and errors) longer than this are clipped, with a marker',
          }),
        ),
      }),
      response: { 200: StepJournalSchema },
    },
    handler: (request, _reply, principal) =>
      deps.services.runs.journal(principal, request.params.id, request.params.step, {
        after: request.query.after ?? 0,
        limit: request.query.limit ?? JOURNAL_PAGE.limit,
        maxChars: request.query.max_chars ?? JOURNAL_PAGE.maxChars,
      }),
  });
}
