/**
 * Errors over HTTP: everything thrown in the server becomes an `AgentryError` here, once,
 * and is answered as `application/problem+json` (RFC 9457):
 * `{ type, title, status, detail, code, request_id }` (+ `errors` for validation problems,
 * + `details` for the codes in `PUBLIC_DETAILS`).
 */
import type { FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import { AgentryError, ERROR_CODES, isErrorCode, type ErrorCode } from '../lib/errors.js';
import { noteProblem } from './access-log.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the error code: urn:agentry:error:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable error code (see docs/errors.md)' }),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Unknown(), { description: 'Validation problems, one per field' })),
    details: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'What was exceeded (`quota_exceeded`: tenant, quota, limit, current; `rate_limited`: limit (key or tenant), tenant, requests_per_minute, burst)',
      }),
    ),
    error: Type.Optional(
      Type.Object(
        {
          message: Type.String(),
          type: Type.String(),
          code: Type.Union([Type.String(), Type.Null()]),
          param: Type.Union([Type.String(), Type.Null()], { description: 'The request field at fault, when one is' }),
        },
        {
          description:
            "OpenAI-style error object (the gateway's OpenAI-compatible routes only), so OpenAI clients show the detail; a provider's client error (400, 404, 422 …) is passed on as the provider sent it, with its status",
        },
      ),
    ),
  },
  { $id: 'Problem', title: 'Problem' },
);
export type Problem = Static<typeof ProblemSchema>;

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

const BY_STATUS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'not_ready',
};

/** Anything thrown while handling a request, as an `AgentryError` (the cause kept). */
export function toHttpError(error: unknown): AgentryError {
  if (error instanceof AgentryError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (Array.isArray(e.validation)) {
    const where = typeof e.validationContext === 'string' ? e.validationContext : 'request';
    const errors = e.validation.map((v: { instancePath?: string; message?: string; params?: unknown }) => ({
      in: where,
      path: v.instancePath ?? '',
      message: v.message ?? 'is invalid',
      params: v.params,
    }));
    return new AgentryError('invalid_request', message, { details: { errors }, cause: error });
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'invalid_request';
    return new AgentryError(code, message, { cause: error });
  }
  return new AgentryError('internal', message, { cause: error });
}

/** Codes whose `details` are meant for the client (what limit was hit, which policy rule broke, which plugin failed), so the body carries them. */
const PUBLIC_DETAILS: ReadonlySet<ErrorCode> = new Set(['quota_exceeded', 'rate_limited', 'policy_violation', 'plugin_failed', 'plugin_disabled']);

export interface ProblemOptions {
  /** Add OpenAI's `error: { message, type, code, param }` member (routes that speak OpenAI's wire format). */
  openai?: boolean;
}

/** The problem+json body of an error. Internal errors do not leak their message. */
export function problemBody(error: AgentryError, requestId: string, options: ProblemOptions = {}): Problem {
  const entry = ERROR_CODES[error.code];
  const detail = error.code === 'internal' ? `internal error; the server log has the details under request_id ${requestId}` : error.message;
  const body: Problem = {
    type: `urn:agentry:error:${error.code}`,
    title: entry.title,
    status: entry.status,
    detail,
    code: error.code,
    request_id: requestId,
  };
  const errors = (error.details as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors)) body.errors = errors;
  if (PUBLIC_DETAILS.has(error.code) && typeof error.details === 'object' && error.details !== null && !Array.isArray(error.details)) {
    body.details = error.details as Record<string, unknown>;
  }
  if (options.openai === true) {
    const upstream = passedThrough(error);
    if (upstream === undefined) body.error = { message: detail, type: error.code, code: error.code, param: paramOf(error) };
    else {
      body.status = upstream.status;
      body.error = upstream.error;
    }
  }
  return body;
}

/** A provider's client error (`provider_error` with `details.upstream`, see gateway/classify.ts): its status and error object. */
export function passedThrough(error: AgentryError): { status: number; error: NonNullable<Problem['error']> } | undefined {
  if (error.code !== 'provider_error') return undefined;
  const details = error.details as { status?: unknown; upstream?: NonNullable<Problem['error']> } | undefined;
  if (typeof details?.status !== 'number' || details.upstream === undefined) return undefined;
  return { status: details.status, error: details.upstream };
}

/** The request field an error names (`details.param`: `unsupported_parameter`). */
function paramOf(error: AgentryError): string | null {
  const param = (error.details as { param?: unknown } | undefined)?.param;
  return typeof param === 'string' ? param : null;
}

export function sendProblem(reply: FastifyReply, error: AgentryError, options: ProblemOptions = {}): FastifyReply {
  const body = problemBody(error, reply.request.id, options);
  noteProblem(reply.request, error.code, body.detail);
  if (error.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(error.retryAfterMs / 1000));
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** How a route's error responses look in the OpenAPI document: problem+json, or another shape (`anthropic-errors.ts`). */
export interface ErrorShape {
  contentType: string;
  /** The `$id` of the body's schema (registered with `addSchema`). */
  schemaId: string;
  /** Added to each response's description. */
  note?: string;
}

const PROBLEM_SHAPE: ErrorShape = { contentType: PROBLEM_CONTENT_TYPE, schemaId: 'Problem' };

/** OpenAPI response entries for the given error codes (grouped by status). */
export function problemResponses(codes: readonly ErrorCode[], shape: ErrorShape = PROBLEM_SHAPE): Record<number, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    if (!isErrorCode(code)) continue;
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[status] = {
      description: list.map((c) => `\`${c}\``).join(', ') + (shape.note === undefined ? '' : ` ${shape.note}`),
      content: { [shape.contentType]: { schema: Type.Ref(shape.schemaId) } },
    };
  }
  return out;
}
