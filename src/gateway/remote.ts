/**
 * A chat client of a remote Agentry gateway (`agentry start gateway`), through the official
 * `openai` SDK pointed at its OpenAI-compatible `/v1`. Workers given `AGENTRY_GATEWAY_URL`
 * use it and hold no provider keys; the run, step and workflow travel as headers so the
 * gateway records usage against them and applies the run's budget.
 *
 * How it signs in: with the deployment's internal secret (`AGENTRY_INTERNAL_SECRET`) it mints an
 * internal service token per call (`internal-token.ts`), naming the run's tenant, run and step,
 * and sends no API key: one worker serves every tenant's runs without any tenant's key, and the
 * token is good for that one call's run for 5 minutes. Without the secret (development,
 * single-tenant deployments) it sends `AGENTRY_GATEWAY_API_KEY` and names the run's tenant with
 * `X-Agentry-Tenant`, which a key of one tenant may only do for its own tenant
 * (docs/security.md#internal-service-tokens). With tracing on, the call carries `traceparent`.
 */
import type OpenAI from 'openai';
import { AgentryError, isErrorCode } from '../lib/errors.js';
import { TENANT_HEADER } from '../lib/tenant.js';
import { injectTraceHeaders } from '../obs/tracing.js';
import { INTERNAL_TOKEN_HEADER, type InternalTokenSigner } from './internal-token.js';
import type { CallContext, ChatRequest, ChatResponse } from './types.js';

export const CONTEXT_HEADERS = {
  runId: 'x-agentry-run-id',
  stepId: 'x-agentry-step-id',
  workflow: 'x-agentry-workflow',
  budget: 'x-agentry-budget',
} as const;

export interface RemoteGatewayOptions {
  /** Base URL of the gateway process, e.g. `http://gateway:7701`. */
  url: string;
  /** `AGENTRY_GATEWAY_API_KEY`: sent when there is no `tokens` signer. */
  apiKey?: string | undefined;
  /** Mints an internal service token per call (`AGENTRY_INTERNAL_SECRET`); takes the place of the API key. */
  tokens?: InternalTokenSigner | undefined;
}

/** The headers that sign a call in: a fresh internal token, or the API key and the run's tenant. */
export async function credentialHeaders(options: Pick<RemoteGatewayOptions, 'apiKey' | 'tokens'>, ctx: CallContext): Promise<Record<string, string>> {
  if (options.tokens) {
    const token = await options.tokens.mint({
      tenantId: ctx.tenantId,
      ...(ctx.runId === undefined ? {} : { runId: ctx.runId, ...(ctx.stepId === undefined ? {} : { stepId: ctx.stepId }) }),
    });
    return { [INTERNAL_TOKEN_HEADER]: token };
  }
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined && options.apiKey !== '') headers.authorization = `Bearer ${options.apiKey}`;
  if (ctx.runId) headers[TENANT_HEADER] = ctx.tenantId;
  return headers;
}

/** The `openai` SDK's client class, imported on the first call: a worker that never runs an agent step does not load it. */
type OpenAIClass = typeof OpenAI;

export class RemoteGateway {
  private sdk: Promise<{ OpenAI: OpenAIClass; client: OpenAI }> | undefined;

  constructor(private readonly options: RemoteGatewayOptions) {}

  private client() {
    this.sdk ??= import('openai').then(({ default: OpenAI }) => ({
      OpenAI,
      // The credential is set per call (`credentialHeaders`); the SDK insists on a key of its own.
      client: new OpenAI({ baseURL: `${this.options.url.replace(/\/+$/, '')}/v1`, apiKey: 'per-call', maxRetries: 0 }),
    }));
    return this.sdk;
  }

  async chat(request: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    // `authorization: null` drops the SDK's own header: only `credentialHeaders` sign the call in.
    const headers: Record<string, string | null> = { authorization: null, ...(await credentialHeaders(this.options, ctx)) };
    if (ctx.runId) headers[CONTEXT_HEADERS.runId] = ctx.runId;
    if (ctx.stepId) headers[CONTEXT_HEADERS.stepId] = ctx.stepId;
    if (ctx.workflow) headers[CONTEXT_HEADERS.workflow] = ctx.workflow;
    if (ctx.budget) headers[CONTEXT_HEADERS.budget] = JSON.stringify(ctx.budget);
    // The gateway process's request and LLM spans join the caller's trace (the agent step's attempt).
    Object.assign(headers, injectTraceHeaders({}));
    const { OpenAI, client } = await this.client();
    try {
      const response = await client.chat.completions.create(
        { ...(request as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming), stream: false },
        { headers, ...(ctx.signal ? { signal: ctx.signal } : {}) },
      );
      return response as unknown as ChatResponse;
    } catch (error) {
      throw remoteError(OpenAI, error);
    }
  }
}

/** The gateway answers problem+json with a stable `code`: keep it (and whether retrying helps). */
function remoteError(OpenAI: OpenAIClass, error: unknown): AgentryError {
  if (error instanceof OpenAI.APIUserAbortError) return new AgentryError('cancelled', 'the gateway call was cancelled', { cause: error });
  if (error instanceof OpenAI.APIError) {
    // The SDK hands over the `error` member of the body: the gateway puts OpenAI's `{ message, code }` there.
    const body = error.error as { code?: unknown; message?: unknown } | undefined;
    const code = isErrorCode(body?.code) ? body.code : 'provider_error';
    const retryable = error.status === undefined || error.status === 429 || error.status >= 500;
    return new AgentryError(code, typeof body?.message === 'string' ? body.message : error.message, { retryable, cause: error });
  }
  return new AgentryError('provider_unavailable', `cannot reach the gateway: ${(error as Error).message}`, { retryable: true, cause: error });
}
