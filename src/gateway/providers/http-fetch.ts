/**
 * The `fetch` the `openai` SDK is given: undici's `request` on one keep-alive pool per provider,
 * the answer's body read whole. Node's built-in `fetch` (web streams, per-request abort wiring)
 * cost the gateway more CPU than the rest of a call; the SDK itself — its request building, its
 * retries' headers, its error classes, its parsing — stays the code path. Only for whole
 * answers: a streaming client keeps the built-in `fetch`, whose body arrives as it is written. A
 * request this does not handle (a `Request` object, a body that is not text) goes to the
 * built-in `fetch` too.
 *
 * A successful answer is handed back as a `WholeResponse`: what the SDK reads of a `Response`
 * (status, `ok`, headers by name, `text()`, `json()`) over the text already read, without the
 * web `Response` and `Headers` objects and the body stream they build for every call (about a
 * tenth of a gateway call's CPU). Anything that asks for the body as a stream, or a clone, gets
 * a real `Response` built then. A failed answer (status outside 2xx) is a real `Response`, so
 * the SDK's error classes carry real `Headers` (`classify.ts` reads `Retry-After` from them).
 */
import { Agent, type Dispatcher } from 'undici';

type RawHeaders = Record<string, string | string[] | undefined>;

/** The answer's headers, read by name as `Headers` does (names are lower-case in undici's object). */
class AnswerHeaders {
  readonly #raw: RawHeaders;

  constructor(raw: RawHeaders) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  keys(): IterableIterator<string> {
    return [...this.entries()].map(([name]) => name)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return [...this.entries()].map(([, value]) => value)[Symbol.iterator]();
  }

  forEach(callback: (value: string, name: string, headers: AnswerHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Real `Headers`, for a real `Response`. */
  toHeaders(): Headers {
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.#raw)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    return headers;
  }
}

/** A successful answer read whole: the part of `Response` the SDK reads, a real one for the rest (see the module comment). */
export class WholeResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';
  #used = false;

  constructor(
    readonly status: number,
    readonly headers: AnswerHeaders,
    readonly url: string,
    private readonly content: string,
  ) {
    this.ok = status >= 200 && status <= 299;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  /** The body as a stream (nothing the gateway's calls read): a real `Response`'s. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.#response().body;
  }

  // A used body or bad JSON rejects, as a Response's does (it never throws at the call).
  text(): Promise<string> {
    return this.#read((content) => content);
  }

  json(): Promise<unknown> {
    return this.#read((content) => JSON.parse(content) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#response().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.#response().blob();
  }

  clone(): Response {
    return this.#response();
  }

  #read<T>(parse: (content: string) => T): Promise<T> {
    try {
      if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
      this.#used = true;
      return Promise.resolve(parse(this.content));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #response(): Response {
    return new Response(this.content, { status: this.status, headers: this.headers.toHeaders() });
  }
}

/** The request's headers as undici's plain object (the SDK hands them as `Headers`). */
function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers instanceof Headers) for (const [name, value] of headers) out[name] = value;
  else new Headers(headers).forEach((value, name) => (out[name] = value));
  return out;
}

export function providerFetch(): typeof fetch {
  const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 4_000 });
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string')) return fetch(input, init);
    const url = new URL(String(input));
    const res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: init?.method ?? 'GET',
      headers: plainHeaders(init?.headers),
      ...(typeof body === 'string' ? { body } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    });
    const text = await res.body.text();
    const headers = new AnswerHeaders(res.headers);
    const whole = new WholeResponse(res.statusCode, headers, url.href, text);
    if (whole.ok) return whole as unknown as Response;
    return new Response(text, { status: res.statusCode, headers: headers.toHeaders() });
  };
}
