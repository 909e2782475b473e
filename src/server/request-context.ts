/**
 * Each API request's log context (`obs/log-context.ts`): every line written while a request
 * is handled — by a route, a service, the engine, the gateway — carries its `request_id`, and
 * its `tenant_id` once the caller is signed in. Entered by the first `onRequest` hook; Fastify
 * carries it on past reading the body (its content-type parser runs in the request's async
 * context). `request.log` is the app's logger itself, without Fastify's `request_id` binding,
 * so no line has the id twice.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
import { addToLogContext, withLogContext } from '../obs/log-context.js';

/**
 * Fastify's `childLoggerFactory`: the request's logger without a `request_id` binding (the
 * context adds it). That is the app's logger itself unless the route sets its own level or
 * serializers: a child logger per request would cost a pino child for nothing.
 */
export function requestLogger(logger: FastifyBaseLogger, _bindings: unknown, options: ChildLoggerOptions): FastifyBaseLogger {
  return options.level === undefined && options.serializers === undefined ? logger : logger.child({}, options);
}

/**
 * The app's first `onRequest` hook: every answer carries the request's id (`X-Request-ID`) and,
 * while the app drains, `Connection: close`; then the request's log context is entered, so that
 * every line written while handling it carries its id. One hook for both: each hook Fastify runs
 * costs every request.
 */
export function registerRequestContext(app: FastifyInstance, isDraining: () => boolean): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (isDraining()) reply.header('connection', 'close');
    withLogContext({ request_id: request.id }, done);
  });
}

/** The tenant the signed-in caller acts in, on the request's lines from now on. */
export function noteTenant(tenantId: string): void {
  addToLogContext({ tenant_id: tenantId });
}
