/**
 * More of OpenAI's API on the gateway, beside chat (`gateway.ts`): `GET /v1/models/{id}` (a model
 * group in OpenAI's model shape) and `POST /v1/embeddings` (`model` a model group whose targets make
 * embeddings; usage, budgets and the ledger as for chat). Same scope, errors in OpenAI's shape,
 * internal service tokens and forwarding to a gateway process as the chat route.
 */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AgentryError } from '../../lib/errors.js';
import type { EmbeddingRequest } from '../../gateway/types.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { callContext, clientGone, ContextHeadersSchema, forward, META_HEADERS, ModelSchema, requireGateway } from './gateway.js';

const EmbeddingsBodySchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256, description: 'A model group (gateway.yaml `models:`) whose targets make embeddings' }),
    input: Type.Union(
      [
        Type.String(),
        Type.Array(Type.String(), { minItems: 1, maxItems: 2048 }),
        Type.Array(Type.Integer(), { minItems: 1 }),
        Type.Array(Type.Array(Type.Integer(), { minItems: 1 }), { minItems: 1, maxItems: 2048 }),
      ],
      { description: 'A text, texts, or token arrays' },
    ),
    encoding_format: Type.Optional(Type.Enum(['float', 'base64'])),
    dimensions: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
    user: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true, description: "OpenAI's embeddings request; other parameters are ignored" },
);

const EmbeddingsSchema = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(
      Type.Object({
        object: Type.Literal('embedding'),
        index: Type.Integer(),
        embedding: Type.Union([Type.Array(Type.Number()), Type.String({ description: 'base64 of little-endian float32s' })]),
      }),
    ),
    model: Type.String({ description: 'The upstream model that answered' }),
    usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
  },
  { title: 'Embeddings' },
);

function sendMeta(reply: FastifyReply, meta: { call_id: string; group: string; provider: string; cost_usd: number } | undefined): void {
  if (meta === undefined) return;
  reply
    .header(META_HEADERS.callId, meta.call_id)
    .header(META_HEADERS.group, meta.group)
    .header(META_HEADERS.provider, meta.provider)
    .header(META_HEADERS.cost, String(meta.cost_usd));
}

export function gatewayOpenAIRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/models/:id',
    scope: 'gateway:use',
    deploymentWide: true,
    summary: "A model group, in OpenAI's model format",
    tags: ['gateway'],
    errors: ['not_found', 'not_ready', 'provider_unavailable'],
    openaiErrors: true,
    internalTokens: true,
    schema: { operationId: 'getModel', params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }), response: { 200: ModelSchema } },
    async handler(request, reply, principal) {
      const backend = requireGateway(deps);
      if (backend.kind === 'remote') {
        const { signal, dispose } = clientGone(reply);
        try {
          return await forward(backend, `/v1/models/${encodeURIComponent(request.params.id)}`, request, reply, { tenantId: principal.tenantId }, signal);
        } finally {
          dispose();
        }
      }
      const model = backend.gateway.models().find((m) => m.id === request.params.id);
      if (model === undefined) throw new AgentryError('not_found', `The model '${request.params.id.slice(0, 256)}' does not exist (no such model group)`);
      return { id: model.id, object: 'model' as const, created: Math.floor(deps.startedAt / 1000), owned_by: model.owned_by };
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/embeddings',
    scope: 'gateway:use',
    summary: "Embeddings in OpenAI's wire format (model = a model group of openai, openai-compatible or mock targets)",
    tags: ['gateway'],
    errors: ['not_found', 'budget_exceeded', 'not_ready', 'provider_error', 'provider_timeout', 'provider_unavailable'],
    openaiErrors: true,
    internalTokens: true,
    schema: { operationId: 'createEmbeddings', headers: ContextHeadersSchema, body: EmbeddingsBodySchema, response: { 200: EmbeddingsSchema } },
    async handler(request, reply, principal) {
      const backend = requireGateway(deps);
      const { signal, dispose } = clientGone(reply);
      try {
        const ctx = await callContext(deps, request.headers, principal, signal);
        if (backend.kind === 'remote') return await forward(backend, '/v1/embeddings', request, reply, ctx, signal);
        const body = request.body;
        const embeddings: EmbeddingRequest = { model: body.model, input: body.input };
        if (body.encoding_format !== undefined) embeddings.encoding_format = body.encoding_format;
        if (body.dimensions !== undefined) embeddings.dimensions = body.dimensions;
        if (body.user !== undefined) embeddings.user = body.user;
        const { agentry: meta, ...result } = await backend.gateway.embed(embeddings, ctx);
        sendMeta(reply, meta);
        return await reply.type('application/json').send(JSON.stringify(result));
      } finally {
        dispose();
      }
    },
  });
}
