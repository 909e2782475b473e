/**
 * What a failed provider attempt means for the gateway: retry it (429, 5xx, timeout, lost
 * connection), give up at once (other 4xx, malformed answers), or stop because the caller
 * cancelled. Every error leaves here scrubbed of credentials, its `cause` chain included.
 */
import { AgentryError } from '../lib/errors.js';
import { redactSecrets, scrubError } from './redact.js';

/** Thrown by the mock provider to behave like an HTTP error from a real one. */
export class ProviderStatusError extends Error {
  readonly status: number;
  readonly headers: Headers;

  constructor(status: number, message: string, retryAfterMs?: number) {
    super(`${status} ${message}`);
    this.name = 'ProviderStatusError';
    this.status = status;
    this.headers = new Headers(retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) });
  }
}

export interface AttemptInfo {
  provider: string;
  model: string;
  secrets: readonly string[];
  /** The caller's signal fired. */
  cancelled: boolean;
  /** The gateway's per-call timer fired. */
  timedOut: boolean;
  timeoutMs: number;
  now: number;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * OpenAI's error object (`{ message, type, param, code }`), as a provider sent it: what the
 * OpenAI-compatible routes pass on to their caller with the provider's status.
 */
export interface UpstreamError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/**
 * A provider's answer the caller's request is to blame for (400 context length, 404 unknown model,
 * 422 …): passed through to OpenAI clients with its status. Not the provider's own credentials
 * (401, 403, 407: the gateway's configuration, so a 502) and not the retryable ones.
 */
export function isPassThroughStatus(status: number): boolean {
  return status >= 400 && status < 500 && !isRetryableStatus(status) && status !== 401 && status !== 403 && status !== 407;
}

/** The error object of a provider's answer (OpenAI's `error`, Anthropic's `error.error`), scrubbed. */
function upstreamError(error: unknown, text: string, secrets: readonly string[]): UpstreamError {
  let body = (error as { error?: unknown }).error;
  if (isObject(body) && body['type'] === 'error' && isObject(body['error'])) body = body['error'];
  const field = (name: string): string | null => {
    const value = isObject(body) ? body[name] : undefined;
    return typeof value === 'string' ? redactSecrets(value, secrets) : typeof value === 'number' ? String(value) : null;
  };
  return {
    message: field('message') ?? text.replace(/^\d{3}\s+/, ''),
    type: field('type') ?? 'invalid_request_error',
    param: field('param'),
    code: field('code'),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function classifyProviderError(error: unknown, info: AttemptInfo): AgentryError {
  const cause = scrubError(error, info.secrets);
  const where = `${info.provider}/${info.model}`;
  const text = redactSecrets(error instanceof Error ? error.message : String(error), info.secrets);
  const base = { provider: info.provider, model: info.model };
  if (info.cancelled) return new AgentryError('cancelled', `call to ${where} cancelled`, { cause, details: base });
  if (error instanceof AgentryError && error.code === 'budget_exceeded') return error;
  const name = errorName(error);
  if (info.timedOut || name === 'APIConnectionTimeoutError') {
    return new AgentryError('provider_timeout', `call to ${where} timed out after ${info.timeoutMs}ms`, { retryable: true, cause, details: base });
  }
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') {
    const retryable = isRetryableStatus(status);
    const retryAfterMs = retryable ? retryAfterOf(error, info.now) : undefined;
    const upstream = isPassThroughStatus(status) ? { upstream: upstreamError(error, text, info.secrets) } : {};
    return new AgentryError('provider_error', `${where} answered ${status}: ${text.replace(/^\d{3}\s+/, '')}`, {
      retryable,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      cause,
      details: { ...base, status, ...upstream },
    });
  }
  if (name === 'APIConnectionError' || isConnectionCode((error as { code?: unknown } | null)?.code)) {
    return new AgentryError('provider_unavailable', `cannot reach ${where}: ${text}`, { retryable: true, cause, details: base });
  }
  return new AgentryError('provider_error', `call to ${where} failed: ${text}`, { cause, details: base });
}

function retryAfterOf(error: unknown, now: number): number | undefined {
  const headers = (error as { headers?: unknown }).headers;
  if (!(headers instanceof Headers)) return undefined;
  const msHeader = headers.get('retry-after-ms');
  if (msHeader !== null && /^\d+(\.\d+)?$/.test(msHeader.trim())) return Math.round(Number(msHeader));
  return parseRetryAfter(headers.get('retry-after') ?? undefined, now);
}

/**
 * The SDK error's class: the openai SDK leaves `name` at `Error` on its classes
 * (`APIConnectionError` for a refused or reset connection), the anthropic SDK sets it.
 */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return '';
  return error.name === 'Error' ? error.constructor.name : error.name;
}

function isConnectionCode(code: unknown): boolean {
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(code);
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
