/**
 * Signals: something outside a run (a webhook, a script, a person) tells it that an event
 * happened. A `wait: { signal: <name> }` step resumes with the payload as its output. Sending
 * the same signal again is harmless (`duplicate: true`, nothing changes), so senders may retry.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { SignalReceiptSchema } from '../../app/dto/tasks.js';
import { SIGNAL_NAME_PATTERN } from '../../app/dto/task-limits.js';
import type { RouteTable, ServerDeps } from '../route.js';

/**
 * Whether the request carried a body. The app turns a bodiless POST into `{}` before
 * validation (so `curl -X POST` works everywhere); a signal without a body has payload `null`.
 */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function signalRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'POST',
    url: '/v1/runs/:id/signals/:name',
    scope: 'runs:write',
    summary: 'Send a signal to a run: the step waiting for it resumes with the JSON body as its output',
    tags: ['runs'],
    errors: ['not_found', 'conflict'],
    schema: {
      operationId: 'sendSignal',
      params: Type.Object({
        id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }),
        name: Type.String({ pattern: SIGNAL_NAME_PATTERN, description: "Signal name, as in the step's `wait: { signal: <name> }`" }),
      }),
      body: Type.Unknown({ description: 'The payload: any JSON value (optional; null without a body)' }),
      response: {
        202: { ...SignalReceiptSchema, description: 'The signal was received; the waiting step resumes' },
        200: { ...SignalReceiptSchema, description: 'The same signal (same payload) had already been received: nothing changed' },
      },
    },
    async handler(request, reply, principal) {
      const { id, name } = request.params;
      const payload = hasBody(request) ? request.body : null;
      const { receipt, duplicate } = await deps.services.tasks.signal(principal, id, name, payload);
      return reply.code(duplicate ? 200 : 202).send(receipt);
    },
  });
}
