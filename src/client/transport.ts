/**
 * The one `fetch` every request of the client goes through (openapi-fetch's and the client's
 * own): the API key, `?tenant=`, the server version check on first use, an automatic
 * `Idempotency-Key` on run starts and task decisions, and retries with backoff.
 *
 * What is retried: a request that could not be sent or whose connection failed, and answers
 * 429, 502, 503 and 504 (`Retry-After` honoured) — for requests that are safe to repeat:
 * GET, PUT, DELETE, and the POSTs that carry an `Idempotency-Key` (a run start, a task decision),
 * whose key is made once per call and sent again on every retry, so the server returns the first
 * run instead of starting a second one.
 */
import { AgentryConnectionError, retryAfterMs } from './errors.js';
import { checkServerVersion } from './version.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  url: string;
  apiKey?: string | undefined;
  tenant?: string | undefined;
  fetch?: FetchLike | undefined;
  /** Retries after the first attempt (default 3; 0 turns retries off). */
  retries?: number | undefined;
  /** First backoff delay (default 250 ms), doubled each retry with jitter, at most `maxDelayMs`. */
  retryDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  /** Aborts every request of the client. */
  signal?: AbortSignal | undefined;
  /** Check the server's version against `SUPPORTED_SERVER_RANGE` before the first request (default true). */
  checkVersion?: boolean | undefined;
}

/** POSTs that take an `Idempotency-Key` (and so are safe to retry with one). */
const IDEMPOTENT_POSTS = [/\/v1\/workflows\/[^/]+\/runs$/, /\/v1\/tasks\/[^/]+\/complete$/];
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

export class Transport {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private versionChecked: Promise<void> | undefined;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    const custom = options.fetch;
    // Called through a closure: a browser's fetch refuses to run with another `this`.
    this.fetchImpl = custom ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** openapi-fetch's `fetch`: the request it built, sent through `send`. */
  readonly fetch = async (request: Request): Promise<Response> => {
    const body = request.body === null ? undefined : await request.arrayBuffer();
    return this.send(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
  };

  /** A request to `pathOrUrl` (a path under the server's URL, or a full URL from `fetch`). */
  async send(
    pathOrUrl: string,
    init: { method?: string; headers?: RequestInit['headers']; body?: RequestInit['body'] | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<Response> {
    const url = new URL(pathOrUrl.startsWith('/') ? `${this.baseUrl}${pathOrUrl}` : pathOrUrl);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    if (this.options.apiKey !== undefined && !headers.has('authorization') && !headers.has('x-api-key')) {
      headers.set('authorization', `Bearer ${this.options.apiKey}`);
    }
    if (this.options.tenant !== undefined && !url.searchParams.has('tenant')) url.searchParams.set('tenant', this.options.tenant);
    let safe = method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'DELETE';
    if (method === 'POST' && IDEMPOTENT_POSTS.some((pattern) => pattern.test(url.pathname))) {
      // One key per call, sent again with every retry of it.
      if (!headers.has('idempotency-key')) headers.set('idempotency-key', newKey());
      safe = true;
    }
    const signal = anySignal(this.options.signal, init.signal);
    await this.ensureVersion(signal);
    return this.attempt(url.toString(), { method, headers, ...(init.body === undefined ? {} : { body: init.body }) }, safe, signal);
  }

  private async attempt(url: string, init: RequestInit, retryable: boolean, signal: AbortSignal | undefined): Promise<Response> {
    const retries = retryable ? Math.max(0, this.options.retries ?? 3) : 0;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { ...init, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (attempt >= retries) throw new AgentryConnectionError(this.baseUrl, error);
        await sleep(this.backoff(attempt), signal);
        continue;
      }
      if (!RETRY_STATUSES.has(response.status) || attempt >= retries) return response;
      const wait = Math.max(retryAfterMs(response.headers.get('retry-after')), this.backoff(attempt));
      await response.body?.cancel().catch(() => undefined);
      await sleep(Math.min(wait, 60_000), signal);
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.retryDelayMs ?? 250;
    const max = this.options.maxDelayMs ?? 10_000;
    const delay = Math.min(max, base * 2 ** attempt);
    return delay / 2 + Math.random() * (delay / 2);
  }

  private ensureVersion(signal: AbortSignal | undefined): Promise<void> {
    if (this.options.checkVersion === false) return Promise.resolve();
    this.versionChecked ??= checkServerVersion(async () => {
      const response = await this.attempt(`${this.baseUrl}/healthz`, { method: 'GET', headers: { accept: 'application/json' } }, true, signal);
      return response.ok ? ((await response.json()) as { version?: unknown }) : undefined;
    }).catch((error: unknown) => {
      // Not reached this time: checked again on the next request.
      this.versionChecked = undefined;
      throw error;
    });
    return this.versionChecked;
  }
}

function newKey(): string {
  return `agentry-client-${globalThis.crypto.randomUUID()}`;
}

function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return AbortSignal.any([a, b]);
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
