/**
 * The LLM gateway in OpenAI's wire format: `POST /v1/chat/completions` (streaming and not) and
 * `GET /v1/models`, `model` being a model group. Any OpenAI client works with an Agentry API key
 * that has `gateway:use`. Errors are problem+json that also carry OpenAI's `error` member.
 *
 * A worker calling through `RemoteGateway` sends its run, step, workflow and budget as
 * `x-agentry-*` headers: usage is recorded against the run and the run's budget applies. Without
 * an in-process gateway, a server with `AGENTRY_GATEWAY_URL` forwards to that gateway process.
 *
 * Both routes also accept internal service tokens (`X-Agentry-Internal-Token`, see
 * `gateway/internal-token.ts`): the token names the tenant, run and step, which then bind the call.
 */
import { maskSecrets, type Redactor } from '../../lib/redact.js';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { fetch } from 'undici';
import { AgentryError, toAgentryError } from '../../lib/errors.js';
import type { Gateway } from '../../gateway/gateway.js';
import { OPTIONAL_PARAMS } from '../../gateway/params.js';
import { CONTEXT_HEADERS, credentialHeaders } from '../../gateway/remote.js';
import { injectTraceHeaders } from '../../obs/tracing.js';
import type { CallContext, ChatChunk, ChatMessage, ChatRequest } from '../../gateway/types.js';
import type { Principal } from '../auth.js';
import { problemBody } from '../problem.js';
import type { GatewayBackend, RouteTable, ServerDeps } from '../route.js';

const ContentPart = Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true });
const MessageSchema = Type.Object(
  {
    role: Type.Enum(['system', 'developer', 'user', 'assistant', 'tool'], { description: '`developer` is sent as `system`' }),
    // A list of types rather than a union: the server coerces types (`coerceTypes: 'array'`), which
    // turns a one-part list into a string in a union's first branch (see app.ts, `allowUnionTypes`).
    content: Type.Optional(Type.Unsafe<string | Array<Static<typeof ContentPart>> | null>({ type: ['string', 'array', 'null'], items: ContentPart })),
    name: Type.Optional(Type.String({ maxLength: 256 })),
    tool_calls: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Type.String({ maxLength: 256 }),
            type: Type.Literal('function'),
            function: Type.Object({ name: Type.String({ maxLength: 256 }), arguments: Type.String() }),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    tool_call_id: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);

const ChatBodySchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256, description: 'A model group (gateway.yaml `models:`); see GET /v1/models' }),
    messages: Type.Array(MessageSchema, { minItems: 1 }),
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true })),
    tools: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: Type.Literal('function'),
            function: Type.Object(
              {
                name: Type.String({ minLength: 1, maxLength: 256 }),
                description: Type.Optional(Type.String()),
                parameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
              },
              { additionalProperties: true },
            ),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    tool_choice: Type.Optional(
      Type.Union([Type.Enum(['auto', 'none', 'required']), Type.Object({ type: Type.Literal('function'), function: Type.Object({ name: Type.String() }) })]),
    ),
    parallel_tool_calls: Type.Optional(Type.Boolean()),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 })])),
    seed: Type.Optional(Type.Integer()),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    n: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
    presence_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
    frequency_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
    logprobs: Type.Optional(Type.Boolean()),
    top_logprobs: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
    logit_bias: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: -100, maximum: 100 }))),
    reasoning_effort: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }))),
    service_tier: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    response_format: Type.Optional(
      Type.Union([
        Type.Object({ type: Type.Literal('text') }),
        Type.Object({ type: Type.Literal('json_object') }),
        Type.Object({ type: Type.Literal('json_schema'), json_schema: Type.Object({}, { additionalProperties: true }) }),
      ]),
    ),
  },
  {
    additionalProperties: true,
    description:
      "OpenAI's chat-completions request; parameters not listed here are ignored. One a target of the group cannot honour is refused (400 unsupported_parameter) or, with the group's drop_params, dropped and named in x-agentry-dropped-params",
  },
);
type ChatBody = Static<typeof ChatBodySchema>;

export const ContextHeadersSchema = Type.Object({
  [CONTEXT_HEADERS.runId]: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Record usage against this run (it must exist in this tenant)' }),
  ),
  [CONTEXT_HEADERS.stepId]: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "The run's step making the call (needs the run id)" })),
  [CONTEXT_HEADERS.workflow]: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: "Workflow for the per-workflow daily budget (default: the run's)" }),
  ),
  [CONTEXT_HEADERS.budget]: Type.Optional(
    Type.String({ maxLength: 256, description: 'The run\'s budget as JSON, e.g. {"maxCostUsd":2,"maxTokens":100000} (needs the run id)' }),
  ),
});

