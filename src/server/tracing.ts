/**
 * The HTTP server span of each request (OpenTelemetry HTTP semantic conventions): a child of
 * the caller's span when the request carries W3C `traceparent`/`tracestate`, started when the
 * request arrives and ended when the answer is sent. The route's handler runs inside it, so a
 * run the request creates is in the caller's trace. The probes (`/livez`, `/readyz`, `/healthz`,
 * `/health`, `/metrics`) get none: they are polled every few seconds and tell nothing of a run.
 */
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tracer, withContext } from '../obs/tracing.js';

interface RequestSpan {
  span: Span;
  /** The request's context: its span active, under the caller's. */
  ctx: Context;
}

const spans = new WeakMap<FastifyRequest, RequestSpan>();

/** Starts and ends the request spans of `app` (call it when tracing is on); `untraced` names the route URLs that get none. */
export function registerRequestSpans(app: FastifyInstance, untraced: ReadonlySet<string>): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route === undefined || !untraced.has(route)) start(request);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const traced = spans.get(request);
    if (traced) {
      traced.span.setAttribute('http.response.status_code', reply.statusCode);
      // A 4xx is the client's doing: no error on a server span (HTTP semantic conventions).
      if (reply.statusCode >= 500) {
        traced.span.setStatus({ code: SpanStatusCode.ERROR });
        traced.span.setAttribute('error.type', String(reply.statusCode));
      }
      traced.span.end();
    }
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const traced = spans.get(request);
    if (traced) {
      traced.span.setAttribute('error.type', 'aborted');
      traced.span.end();
    }
    done();
  });
}

function start(request: FastifyRequest): void {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const route = request.routeOptions.url;
  const path = request.url.split('?')[0] ?? request.url;
  const span = tracer().startSpan(
    route === undefined ? request.method : `${request.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'url.path': path,
        'url.scheme': request.protocol,
        'agentry.request.id': request.id,
        ...(route === undefined ? {} : { 'http.route': route }),
        ...(request.headers['user-agent'] === undefined ? {} : { 'user_agent.original': request.headers['user-agent'] }),
      },
    },
    parent,
  );
  spans.set(request, { span, ctx: trace.setSpan(parent, span) });
}

/** Runs `fn` (a route's handler) inside the request's span, when it has one. */
export function inRequestSpan<T>(request: FastifyRequest, fn: () => T): T {
  return withContext(spans.get(request)?.ctx, fn);
}

/** `trace_id` and `span_id` of the request's span, for its access record (written after the span ended). */
export function requestTraceFields(request: FastifyRequest): { trace_id?: string; span_id?: string } {
  const traced = spans.get(request);
  if (!traced) return {};
  const sc = traced.span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
