/**
 * A non-streaming chat completion straight over HTTP (undici, one keep-alive connection pool per
 * provider), where the `openai` SDK's client costs about as much CPU again as the rest of the
 * gateway's work on a call. Failures take the SDK's own error classes (`APIError.generate`: the
 * status, the headers with `Retry-After`, the provider's message), so classifying them, retrying
 * and falling back are the same as through the SDK. Streams still go through the SDK.
 */
import OpenAI from 'openai';
import { Agent, type Dispatcher } from 'undici';

export interface ChatPoster {
  /** POSTs `body` as JSON to `<baseURL>/chat/completions`; resolves with the parsed answer. */
  post(body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<unknown>;
}

export function chatPoster(baseURL: string, apiKey: string): ChatPoster {
  const url = new URL(`${baseURL.replace(/\/+$/, '')}/chat/completions`);
  const origin = url.origin;
  const path = `${url.pathname}${url.search}`;
  const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 4_000 });
  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${apiKey}` };
  return {
    async post(body, signal) {
      let res: Dispatcher.ResponseData;
      try {
        res = await dispatcher.request({ origin, path, method: 'POST', headers, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted === true) throw new OpenAI.APIUserAbortError();
        throw new OpenAI.APIConnectionError({ cause: error as Error });
      }
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return JSON.parse(text) as unknown;
      const json = parseJson(text);
      throw OpenAI.APIError.generate(res.statusCode, json, json === undefined ? text : undefined, toHeaders(res.headers));
    },
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function toHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}
