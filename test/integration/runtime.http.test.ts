import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEgressRules, type EgressMode, type EgressRules } from '../../src/lib/egress.js';
import { AgentryError } from '../../src/lib/errors.js';
import { createHttpExecutor, DEFAULT_EXECUTOR_SETTINGS, type Resolver, type StepContext } from '../../src/runtime/index.js';

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const testResolver: Resolver = (hostname) => {
  const table: Record<string, string[]> = {
    'service.test': ['127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'rebind.test': ['127.0.0.1', '169.254.169.254'],
    'v6-metadata.test': ['fd00:ec2::254'],
  };
  const addresses = table[hostname];
  if (!addresses) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) })));
};

const executor = createHttpExecutor({ resolver: testResolver });

interface ContextOverrides {
  signal?: AbortSignal;
  allowLinkLocal?: boolean;
  maxResponseBytes?: number;
  mode?: EgressMode;
  project?: EgressRules;
  workflow?: EgressRules;
}

function context(overrides: ContextOverrides = {}): StepContext {
  return {
    runId: 'run_1',
    stepId: 'call',
    attempt: 1,
    workflow: 'wf',
    signal: overrides.signal ?? new AbortController().signal,
    state: undefined,
    settings: {
      http: {
        ...DEFAULT_EXECUTOR_SETTINGS.http,
        allowLinkLocal: overrides.allowLinkLocal ?? false,
        maxResponseBytes: overrides.maxResponseBytes ?? DEFAULT_EXECUTOR_SETTINGS.http.maxResponseBytes,
      },
      egress: { mode: overrides.mode ?? 'development', rules: overrides.project && parseEgressRules(overrides.project, 'project').rules },
    },
    ...(overrides.workflow ? { egress: parseEgressRules(overrides.workflow, 'workflow wf').rules } : {}),
    logger: pino({ level: 'silent' }),
  };
}

async function run(config: unknown, ctx = context()) {
  const result = await executor.execute(config, ctx);
  if (result.kind !== 'output') throw new Error('expected output');
  return result.output as { status: number; headers: Record<string, string>; body: unknown };
}

async function failure(config: unknown, ctx = context()): Promise<AgentryError> {
  const error: unknown = await executor.execute(config, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AgentryError)) throw new Error(`expected an AgentryError, got ${String(error)}`);
  return error;
}

function json(res: http.ServerResponse, status: number, value: unknown, headers: http.OutgoingHttpHeaders = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
}

