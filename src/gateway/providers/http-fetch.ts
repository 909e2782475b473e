/**
 * The `fetch` the `openai` SDK is given: undici's `request` on one keep-alive pool per provider,
 * the answer's body read whole and handed back as a `Response`. Node's built-in `fetch` (web
 * streams, per-request abort wiring) cost the gateway more CPU than the rest of a call; the SDK
 * itself — its request building, its retries' headers, its error classes, its parsing — stays
 * the code path. Only for whole answers: a streaming client keeps the built-in `fetch`, whose
 * body arrives as it is written. A request this does not handle (a `Request` object, a body that
 * is not text) goes to the built-in `fetch` too.
 */
import { Agent, type Dispatcher } from 'undici';

export function providerFetch(): typeof fetch {
  const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 4_000 });
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string')) return fetch(input, init);
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: init?.method ?? 'GET',
      headers,
      ...(typeof body === 'string' ? { body } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    });
    const text = await res.body.text();
    const answer = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) answer.append(name, v);
      else if (value !== undefined) answer.set(name, value);
    }
    return new Response(text, { status: res.statusCode, headers: answer });
  };
}
