/**
 * The client's transport and parsers without a server (a `fetch` double): what is retried and
 * what is not, `Retry-After`, the one Idempotency-Key per call, the server version check
 * (DEP-34), and the SSE parser's framing rules.
 */
import { describe, expect, it } from 'vitest';
import {
  AgentryConnectionError,
  AgentryVersionError,
  createAgentryClient,
  isSupportedServer,
  parseServerSentEvents,
  SUPPORTED_SERVER_RANGE,
  type FetchLike,
} from '../../src/client/index.js';

interface Call {
  url: string;
  method: string;
  headers: Headers;
}

/** A fetch that answers from `script` in turn (a function may throw, as a dropped connection does). */
function scripted(script: (() => Response)[], healthz = { version: '0.1.0' }): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  let i = 0;
  // eslint-disable-next-line @typescript-eslint/require-await -- a script step throws, as fetch rejects
  const fetch: FetchLike = async (url, init) => {
    if (url.endsWith('/healthz')) return Response.json(healthz);
    calls.push({ url, method: init.method ?? 'GET', headers: new Headers(init.headers) });
    return script[Math.min(i++, script.length - 1)]!();
  };
  return { fetch, calls };
}

const run = { id: 'run_1', workflow: 'w', status: 'queued' };
const problem =
  (status: number, code: string, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ status, code, detail: code, request_id: 'req-1' }), {
      status,
      headers: { 'content-type': 'application/problem+json', ...headers },
    });
const dropped = () => {
  throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
};

describe('retries', () => {
  it('retries a run start after a dropped connection and a 503 with one Idempotency-Key, then returns the run', async () => {
    const { fetch, calls } = scripted([dropped, problem(503, 'not_ready', { 'retry-after': '0' }), () => Response.json(run, { status: 201 })]);
    const client = createAgentryClient({ url: 'http://agentry.test', apiKey: 'k'.repeat(20), fetch, retryDelayMs: 1 });
    const started = await client.runs.start('w', { input: { a: 1 } });
    expect(started.run.id).toBe('run_1');
    expect(calls).toHaveLength(3);
    const keys = calls.map((c) => c.headers.get('idempotency-key'));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^agentry-client-/);
    expect(calls[0]!.headers.get('authorization')).toBe(`Bearer ${'k'.repeat(20)}`);
  });

  it('a new call gets a new key', async () => {
    const { fetch, calls } = scripted([() => Response.json(run, { status: 201 })]);
    const client = createAgentryClient({ url: 'http://agentry.test', fetch });
    await client.runs.start('w');
    await client.runs.start('w');
    expect(calls[0]!.headers.get('idempotency-key')).not.toBe(calls[1]!.headers.get('idempotency-key'));
  });

  it('does not retry a POST that is not idempotent (cancel), nor a 4xx', async () => {
    const cancel = scripted([problem(503, 'not_ready'), () => Response.json(run)]);
    const client = createAgentryClient({ url: 'http://agentry.test', fetch: cancel.fetch, retryDelayMs: 1 });
    await expect(client.runs.cancel('run_1')).rejects.toMatchObject({ status: 503, code: 'not_ready', requestId: 'req-1' });
    expect(cancel.calls).toHaveLength(1);
    const notFound = scripted([problem(404, 'not_found'), () => Response.json(run)]);
    const other = createAgentryClient({ url: 'http://agentry.test', fetch: notFound.fetch, retryDelayMs: 1 });
    await expect(other.runs.get('run_1')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(notFound.calls).toHaveLength(1);
  });

  it('honours Retry-After on 429 and gives up after `retries`, with the last answer as the error', async () => {
    const { fetch, calls } = scripted([problem(429, 'rate_limited', { 'retry-after': '0' })]);
    const client = createAgentryClient({ url: 'http://agentry.test', fetch, retries: 2, retryDelayMs: 1 });
    await expect(client.runs.page()).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
    expect(calls).toHaveLength(3);
  });

  it('a server that cannot be reached is an AgentryConnectionError after the retries', async () => {
    const { fetch, calls } = scripted([dropped]);
    const client = createAgentryClient({ url: 'http://agentry.test', fetch, retries: 1, retryDelayMs: 1 });
    const error = await client.runs.page().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryConnectionError);
    expect((error as Error).message).toContain('ECONNRESET');
    expect(calls).toHaveLength(2);
  });

  it('sends ?tenant= on every request when the client acts in a tenant', async () => {
    const { fetch, calls } = scripted([() => Response.json({ items: [], next_cursor: null })]);
    const client = createAgentryClient({ url: 'http://agentry.test/', fetch, tenant: 'acme' });
    await client.runs.page({ limit: 5 });
    expect(new URL(calls[0]!.url).searchParams.get('tenant')).toBe('acme');
    expect(new URL(calls[0]!.url).searchParams.get('limit')).toBe('5');
  });
});

describe('server version (SUPPORTED_SERVER_RANGE)', () => {
  it('refuses a server outside the range before any request, with both versions in the message', async () => {
    const { fetch, calls } = scripted([() => Response.json(run)], { version: '1.2.0' });
    const client = createAgentryClient({ url: 'http://agentry.test', fetch });
    const error = await client.runs.get('run_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryVersionError);
    expect((error as Error).message).toContain('1.2.0');
    expect((error as Error).message).toContain(SUPPORTED_SERVER_RANGE);
    expect(calls).toHaveLength(0);
  });

  it('accepts versions in the range (pre-releases by their numbers), refuses others', () => {
    expect(['0.1.0', '0.1.5', '0.9.0-rc.1', 'v0.2.0'].map(isSupportedServer)).toEqual([true, true, true, true]);
    expect(['0.0.9', '1.0.0', 'dev', ''].map(isSupportedServer)).toEqual([false, false, false, false]);
  });
});

describe('SSE parser', () => {
  const stream = (...chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });

  it('frames events across chunk boundaries and line endings, skipping comments', async () => {
    const frames = [];
    for await (const frame of parseServerSentEvents(
      stream('retry: 1000\n: hello\n\nid: 1\nevent: run.created\ndata: {"a"', ':1}\r', '\n\r\nid: 2\ndata: x\ndata: y\n\n'),
    ))
      frames.push(frame);
    expect(frames).toEqual([
      { id: '1', event: 'run.created', data: '{"a":1}', retry: undefined },
      { id: '2', event: 'message', data: 'x\ny', retry: undefined },
    ]);
  });
});