export const ModelSchema = Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() });
const ChatCompletionSchema = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(Type.Unknown()),
    usage: Type.Unknown(),
  },
  { additionalProperties: true, title: 'ChatCompletion' },
);

/** Response headers naming what the gateway did (its `agentry` meta, kept out of OpenAI's body). */
export const META_HEADERS = {
  callId: 'x-agentry-call-id',
  group: 'x-agentry-model-group',
  provider: 'x-agentry-provider',
  cost: 'x-agentry-cost-usd',
  /** `hit` or `miss` when the model group has a response cache and the request is cacheable. */
  cache: 'x-agentry-cache',
} as const;

/** The request parameters a target of the group was not sent (`drop_params: true`), comma-separated: a warning. */
const DROPPED_HEADER = 'x-agentry-dropped-params';

export function requireGateway(deps: ServerDeps): GatewayBackend {
  if (deps.gateway) return deps.gateway;
  throw new AgentryError(
    'not_ready',
    'this server has no LLM gateway: add a gateway.yaml to the project (docs/gateway.md), or set AGENTRY_GATEWAY_URL to a gateway process (`agentry start gateway`)',
  );
}

function header(headers: FastifyRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) throw new AgentryError('invalid_request', `send one ${name} header, not several`);
  return value;
}

/** `x-agentry-budget`: `{ maxCostUsd?, maxTokens? }` (snake_case accepted), non-negative numbers. */
export function parseBudgetHeader(text: string): NonNullable<CallContext['budget']> {
  const invalid = (why: string): AgentryError =>
    new AgentryError('invalid_request', `${CONTEXT_HEADERS.budget} ${why}; expected JSON like {"maxCostUsd":2,"maxTokens":100000}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('is not an object');
  const budget: NonNullable<CallContext['budget']> = {};
  for (const [key, amount] of Object.entries(value)) {
    const field = key === 'maxCostUsd' || key === 'max_cost_usd' ? 'maxCostUsd' : key === 'maxTokens' || key === 'max_tokens' ? 'maxTokens' : undefined;
    if (field === undefined) throw invalid(`has an unknown field '${key.slice(0, 40)}'`);
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) throw invalid(`field '${key}' is not a non-negative number`);
    budget[field] = amount;
  }
  return budget;
}

/**
 * The run and step of an internal service token's call: the token's. A header naming another
 * run or step than the token's is 403 (a token is good for the call it was minted for only).
 */
function boundToToken(
  internal: NonNullable<Principal['internal']>,
  runId: string | undefined,
  stepId: string | undefined,
): { runId?: string; stepId?: string } {
  for (const [name, sent, minted] of [
    [CONTEXT_HEADERS.runId, runId, internal.runId],
    [CONTEXT_HEADERS.stepId, stepId, internal.stepId],
  ] as const) {
    if (sent !== undefined && sent !== minted) {
      throw new AgentryError(
        'forbidden',
        `${name} '${sent.slice(0, 128)}' is not the ${name === CONTEXT_HEADERS.runId ? 'run' : 'step'} the internal token was minted for`,
      );
    }
  }
  return { ...(internal.runId === undefined ? {} : { runId: internal.runId }), ...(internal.stepId === undefined ? {} : { stepId: internal.stepId }) };
}

/**
 * Who calls and within what limits: the key's tenant, and for a worker's call the run (which
 * must exist in that tenant), its step, workflow and budget from the `x-agentry-*` headers. An
 * internal service token's call is bound to the run and step the token names.
 */
export async function callContext(deps: ServerDeps, headers: FastifyRequest['headers'], principal: Principal, signal: AbortSignal): Promise<CallContext> {
  const ctx: CallContext = { tenantId: principal.tenantId, signal };
  let runId = header(headers, CONTEXT_HEADERS.runId);
  let stepId = header(headers, CONTEXT_HEADERS.stepId);
  if (principal.internal) ({ runId, stepId } = boundToToken(principal.internal, runId, stepId));
  const workflow = header(headers, CONTEXT_HEADERS.workflow);
  const budget = header(headers, CONTEXT_HEADERS.budget);
  if (runId === undefined) {
    if (stepId !== undefined || budget !== undefined) {
      throw new AgentryError('invalid_request', `${stepId !== undefined ? CONTEXT_HEADERS.stepId : CONTEXT_HEADERS.budget} needs ${CONTEXT_HEADERS.runId}`);
    }
    if (workflow !== undefined) ctx.workflow = workflow;
    return ctx;
  }
  // Another tenant's run is reported like a missing one.
  const run = await deps.services.runs.forGatewayCall(principal, runId);
  if (workflow !== undefined && workflow !== run.workflow) {
    throw new AgentryError('invalid_request', `${CONTEXT_HEADERS.workflow} '${workflow}' is not the workflow of run ${runId} ('${run.workflow}')`);
  }
  ctx.tenantId = run.tenant_id;
  ctx.runId = run.id;
  ctx.workflow = run.workflow;
  if (stepId !== undefined) ctx.stepId = stepId;
  if (budget !== undefined) ctx.budget = parseBudgetHeader(budget);
  return ctx;
}

/** Aborts when the client goes away before the response is finished. */
export function clientGone(reply: FastifyReply): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException('the client closed the connection', 'AbortError'));
  };
  reply.raw.once('close', onClose);
  return { signal: controller.signal, dispose: () => reply.raw.off('close', onClose) };
}

/** The gateway's request from OpenAI's (known parameters only; `developer` messages as `system`). */
export function toChatRequest(body: ChatBody): ChatRequest {
  const messages = body.messages.map((m) => (m.role === 'developer' ? { ...m, role: 'system' } : m)) as unknown as ChatMessage[];
  const request: ChatRequest = { model: body.model, messages };
  const optional = [
    'tools',
    'tool_choice',
    'parallel_tool_calls',
    'max_tokens',
    'max_completion_tokens',
    'temperature',
    'top_p',
    'stop',
    'seed',
    'user',
    'response_format',
    ...OPTIONAL_PARAMS,
  ] as const;
  for (const key of optional) if (body[key] !== undefined) Object.assign(request, { [key]: body[key] });
  return request;
}

/** `text/event-stream` writes that wait for the socket to drain and do nothing once it closed. */
export function eventWriter(reply: FastifyReply, gone: AbortSignal, redactor: Redactor): (text: string) => Promise<void> {
  const raw = reply.raw;
  return async (text) => {
    if (gone.aborted || raw.destroyed) return;
    if (raw.write(redactor.text(text))) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        gone.removeEventListener('abort', done);
        resolve();
      };
      raw.once('drain', done);
      gone.addEventListener('abort', done, { once: true });
    });
  };
}

/**
 * Streams a completion as OpenAI does: `data: <chat.completion.chunk>` frames, the usage chunk
 * (no choices) only with `stream_options.include_usage`, then `data: [DONE]`. Failures before the
 * first chunk (unknown group, budget, every provider down) are answered as problem+json; later
 * ones as a `data: {"error": …}` frame, which OpenAI clients raise.
 */
async function streamChat(
  gateway: Gateway,
  chat: ChatRequest,
  ctx: CallContext,
  includeUsage: boolean,
  request: FastifyRequest,
  reply: FastifyReply,
  gone: AbortSignal,
  redactor: Redactor,
): Promise<void> {
  const dropped = gateway.droppedParams(chat);
  const iterator = gateway.stream(chat, ctx)[Symbol.asyncIterator]();
  let next = await iterator.next();
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
    ...(dropped.length === 0 ? {} : { [DROPPED_HEADER]: dropped.join(', ') }),
  });
  const write = eventWriter(reply, gone, redactor);
  try {
    while (next.done !== true && !gone.aborted) {
      const { agentry: _meta, usage, ...chunk }: ChatChunk = next.value;
      if (chunk.choices.length > 0) await write(`data: ${JSON.stringify(includeUsage ? { ...chunk, usage: null } : chunk)}\n\n`);
      else if (includeUsage) await write(`data: ${JSON.stringify({ ...chunk, usage: usage ?? null })}\n\n`);
      next = await iterator.next();
    }
    await write('data: [DONE]\n\n');
  } catch (error) {
    const e = toAgentryError(error);
    if (e.status >= 500 && !gone.aborted) request.log.error({ err: error }, `chat stream failed: ${e.message}`);
    await write(`data: ${JSON.stringify({ error: problemBody(e, request.id, { openai: true }).error })}\n\n`);
  } finally {
    // Not read to the end (the client went): the gateway stops the upstream call and records it.
    await iterator.return?.(undefined).catch(() => undefined);
    if (!reply.raw.writableEnded) reply.raw.end();
  }
}

/** Sends the request on to a gateway process and its answer (JSON, stream or problem) back as it comes. */
export async function forward(
  remote: Extract<GatewayBackend, { kind: 'remote' }>,
  path: string,
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: CallContext,
  signal: AbortSignal,
): Promise<FastifyReply> {
  // An internal token for the caller's tenant and run, or the API key (docs/gateway.md).
  const headers: Record<string, string> = { accept: request.headers.accept ?? 'application/json', ...(await credentialHeaders(remote, ctx)) };
  if (ctx.runId !== undefined) headers[CONTEXT_HEADERS.runId] = ctx.runId;
  if (ctx.stepId !== undefined) headers[CONTEXT_HEADERS.stepId] = ctx.stepId;
  if (ctx.workflow !== undefined) headers[CONTEXT_HEADERS.workflow] = ctx.workflow;
  if (ctx.budget !== undefined) headers[CONTEXT_HEADERS.budget] = JSON.stringify(ctx.budget);
  const body = request.method === 'POST' ? JSON.stringify(request.body) : undefined;
  if (body !== undefined) headers['content-type'] = 'application/json';
  // The gateway process continues this request's trace.
  injectTraceHeaders(headers);
  let response;
  try {
    response = await fetch(`${remote.url}${path}`, { method: request.method, headers, signal, ...(body === undefined ? {} : { body }) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.message : String(error));
    throw new AgentryError('provider_unavailable', `cannot reach the gateway at ${maskSecrets(remote.url)}: ${cause}`, { retryable: true, cause: error });
  }
  reply.code(response.status);
  for (const name of ['content-type', 'cache-control', 'retry-after', DROPPED_HEADER, ...Object.values(META_HEADERS)]) {
    const value = response.headers.get(name);
    if (value !== null) reply.header(name, value);
  }
  if (response.body === null) return reply.send();
  return reply.send(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>));
}

export function gatewayRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'POST',
    url: '/v1/chat/completions',
    scope: 'gateway:use',
    summary: "Chat completion in OpenAI's wire format (model = a model group); `stream: true` answers text/event-stream",
    tags: ['gateway'],
    errors: ['not_found', 'unsupported_parameter', 'budget_exceeded', 'not_ready', 'provider_error', 'provider_timeout', 'provider_unavailable'],
    openaiErrors: true,
    internalTokens: true,
    schema: {
      operationId: 'createChatCompletion',
      headers: ContextHeadersSchema,
      body: ChatBodySchema,
      response: {
        200: {
          description: `A chat.completion (JSON; headers ${Object.values(META_HEADERS).join(', ')} name the call), or with stream: true, data: <chat.completion.chunk> frames ending with data: [DONE]`,
          content: {
            'application/json': { schema: ChatCompletionSchema },
            'text/event-stream': { schema: Type.String({ description: 'data: <chat.completion.chunk JSON>\\n\\n … data: [DONE]\\n\\n' }) },
          },
        },
      },
    },
    async handler(request, reply, principal) {
      const backend = requireGateway(deps);
      const { signal, dispose } = clientGone(reply);
      try {
        const ctx = await callContext(deps, request.headers, principal, signal);
        if (backend.kind === 'remote') return await forward(backend, '/v1/chat/completions', request, reply, ctx, signal);
        const chat = toChatRequest(request.body);
        if (request.body.stream === true) {
          await streamChat(backend.gateway, chat, ctx, request.body.stream_options?.include_usage === true, request, reply, signal, deps.redactor);
          return reply;
        }
        const dropped = backend.gateway.droppedParams(chat);
        if (dropped.length > 0) reply.header(DROPPED_HEADER, dropped.join(', '));
        const { agentry: meta, ...completion } = await backend.gateway.chat(chat, ctx);
        if (meta) {
          reply
            .header(META_HEADERS.callId, meta.call_id)
            .header(META_HEADERS.group, meta.group)
            .header(META_HEADERS.provider, meta.provider)
            .header(META_HEADERS.cost, String(meta.cost_usd));
          if (meta.cache !== undefined) reply.header(META_HEADERS.cache, meta.cache);
        }
        return await reply.type('application/json').send(JSON.stringify(completion));
      } finally {
        dispose();
      }
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/models',
    scope: 'gateway:use',
    deploymentWide: true,
    summary: "The model groups, in OpenAI's list format",
    tags: ['gateway'],
    errors: ['not_ready', 'provider_unavailable'],
    openaiErrors: true,
    internalTokens: true,
    schema: { operationId: 'listModels', response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelSchema) }) } },
    async handler(request, reply, principal) {
      const backend = requireGateway(deps);
      if (backend.kind === 'remote') {
        const { signal, dispose } = clientGone(reply);
        try {
          return await forward(backend, '/v1/models', request, reply, { tenantId: principal.tenantId }, signal);
        } finally {
          dispose();
        }
      }
      const created = Math.floor(deps.startedAt / 1000);
      return { object: 'list' as const, data: backend.gateway.models().map((m) => ({ id: m.id, object: 'model' as const, created, owned_by: m.owned_by })) };
    },
  });
}
