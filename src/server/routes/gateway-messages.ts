/**
 * Anthropic's Messages API on the gateway: `POST /v1/messages` (streaming and not), `model`
 * being a model group, so Anthropic's clients (`@anthropic-ai/sdk` with `baseURL` the server and
 * an Agentry key as `apiKey`, sent as `X-Api-Key`) work as OpenAI's do on `/v1/chat/completions`.
 *
 * The request is translated at the edge (`gateway/anthropic-messages/`) and takes the gateway's
 * one call path — model groups, fallbacks, budgets, the usage ledger, tracing, redaction — with
 * the same auth, scope and `x-agentry-*` run context as chat completions. An Anthropic target gets
 * the caller's body as sent and its answer comes back as it came; any other target's answer is
 * translated into a `message` or Anthropic's event stream. Errors are in Anthropic's shape
 * (`anthropic-errors.ts`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { toAgentryError } from '../../lib/errors.js';
import type { Redactor } from '../../lib/redact.js';
import type { Gateway } from '../../gateway/gateway.js';
import { fromMessagesBody } from '../../gateway/anthropic-messages/request.js';
import { toMessagesMessage } from '../../gateway/anthropic-messages/response.js';
import { MessagesBodySchema } from '../../gateway/anthropic-messages/schema.js';
import { MessagesStreamTranslator, sseFrame } from '../../gateway/anthropic-messages/stream.js';
import type { CallContext, ChatRequest } from '../../gateway/types.js';
import { anthropicErrorBody } from '../anthropic-errors.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { callContext, clientGone, ContextHeadersSchema, eventWriter, forward, META_HEADERS, requireGateway } from './gateway.js';

const MessageSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('message'),
    role: Type.Literal('assistant'),
    model: Type.String(),
    content: Type.Array(Type.Unknown()),
    stop_reason: Type.Union([Type.String(), Type.Null()]),
    usage: Type.Unknown(),
  },
  { additionalProperties: true, title: 'Message' },
);

/**
 * Streams a message as Anthropic does: named SSE events from `message_start` to `message_stop`.
 * Failures before the first event (unknown group, budget, every provider down) are answered as
 * an error response; later ones as an `event: error` frame, which Anthropic's clients raise.
 */
async function streamMessages(
  gateway: Gateway,
  chat: ChatRequest,
  ctx: CallContext,
  request: FastifyRequest,
  reply: FastifyReply,
  gone: AbortSignal,
  redactor: Redactor,
): Promise<void> {
  const iterator = gateway.stream(chat, ctx)[Symbol.asyncIterator]();
  let next = await iterator.next();
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
    'request-id': request.id,
  });
  const write = eventWriter(reply, gone, redactor);
  const translator = new MessagesStreamTranslator();
  try {
    while (next.done !== true && !gone.aborted) {
      for (const event of translator.push(next.value)) await write(sseFrame(event));
      next = await iterator.next();
    }
    for (const event of translator.end()) await write(sseFrame(event));
  } catch (error) {
    const e = toAgentryError(error);
    if (e.status >= 500 && !gone.aborted) request.log.error({ err: error }, `messages stream failed: ${e.message}`);
    const { body } = anthropicErrorBody(e, request.id);
    await write(sseFrame({ ...body, type: 'error' }));
  } finally {
    // Not read to the end (the client went): the gateway stops the upstream call and records it.
    await iterator.return?.(undefined).catch(() => undefined);
    if (!reply.raw.writableEnded) reply.raw.end();
  }
}

export function gatewayMessagesRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'POST',
    url: '/v1/messages',
    scope: 'gateway:use',
    summary: "A message in Anthropic's Messages API format (model = a model group); `stream: true` answers Anthropic's event stream",
    tags: ['gateway'],
    errors: ['not_found', 'budget_exceeded', 'not_ready', 'provider_error', 'provider_timeout', 'provider_unavailable'],
    anthropicErrors: true,
    internalTokens: true,
    schema: {
      operationId: 'createMessage',
      headers: ContextHeadersSchema,
      body: MessagesBodySchema,
      response: {
        200: {
          description: `A message (JSON; headers ${Object.values(META_HEADERS).join(', ')} name the call), or with stream: true, Anthropic's named events from message_start to message_stop`,
          content: {
            'application/json': { schema: MessageSchema },
            'text/event-stream': { schema: Type.String({ description: 'event: message_start\\ndata: {…}\\n\\n … event: message_stop\\ndata: {…}\\n\\n' }) },
          },
        },
      },
    },
    async handler(request, reply, principal) {
      const backend = requireGateway(deps);
      const { signal, dispose } = clientGone(reply);
      try {
        const ctx = await callContext(deps, request.headers, principal, signal);
        if (backend.kind === 'remote') return await forward(backend, '/v1/messages', request, reply, ctx, signal);
        const chat = fromMessagesBody(request.body);
        if (request.body.stream === true) {
          await streamMessages(backend.gateway, chat, ctx, request, reply, signal, deps.redactor);
          return reply;
        }
        const { agentry: meta, ...response } = await backend.gateway.chat(chat, ctx);
        if (meta) {
          reply
            .header(META_HEADERS.callId, meta.call_id)
            .header(META_HEADERS.group, meta.group)
            .header(META_HEADERS.provider, meta.provider)
            .header(META_HEADERS.cost, String(meta.cost_usd));
          if (meta.cache !== undefined) reply.header(META_HEADERS.cache, meta.cache);
        }
        return await reply
          .header('request-id', request.id)
          .type('application/json')
          .send(JSON.stringify(toMessagesMessage(response)));
      } finally {
        dispose();
      }
    },
  });
}
