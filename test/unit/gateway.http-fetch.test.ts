import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providerFetch } from '../../src/gateway/providers/http-fetch.js';

const COMPLETION = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [], usage: null };

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/v1/limited') {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'x-request-id': 'req-429' });
        res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit' } }));
        return;
      }
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-1', 'x-echo-auth': req.headers.authorization ?? '' });
      res.end(JSON.stringify(COMPLETION));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

// The providers' keep-alive sockets close with the server's side of them.
afterEach(() => server.closeAllConnections());

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("the openai SDK's fetch", () => {
  it('hands back a successful answer that reads as a Response: status, headers by any case, text or JSON once, and its body as a stream', async () => {
    const fetch = providerFetch();
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: new Headers({ Authorization: 'Bearer k' }), body: '{}' });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(res.headers.get('x-echo-auth')).toBe('Bearer k');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('missing')).toBeNull();
    expect(res.headers.has('X-Request-Id')).toBe(true);
    expect([...res.headers.entries()].map(([name]) => name)).toEqual(expect.arrayContaining(['content-type', 'x-request-id']));
    expect(await res.clone().json()).toEqual(COMPLETION);
    expect(await new Response(res.body).json()).toEqual(COMPLETION);
    expect(await res.json()).toEqual(COMPLETION);
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('hands back a failed answer as a real Response, so the SDK error carries Headers with Retry-After', async () => {
    const fetch = providerFetch();
    const res = await fetch(`${base}/v1/limited`, { method: 'POST', body: '{}' });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(429);
    const client = new OpenAI({ apiKey: 'k', baseURL: `${base}/v1`, maxRetries: 0, fetch: providerFetch() });
    const error = await client.post('/limited', { body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers).toBeInstanceOf(Headers);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
  });

  it('gives the SDK parsed completions with the request id', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: `${base}/v1`, maxRetries: 0, fetch: providerFetch() });
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion).toEqual(COMPLETION);
    expect(completion._request_id).toBe('req-1');
    const { response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-request-id')).toBe('req-1');
  });
});
