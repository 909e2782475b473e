/**
 * The access record: exactly one `http_request` log record per HTTP request, written once the
 * response is done (`app.ts`'s onResponse hook). Its fields are picked one by one, never copied
 * from the request: no headers but the user agent, no query string (a query can carry a key or
 * a token), no bodies. Handlers and the problem writer add what only they know (the run a
 * request created, the problem it failed with) through `noteRunId` and `noteProblem`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from './auth.js';

/** What a request's handling learned that its access record should carry. */
interface Notes {
  runId?: string;
  problem?: { code: string; message: string };
}

const notes = new WeakMap<FastifyRequest, Notes>();

function notesOf(request: FastifyRequest): Notes {
  let found = notes.get(request);
  if (!found) notes.set(request, (found = {}));
  return found;
}

/** The run a request created (a started or re-run run), for routes whose URL names none. */
export function noteRunId(request: FastifyRequest, runId: string): void {
  notesOf(request).runId = runId;
}

/** The problem a request failed with: its registry code and the detail the client was sent. */
export function noteProblem(request: FastifyRequest, code: string, message: string): void {
  notesOf(request).problem = { code, message };
}

export const ACCESS_EVENT = 'http_request';

export interface AccessRecord {
  event: typeof ACCESS_EVENT;
  request_id: string;
  method: string;
  /** The URL path without the query string. */
  path: string;
  /** The route pattern (`/v1/runs/:id`), `unmatched` when no route matched. */
  route: string;
  status_code: number;
  duration_ms: number;
  client_ip?: string;
  user_agent?: string;
  principal?: string;
  /** The tenant the request acted in: the principal's, or the deployment's (`AGENTRY_TENANT`) for a request without one. */
  tenant_id: string;
  run_id?: string;
  error?: string;
  message?: string;
}

/** Longest path and user agent kept: enough to read, bounded so a request cannot bloat the log. */
const MAX_PATH = 2048;
const MAX_USER_AGENT = 256;

/** Routes whose `:id` is a run id (`/v1/runs/:id`, `/v1/runs/:id/cancel`, …). */
const RUN_ROUTE = /^\/v1\/runs\/:id(\/|$)/;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function routeRunId(request: FastifyRequest, route: string): string | undefined {
  if (!RUN_ROUTE.test(route)) return undefined;
  const id = (request.params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The access record of a finished request. `client_ip` is `request.ip`: the TCP peer, or the
 * address a trusted proxy forwarded (Fastify's `trustProxy`, set from `AGENTRY_TRUSTED_PROXIES`).
 */
export function accessRecord(request: FastifyRequest, reply: FastifyReply, principal: Principal | undefined, deploymentTenant: string): AccessRecord {
  const route = request.routeOptions.url ?? 'unmatched';
  const noted = notes.get(request);
  const userAgent = request.headers['user-agent'];
  const runId = routeRunId(request, route) ?? noted?.runId;
  const problem = noted?.problem;
  // Every field present, absent ones `undefined` (pino leaves those out of the line): one shape
  // for every record, where conditional spreads made an object per optional field and copied it in.
  return {
    event: ACCESS_EVENT,
    request_id: request.id,
    method: request.method,
    path: clip(request.url.split('?')[0] ?? '', MAX_PATH),
    route,
    status_code: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    client_ip: request.ip || undefined,
    user_agent: typeof userAgent === 'string' && userAgent !== '' ? clip(userAgent, MAX_USER_AGENT) : undefined,
    principal: principal?.name,
    tenant_id: principal?.tenantId ?? deploymentTenant,
    run_id: runId,
    error: problem?.code,
    message: problem?.message,
  };
}

/**
 * The logger the access records are written with: the process logger without its key-path
 * redaction (`REDACT_PATHS`), which walks every line and costs more than the rest of the line.
 * It has nothing to find here: an access record's fields are picked above, none of them is a
 * header, a body or a key named like a credential. Lines still pass the process's `Redactor`
 * (known secrets anywhere in the text) as every line does.
 */
export function accessLoggerOf(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}
