/**
 * What keeps a web page in the user's browser from using the API on their behalf.
 *
 * With auth off (`--no-auth`, a loopback dev server) every request acts as `admin`, so a page
 * on any site could otherwise start and cancel runs (a form or a body-less `fetch` POST needs
 * no CORS preflight) and, by DNS rebinding its own name to 127.0.0.1, read every answer. In
 * that mode this guard accepts only a loopback `Host` (`localhost`, `127.0.0.1`, `[::1]`),
 * refuses a request whose `Origin` is neither the server's own nor listed in
 * `AGENTRY_CORS_ORIGINS`, and refuses a state-changing request without
 * `Content-Type: application/json` (which a cross-origin page can send only after a preflight
 * the server does not grant). With auth on, a page cannot present a key without a preflight
 * either, so none of this applies.
 *
 * CORS is off (no `Access-Control-*` header) unless `AGENTRY_CORS_ORIGINS` lists origins; a
 * listed origin gets the CORS headers and its preflights answered, in both modes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../lib/errors.js';

export interface BrowserGuardOptions {
  /** True with auth off: check Host, Origin and the content type as described above. */
  devMode: boolean;
  /** Origins (`https://app.example.com`) allowed cross-origin requests; none by default. */
  corsOrigins: readonly string[];
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a listed origin's preflight may ask for: the API's methods and the headers its clients send. */
const CORS_ALLOW_METHODS = 'GET, POST, PUT, DELETE';
const CORS_ALLOW_HEADERS = 'authorization, x-api-key, content-type, idempotency-key, last-event-id, x-request-id';
const CORS_EXPOSE_HEADERS = 'x-request-id, idempotent-replayed, retry-after, location';
const CORS_MAX_AGE_S = '600';

/** A `Host` naming this machine's loopback, with or without a port; any other name may be a rebinding attacker's. */
const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;

/** The origin a page served by this server has (`http://localhost:7700`), or undefined for a malformed Host. */
function ownOrigin(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).origin;
  } catch {
    return undefined;
  }
}

/** True when the media type of `Content-Type` is `application/json` (parameters such as charset allowed). */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** Why a request in dev mode may come from a page on another site (see the module comment), if it may. */
function devModeRefusal(request: FastifyRequest, corsOrigins: ReadonlySet<string>): AgentryError | undefined {
  const host = request.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) {
    return new AgentryError(
      'forbidden',
      `with auth off the server answers only requests for localhost, 127.0.0.1 or [::1], not for Host '${host}' (a page on another site may have pointed its name at this host)`,
    );
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin(host) && !corsOrigins.has(origin)) {
    return new AgentryError(
      'forbidden',
      `with auth off the server refuses requests from pages of other origins; Origin '${origin}' is neither this server's nor listed in AGENTRY_CORS_ORIGINS`,
    );
  }
  if (!SAFE_METHODS.has(request.method) && !isJson(request.headers['content-type'])) {
    return new AgentryError(
      'unsupported_media_type',
      `with auth off a ${request.method} request must carry Content-Type: application/json (an empty body is fine), so that no page of another site can send it`,
    );
  }
  return undefined;
}

/** Adds the CORS headers when the request's origin is listed; true for such an origin's preflight. */
function allowCors(request: FastifyRequest, reply: FastifyReply, corsOrigins: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || !corsOrigins.has(origin)) return false;
  reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
    reply
      .header('access-control-allow-methods', CORS_ALLOW_METHODS)
      .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
      .header('access-control-max-age', CORS_MAX_AGE_S);
    return true;
  }
  reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  return false;
}

/** Registers the guard as an `onRequest` hook of `app` (before any route's handler runs). */
export function registerBrowserGuard(app: FastifyInstance, options: BrowserGuardOptions): void {
  const corsOrigins: ReadonlySet<string> = new Set(options.corsOrigins);
  // Auth on and no CORS origin: the guard has nothing to do, so requests do not pass an empty hook.
  if (!options.devMode && corsOrigins.size === 0) return;
  app.addHook('onRequest', (request, reply, done) => {
    // CORS headers first, so that a listed origin can read a refusal too.
    const preflight = allowCors(request, reply, corsOrigins);
    const refusal = options.devMode ? devModeRefusal(request, corsOrigins) : undefined;
    if (refusal) done(refusal);
    else if (preflight) void reply.code(204).send();
    else done();
  });
}

/**
 * Lets a state-changing request without a body carry `Content-Type: application/json` (which
 * dev mode requires): an empty JSON body parses as no body, which routes read as `{}`.
 * Fastify's own parser (prototype poisoning refused) handles every non-empty body.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') done(null, undefined);
    // Fastify's default parser is the callback kind: it returns nothing.
    else void parseJson(request, text, done);
  });
}