async function readAll(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

describe('http executor: requests and responses', () => {
  it('parses a JSON response body and lower-cases response headers', async () => {
    const base = await serve((_req, res) => json(res, 200, { ok: true, n: 3 }, { 'X-Trace-Id': 'abc' }));
    const output = await run({ url: `${base}/data` });
    expect(output.status).toBe(200);
    expect(output.body).toEqual({ ok: true, n: 3 });
    expect(output.headers['x-trace-id']).toBe('abc');
  });

  it('sends an object body as JSON with POST by default', async () => {
    const base = await serve((req, res) => {
      void readAll(req).then((body) => json(res, 201, { method: req.method, type: req.headers['content-type'], body: JSON.parse(body) as unknown }));
    });
    const output = await run({ url: base, body: { ticket: 'T-1', tags: ['a'] } });
    expect(output.status).toBe(201);
    expect(output.body).toEqual({ method: 'POST', type: 'application/json', body: { ticket: 'T-1', tags: ['a'] } });
  });

  it('sends a string body as text and returns a non-JSON response as text', async () => {
    const base = await serve((req, res) => {
      void readAll(req).then((body) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.headers['content-type']} ${body}`));
    });
    const output = await run({ url: base, method: 'put', body: 'hello' });
    expect(output.body).toBe('PUT text/plain; charset=utf-8 hello');
  });

  it('appends query parameters, repeating list values', async () => {
    const base = await serve((req, res) => json(res, 200, { url: req.url }));
    const output = await run({ url: `${base}/search?fixed=1`, query: { q: 'a b', tag: ['x', 'y'], n: 2 } });
    expect(output.body).toEqual({ url: '/search?fixed=1&q=a+b&tag=x&tag=y&n=2' });
  });

  it('accepts the statuses listed in expect_status and rejects others', async () => {
    const base = await serve((req, res) => json(res, req.url === '/missing' ? 404 : 200, {}));
    expect((await run({ url: `${base}/missing`, expect_status: [404] })).status).toBe(404);
    expect((await failure({ url: `${base}/ok`, expect_status: [201] })).code).toBe('http_status');
  });

  it('fails without retry when a JSON response does not parse', async () => {
    const base = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{nope'));
    const error = await failure({ url: base });
    expect(error.code).toBe('http_error');
    expect(error.retryable).toBe(false);
  });
});

describe('http executor: status codes and connection errors', () => {
  it('treats a 500 as a retryable http_status failure', async () => {
    const base = await serve((_req, res) => json(res, 500, { error: 'boom' }));
    const error = await failure({ url: base });
    expect(error.code).toBe('http_status');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 500 });
  });

  it('takes retryAfterMs from the Retry-After seconds of a 429', async () => {
    const base = await serve((_req, res) => json(res, 429, {}, { 'retry-after': '2' }));
    const error = await failure({ url: base });
    expect(error).toMatchObject({ code: 'http_status', retryable: true, retryAfterMs: 2000 });
  });

  it('treats a 404 as a permanent failure', async () => {
    const base = await serve((_req, res) => json(res, 404, {}));
    const error = await failure({ url: base });
    expect(error.code).toBe('http_status');
    expect(error.retryable).toBe(false);
  });

  it('reports a refused connection as a retryable http_error', async () => {
    const base = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const error = await failure({ url: base });
    expect(error.code).toBe('http_error');
    expect(error.retryable).toBe(true);
  });

  it('never puts secret header values into the error', async () => {
    const base = await serve((_req, res) => json(res, 503, {}));
    const secret = 'Bearer sk-very-secret-value';
    const error = await failure({ url: base, headers: { Authorization: secret, 'x-api-key': secret, cookie: secret } });
    expect(error.code).toBe('http_status');
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain('sk-very-secret');
  });
});

describe('http executor: limits, timeouts and cancellation', () => {
  it('stops reading a streamed response past max_response_bytes and closes the connection', async () => {
    let closed!: Promise<unknown>;
    const base = await serve((req, res) => {
      closed = once(req.socket, 'close');
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'.repeat(16 * 1024)), 5);
      res.on('close', () => clearInterval(timer));
    });
    const error = await failure({ url: base, max_response_bytes: 1024 });
    expect(error.code).toBe('response_too_large');
    expect(error.retryable).toBe(false);
    await closed;
  });

  it('rejects a response whose Content-Length exceeds the limit before reading its body', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10 * 1024 * 1024) });
      res.write('x'); // the rest never comes: only an early rejection lets the step finish
    });
    const error = await failure({ url: base }, context({ maxResponseBytes: 1024 }));
    expect(error.code).toBe('response_too_large');
    expect(error.message).toContain('content-length');
  });

  it('does not apply the Content-Length limit to a HEAD response, which has no body', async () => {
    const base = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10 * 1024 * 1024) }).end());
    const output = await run({ url: base, method: 'HEAD' }, context({ maxResponseBytes: 1024 }));
    expect(output).toMatchObject({ status: 200, body: '' });
  });

  it('fails with a retryable step_timeout when the server does not answer in time', async () => {
    const base = await serve(() => undefined);
    const error = await failure({ url: base, timeout: '100ms' });
    expect(error.code).toBe('step_timeout');
    expect(error.retryable).toBe(true);
  });

  it('aborts the in-flight request when ctx.signal is aborted', async () => {
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    let closed!: Promise<unknown>;
    const base = await serve((req) => {
      closed = once(req.socket, 'close');
      arrived();
    });
    const controller = new AbortController();
    const pending = failure({ url: base }, context({ signal: controller.signal }));
    await received;
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('cancelled');
    expect(error.retryable).toBe(false);
    await closed;
  });
});

describe('http executor: address policy and redirects', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://2852039166/',
    'http://100.100.100.200/',
    'http://[fd00:ec2::254]/',
  ])('refuses the link-local or metadata literal %s without connecting', async (url) => {
    const error = await failure({ url, timeout: '5s' });
    expect(error.code).toBe('egress_denied');
    expect(error.retryable).toBe(false);
  });

  it('resolves host names through the policy and allows loopback', async () => {
    const base = await serve((req, res) => json(res, 200, { host: req.headers.host }));
    const port = new URL(base).port;
    expect((await run({ url: `http://service.test:${port}/` })).body).toEqual({ host: `service.test:${port}` });
  });

  it.each(['metadata.test', 'v6-metadata.test', 'rebind.test'])('refuses %s because one of its addresses is blocked', async (host) => {
    const error = await failure({ url: `http://${host}/`, timeout: '5s' });
    expect(error.code).toBe('egress_denied');
    expect(error.message).toContain(host);
  });

  it('reports an unresolvable host as a retryable http_error', async () => {
    const error = await failure({ url: 'http://unknown.test/' });
    expect(error.code).toBe('http_error');
    expect(error.retryable).toBe(true);
  });

  it('lets link-local addresses through the check when allowLinkLocal is set', async () => {
    const error = await failure({ url: 'http://metadata.test:9/', timeout: '300ms' }, context({ allowLinkLocal: true }));
    expect(error.code).not.toBe('egress_denied');
    expect(error).toBeInstanceOf(AgentryError); // refused, timed out or answered: any outcome but a policy refusal
  });

  it('follows redirects to allowed addresses', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/start') res.writeHead(302, { location: '/final' }).end();
      else json(res, 200, { at: req.url });
    });
    expect((await run({ url: `${base}/start` })).body).toEqual({ at: '/final' });
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://metadata.test/'])('refuses a redirect to %s', async (location) => {
    const base = await serve((_req, res) => res.writeHead(302, { location }).end());
    const error = await failure({ url: base, timeout: '5s' });
    expect(error.code).toBe('egress_denied');
  });

  it('stops after five redirects with a permanent http_status failure', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests += 1;
      res.writeHead(302, { location: `/hop${requests}` }).end();
    });
    const error = await failure({ url: base });
    expect(error.code).toBe('http_status');
    expect(error.retryable).toBe(false);
    expect(requests).toBe(6);
  });
});

