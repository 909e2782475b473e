/**
 * What both ladders' signed rungs add to a bare Fastify app (`bench/api-ladder-target.ts`,
 * `bench/gateway-ladder-target.ts`): `buildApp`'s request context (`X-Request-ID`, the log
 * context: `request-context.ts`), API-key sign-in (`authorize`, as `sign-in.ts` calls it, the
 * tenant noted on the context) and, with `accessLine`, the access line at info to /dev/null
 * (`app.ts`'s onResponse hook), without the rest of the app. Bench code only; not run on its own.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createLogger } from '../src/obs/logger.js';
import { accessLoggerOf, accessRecord } from '../src/server/access-log.js';
import { authorize, authSettings, type Principal } from '../src/server/auth.js';
import { noteTenant, registerRequestContext } from '../src/server/request-context.js';
import type { Scope } from '../src/server/scopes.js';

export function addSignIn(app: FastifyInstance, options: { key: string; scope: Scope; accessLine: boolean }): void {
  const auth = authSettings({ enabled: true, host: '127.0.0.1', apiKeys: `bench:${options.key}:service` });
  const principals = new WeakMap<object, Principal>();
  const accessLogger = accessLoggerOf(createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: false }) }));
  registerRequestContext(app, () => false);
  app.addHook('onRequest', async (request) => {
    const principal = { ...(await authorize(auth, request.headers, options.scope)), requestId: request.id, clientIp: request.ip };
    principals.set(request, principal);
    noteTenant(principal.tenantId);
  });
  if (!options.accessLine) return;
  app.addHook('onResponse', (request, reply, done) => {
    if (accessLogger.isLevelEnabled('info')) accessLogger.info(accessRecord(request, reply, principals.get(request), auth.tenant), 'request');
    done();
  });
}
