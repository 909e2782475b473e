import net from 'node:net';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { assertEgressAllowed, canonicalHost, type EgressPolicy } from '../lib/egress.js';
import { guardedConnector, systemResolver, type Resolver } from '../lib/egress-connector.js';
import { AgentryError } from '../lib/errors.js';
import { injectTraceHeaders, isTracingOn } from '../obs/tracing.js';
import { displayUrl, planHttpRequest, type HttpRequestPlan } from './http-config.js';
import type { StepContext, StepExecutor, StepResult } from './types.js';

export interface HttpExecutorOptions {
  /** DNS resolver; tests inject one to map names to chosen addresses. Defaults to `dns.lookup`. */
  resolver?: Resolver;
  /** Redirects followed per request (each hop is re-checked against the egress policy). */
  maxRedirections?: number;
}

export interface HttpOutput {
  status: number;
  headers: Record<string, string | string[]>;
  body: unknown;
}

type Body = Dispatcher.ResponseData['body'];

/** Bytes of an unaccepted response's body kept in the error details. */
const ERROR_BODY_BYTES = 2048;

/**
 * `http`: one request under the egress policy (SSRF protection), a timeout, cancellation through `ctx.signal`,
 * a streamed response size limit and status classification (429/5xx retryable). With tracing on
 * it sends the attempt's W3C `traceparent`, so the service called continues the run's trace.
 */
export function createHttpExecutor(options: HttpExecutorOptions = {}): StepExecutor {
  const resolver = options.resolver ?? systemResolver;
  const maxRedirections = options.maxRedirections ?? 5;

  return {
    kind: 'http',
    async execute(config: unknown, ctx: StepContext): Promise<StepResult> {
      const plan = planHttpRequest(config, ctx.settings.http, ctx.artifacts?.maxFileBytes);
      if (plan.saveBodyAs !== undefined && !ctx.artifacts) throw new AgentryError('artifact_denied', 'http save_body_as: this process has no artifact store');
      const policy = egressPolicy(ctx);
      const host = canonicalHost(plan.url.hostname);
      if (net.isIP(host) !== 0) assertEgressAllowed(policy, host, host);
      if (ctx.signal.aborted) throw cancelled(plan, ctx.signal.reason);

      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), plan.timeoutMs);
      // One agent per attempt: the policy is per project and workflow, and nothing stays open.
      const agent = new Agent({ connect: guardedConnector(policy, resolver) });
      try {
        const response = await request(plan.url, {
          method: plan.method,
          headers: tracedHeaders(plan.headers),
          body: plan.body ?? null,
          signal: AbortSignal.any([ctx.signal, timeout.signal]),
          dispatcher: agent.compose(interceptors.redirect({ maxRedirections })),
        });
        ctx.logger.debug({ method: plan.method, url: displayUrl(plan.url), status: response.statusCode }, 'http step response');
        return { kind: 'output', output: await readResponse(plan, response, ctx) };
      } catch (error) {
        if (ctx.signal.aborted) throw cancelled(plan, ctx.signal.reason ?? error);
        if (timeout.signal.aborted) {
          throw new AgentryError('step_timeout', `http ${plan.method} ${displayUrl(plan.url)} timed out after ${plan.timeoutMs}ms`, {
            retryable: true,
            cause: error,
          });
        }
        throw classify(plan, error);
      } finally {
        clearTimeout(timer);
        await agent.destroy().catch(() => undefined);
      }
    },
  };
}

export const httpExecutor: StepExecutor = createHttpExecutor();

/** With tracing on, the request carries the step attempt's `traceparent`, unless the step sets one itself. */
function tracedHeaders(headers: Record<string, string>): Record<string, string> {
  if (!isTracingOn() || headers.traceparent !== undefined) return headers;
  return injectTraceHeaders({ ...headers });
}

/** The project's policy narrowed by the step's workflow. */
function egressPolicy(ctx: StepContext): EgressPolicy {
  const { egress, http } = ctx.settings;
  return { mode: egress.mode, allowLinkLocal: http.allowLinkLocal, project: egress.rules, workflow: ctx.egress };
}