describe('http executor: egress policy in production mode', () => {
  it('refuses a loopback server that is not allow-listed, before connecting', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests += 1;
      json(res, 200, {});
    });
    const error = await failure({ url: base, timeout: '5s' }, context({ mode: 'production', project: {} }));
    expect(error.code).toBe('egress_denied');
    expect(error.message).toMatch(/^egress to 127\.0\.0\.1 refused by the egress policy: loopback address not allow-listed/);
    expect(requests).toBe(0);
  });

  it('refuses a host name resolving to loopback without naming the address', async () => {
    const base = await serve((_req, res) => json(res, 200, {}));
    const error = await failure({ url: `http://service.test:${new URL(base).port}/` }, context({ mode: 'production', project: {} }));
    expect(error.code).toBe('egress_denied');
    expect(error.message).not.toContain('127.0.0.1');
  });

  it.each([{ allow: ['127.0.0.0/8'] }, { allow: ['service.test'] }, { allow: ['*.test'] }])(
    'allows the loopback server when allow-listed by %j',
    async (project) => {
      const base = await serve((_req, res) => json(res, 200, { ok: true }));
      expect((await run({ url: `http://service.test:${new URL(base).port}/` }, context({ mode: 'production', project }))).body).toEqual({ ok: true });
    },
  );

  it('refuses a redirect from an allowed loopback server to a denied address, on the hop', async () => {
    const hits: string[] = [];
    const denied = await serve((req, res) => {
      hits.push(`denied ${req.url}`);
      json(res, 200, {});
    });
    const start = await serve((req, res) => {
      hits.push(`start ${req.url}`);
      res.writeHead(302, { location: `http://127.0.0.2:${new URL(denied).port}/secret` }).end();
    });
    const error = await failure({ url: `${start}/go`, timeout: '5s' }, context({ mode: 'production', project: { allow: ['127.0.0.1/32'] } }));
    expect(error.code).toBe('egress_denied');
    expect(error.message).toContain('127.0.0.2');
    expect(hits).toEqual(['start /go']);
  });

  it('lets a workflow narrow the project: its deny wins, and it cannot widen the allow list', async () => {
    const base = await serve((_req, res) => json(res, 200, {}));
    const project = { allow: ['127.0.0.1'] };
    const narrowed = await failure({ url: base, timeout: '5s' }, context({ mode: 'production', project, workflow: { deny: ['127.0.0.0/8'] } }));
    expect(narrowed.code).toBe('egress_denied');
    expect(narrowed.message).toContain('workflow wf');
    const widened = await failure(
      { url: `http://127.0.0.3:${new URL(base).port}/` },
      context({ mode: 'production', project, workflow: { allow: ['127.0.0.3'] } }),
    );
    expect(widened.code).toBe('egress_denied');
  });

  it('refuses a denied loopback address in development mode too', async () => {
    const base = await serve((_req, res) => json(res, 200, {}));
    const error = await failure({ url: base, timeout: '5s' }, context({ project: { deny: ['127.0.0.1'] } }));
    expect(error.code).toBe('egress_denied');
  });
});
