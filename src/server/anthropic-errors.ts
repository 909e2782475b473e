/**
 * Errors of the Messages API route (`POST /v1/messages`) in Anthropic's shape, so Anthropic's
 * clients raise their usual classes with the detail as message:
 * `{ type: "error", error: { type, message, details: { error_code } }, request_id }`, with the
 * request id also in the `request-id` header (the SDK's `requestID`). The status is Agentry's
 * (docs/errors.md), except that an upstream client error (a 4xx the provider answered) keeps the
 * provider's status; `error.type` is Anthropic's name for it and `error_code` Agentry's code.
 */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ERROR_CODES, type AgentryError, type ErrorCode } from '../lib/errors.js';
import { noteProblem } from './access-log.js';
import { passedThrough, problemBody, type ErrorShape } from './problem.js';

/** Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors). */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Agentry codes whose Anthropic type is not the one of their status. */
const TYPE_BY_CODE: Partial<Record<ErrorCode, string>> = {
  provider_unavailable: 'overloaded_error',
  not_ready: 'api_error',
};

export const AnthropicErrorSchema = Type.Object(
  {
    type: Type.Literal('error'),
    error: Type.Object({
      type: Type.String({ description: "Anthropic's error type: invalid_request_error, authentication_error, rate_limit_error, api_error …" }),
      message: Type.String(),
      details: Type.Object({ error_code: Type.String({ description: "Agentry's stable code (docs/errors.md)" }) }),
    }),
    request_id: Type.String(),
  },
  { $id: 'AnthropicError', title: 'AnthropicError' },
);

/**
 * The status an error is answered with: a provider's client error that the gateway passes through
 * (`passedThrough`, the same rule as for OpenAI's clients) keeps the provider's status.
 */
function statusOf(error: AgentryError): number {
  return passedThrough(error)?.status ?? ERROR_CODES[error.code].status;
}

export function anthropicErrorBody(error: AgentryError, requestId: string): { status: number; body: Record<string, unknown> } {
  const status = statusOf(error);
  const { detail } = problemBody(error, requestId);
  const type = TYPE_BY_CODE[error.code] ?? TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { status, body: { type: 'error', error: { type, message: detail, details: { error_code: error.code } }, request_id: requestId } };
}

export function sendAnthropicError(reply: FastifyReply, error: AgentryError): FastifyReply {
  const { status, body } = anthropicErrorBody(error, reply.request.id);
  noteProblem(reply.request, error.code, (body['error'] as { message: string }).message);
  if (error.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(error.retryAfterMs / 1000));
  return reply.code(status).header('request-id', reply.request.id).type('application/json').send(body);
}

/** The route's errors in the OpenAPI document (`problemResponses`' shape argument). */
export const ANTHROPIC_ERROR_SHAPE: ErrorShape = { contentType: 'application/json', schemaId: 'AnthropicError', note: "(Anthropic's error shape)" };