async function readResponse(plan: HttpRequestPlan, response: Dispatcher.ResponseData, ctx: StepContext): Promise<HttpOutput> {
  const { statusCode: status, body } = response;
  const headers = flattenHeaders(response.headers);
  const accepted = plan.expectStatus ? plan.expectStatus.includes(status) : status >= 200 && status < 300;
  if (!accepted) {
    const snippet = decode(await readLimited(body, ERROR_BODY_BYTES, 'truncate'), headers['content-type']);
    throw statusError(plan, status, headers, snippet);
  }

  const declared = plan.method === 'HEAD' ? Number.NaN : Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > plan.maxResponseBytes) {
    body.destroy();
    throw tooLarge(plan, `declares content-length ${declared}`);
  }
  const bytes = await readLimited(body, plan.maxResponseBytes, 'throw', plan);
  const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'] : '';
  if (plan.saveBodyAs !== undefined && ctx.artifacts) {
    const saved = await ctx.artifacts.write(plan.saveBodyAs, bytes, contentType);
    return { status, headers, body: { artifact: { name: saved.name, size: saved.size, sha256: saved.sha256, content_type: saved.contentType } } };
  }
  const text = decode(bytes, contentType);
  if (!/^(application\/([\w.+-]*\+)?json|text\/json)\b/i.test(contentType)) return { status, headers, body: text };
  if (text.trim() === '') return { status, headers, body: null };
  try {
    return { status, headers, body: JSON.parse(text) as unknown };
  } catch (cause) {
    throw new AgentryError('http_error', `http ${plan.method} ${displayUrl(plan.url)} returned invalid JSON`, {
      cause,
      details: { status, body: text.slice(0, ERROR_BODY_BYTES) },
    });
  }
}

/** Streams the body, stopping (and closing the connection) as soon as it passes `limit` bytes. */
async function readLimited(body: Body, limit: number, mode: 'throw' | 'truncate', plan?: HttpRequestPlan): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      if (mode === 'throw' && plan) throw tooLarge(plan, `exceeded ${limit} bytes`);
      chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function decode(bytes: Buffer, contentType: string | string[] | undefined): string {
  const charset = typeof contentType === 'string' ? /charset="?([\w-]+)"?/i.exec(contentType)?.[1] : undefined;
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function flattenHeaders(raw: Dispatcher.ResponseData['headers']): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    headers[key] = Array.isArray(value) && key !== 'set-cookie' ? value.join(', ') : value;
  }
  return headers;
}

function statusError(plan: HttpRequestPlan, status: number, headers: Record<string, string | string[]>, body: string): AgentryError {
  const retryable = status === 429 || status >= 500;
  const retryAfter = retryable ? parseRetryAfter(headers['retry-after']) : undefined;
  const expected = plan.expectStatus ? `expected ${plan.expectStatus.join(', ')}` : 'expected 2xx';
  const hint = status >= 300 && status < 400 ? ' (redirect not followed or limit reached)' : '';
  return new AgentryError('http_status', `http ${plan.method} ${displayUrl(plan.url)} returned ${status}, ${expected}${hint}`, {
    retryable,
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    details: { status, body },
  });
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function tooLarge(plan: HttpRequestPlan, why: string): AgentryError {
  return new AgentryError('response_too_large', `http ${plan.method} ${displayUrl(plan.url)} response ${why} (limit ${plan.maxResponseBytes} bytes)`, {
    details: { limit: plan.maxResponseBytes },
  });
}

function cancelled(plan: HttpRequestPlan, cause: unknown): AgentryError {
  return new AgentryError('cancelled', `http ${plan.method} ${displayUrl(plan.url)} cancelled`, { cause });
}

/** Connection-level failures (refused, reset, DNS) may succeed later; malformed requests will not. */
function classify(plan: HttpRequestPlan, error: unknown): AgentryError {
  if (error instanceof AgentryError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const target = `${plan.method} ${displayUrl(plan.url)}`;
  if (typeof code === 'string' && (code === 'UND_ERR_INVALID_ARG' || code.startsWith('ERR_INVALID'))) {
    return new AgentryError('invalid_request', `http ${target} is malformed: ${message}`, { cause: error });
  }
  return new AgentryError('http_error', `http ${target} failed: ${message}`, {
    retryable: true,
    cause: error,
    details: typeof code === 'string' ? { code } : undefined,
  });
}
