/**
 * Embedded mode (`createAgentryHandler` of the library API): Agentry's HTTP API mounted under
 * `/agentry` in a plain `node:http` server on loopback, next to the host's own routes — probes,
 * a run of the example project's `hello` workflow to its end, its event stream, `Location` and the
 * OpenAPI document under the prefix; options that cannot work are refused with a clear error;
 * `close()` stops the engine and frees the store for the next server.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentryHandler, type AgentryHandler } from '../../src/index.js';
import { silentLogger } from '../helpers/engine.js';
import { exampleProject, removeDir } from '../helpers/cli.js';

const KEYS = 'ops:embedded-test-key-0123456789abcdef:admin';
const AUTH = { authorization: `Bearer ${KEYS.split(':')[1]}` };

/** The environment of a deployment that sets nothing but its API keys. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AGENTRY_')));
  return { ...base, AGENTRY_API_KEYS: KEYS, ...extra };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method, agent: false, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The host application: its own route at `/`, Agentry under the handler's prefix. */
async function hostServer(agentry: AgentryHandler): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    if (agentry.matches(req.url)) return agentry.handle(req, res);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('the host application');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('createAgentryHandler mounted under /agentry in a node:http server', () => {
  const project = exampleProject();
  let agentry: AgentryHandler;
  let server: Server;
  let base = '';

  beforeAll(async () => {
    agentry = await createAgentryHandler({ projectDir: project, prefix: '/agentry', env: env(), logger: silentLogger });
    ({ server, base } = await hostServer(agentry));
  });
  afterAll(async () => {
    await closeServer(server);
    await agentry.close();
    removeDir(project);
  });

  it('answers the probes under the prefix and leaves every other URL to the host', async () => {
    const livez = await call(base, 'GET', '/agentry/livez');
    expect(livez.status).toBe(200);
    expect(JSON.parse(livez.body)).toEqual({ status: 'ok' });
    expect((await call(base, 'GET', '/agentry/readyz')).status).toBe(200);
    for (const path of ['/livez', '/', '/agentryx/livez']) {
      const host = await call(base, 'GET', path);
      expect(host.body).toBe('the host application');
    }
  });

  it('runs a workflow to its end through /agentry/v1, with Location and its event stream under the prefix', async () => {
    expect((await call(base, 'POST', '/agentry/v1/workflows/hello/runs', {}, { input: { name: 'Ada' } })).status).toBe(401);
    const started = await call(base, 'POST', '/agentry/v1/workflows/hello/runs?wait=30s', AUTH, { input: { name: 'Ada' } });
    expect(started.status).toBe(200);
    const run = JSON.parse(started.body) as { id: string; status: string; output: { message: string } };
    expect(run.status).toBe('succeeded');
    expect(run.output.message).toContain('Hello, Ada!');
    expect(started.headers.location).toBe(`/agentry/v1/runs/${run.id}`);

    const fetched = await call(base, 'GET', started.headers.location!, AUTH);
    expect(JSON.parse(fetched.body)).toMatchObject({ id: run.id, status: 'succeeded' });
    // The event stream of an ended run: every event, then the stream ends.
    const stream = await call(base, 'GET', `/agentry/v1/runs/${run.id}/events`, { ...AUTH, accept: 'text/event-stream' });
    expect(stream.headers['content-type']).toContain('text/event-stream');
    expect(stream.body).toContain('event: run.succeeded');
  });

  it('describes the API in OpenAPI with the prefix as its server and the paths unchanged, and serves Swagger UI under it', async () => {
    const doc = JSON.parse((await call(base, 'GET', '/agentry/openapi.json')).body) as { servers?: { url: string }[]; paths: Record<string, unknown> };
    expect(doc.servers?.[0]?.url).toBe('/agentry');
    expect(Object.keys(doc.paths)).toContain('/v1/workflows/{name}/runs');
    expect(Object.keys(doc.paths).some((path) => path.startsWith('/agentry'))).toBe(false);
    // Swagger UI's page loads its files from under the prefix.
    const page = await call(base, 'GET', '/agentry/docs');
    expect(page.body).toContain('href="/agentry/docs/static/swagger-ui.css"');
    expect((await call(base, 'GET', '/agentry/docs/static/swagger-ui.css')).status).toBe(200);
  });
});

describe('createAgentryHandler in other hosts', () => {
  const project = exampleProject();
  let agentry: AgentryHandler;
  beforeAll(async () => {
    agentry = await createAgentryHandler({ projectDir: project, prefix: '/agentry', env: env(), logger: silentLogger });
  });
  afterAll(async () => {
    await agentry.close();
    removeDir(project);
  });

  it('works as Express-style middleware mounted at the prefix (url stripped, originalUrl whole)', async () => {
    // What `app.use('/agentry', agentry.handle)` hands over: the mount path cut from `url`.
    const server = createServer((req, res) => {
      const whole = req.url ?? '/';
      Object.assign(req, { originalUrl: whole, url: whole.startsWith('/agentry') ? whole.slice('/agentry'.length) || '/' : whole });
      agentry.handle(req, res, () => res.writeHead(404).end('next'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = await call(base, 'POST', '/agentry/v1/workflows/hello/runs?wait=30s', AUTH, { input: { name: 'Grace' } });
      expect(JSON.parse(started.body)).toMatchObject({ status: 'succeeded' });
      expect((await call(base, 'GET', '/elsewhere')).body).toBe('next');
    } finally {
      await closeServer(server);
    }
  });

  it('works inside a Fastify server from an onRequest hook, before Fastify reads the body', async () => {
    const host = Fastify();
    host.addHook('onRequest', (request, reply, done) => {
      if (!agentry.matches(request.raw.url)) return done();
      void reply.hijack();
      agentry.handle(request.raw, reply.raw);
    });
    host.get('/', () => ({ host: true }));
    const base = await host.listen({ port: 0, host: '127.0.0.1' });
    try {
      const started = await call(base, 'POST', '/agentry/v1/workflows/hello/runs?wait=30s', AUTH, { input: { name: 'Linus' } });
      expect(JSON.parse(started.body)).toMatchObject({ status: 'succeeded', output: { message: expect.stringContaining('Hello, Linus!') } });
      expect(JSON.parse((await call(base, 'GET', '/')).body)).toEqual({ host: true });
    } finally {
      await host.close();
    }
  });
});

describe('createAgentryHandler refuses what cannot work', () => {
  const project = exampleProject();
  afterAll(() => removeDir(project));

  it.each([
    [{ projectDir: project, prefix: 'agentry' }, /prefix must be a path such as '\/agentry'.*got "agentry"/],
    [{ projectDir: project, prefix: '/agentry/' }, /prefix must be a path/],
    [{ projectDir: project, prefx: '/agentry' }, /unknown option prefx; the options are projectDir, prefix/],
    [{ projectDir: join(project, 'missing') }, /missing/],
  ])('%o', async (options, message) => {
    await expect(createAgentryHandler({ ...(options as object), env: env(), logger: silentLogger })).rejects.toThrow(message);
  });

  it('refuses to start without a way to sign in, naming the settings', async () => {
    await expect(createAgentryHandler({ projectDir: project, env: env({ AGENTRY_API_KEYS: '' }), logger: silentLogger })).rejects.toThrow(/AGENTRY_API_KEYS/);
  });
});

describe('close()', () => {
  it('stops the engine, answers 503 from then on, and frees the SQLite store for the next server', async () => {
    const project = exampleProject();
    try {
      const first = await createAgentryHandler({ projectDir: project, prefix: '/agentry', env: env(), logger: silentLogger });
      const { server, base } = await hostServer(first);
      expect(first.agentry.engine.workerSlots).toBeGreaterThan(0);
      // While it is open, the SQLite store is this server's.
      await expect(createAgentryHandler({ projectDir: project, env: env(), logger: silentLogger })).rejects.toMatchObject({ code: 'store_in_use' });
      await first.close();
      expect(first.agentry.engine.workerSlots).toBe(0);
      const after = await call(base, 'GET', '/agentry/livez');
      expect(after.status).toBe(503);
      expect(JSON.parse(after.body)).toMatchObject({ code: 'not_ready' });
      await closeServer(server);
      await first.close(); // twice is fine

      // The server lock on the store was released: another handler opens it.
      const second = await createAgentryHandler({ projectDir: project, env: env(), logger: silentLogger });
      expect(second.prefix).toBe('');
      await second.close();
    } finally {
      removeDir(project);
    }
  });
});

/** An IPv4 address of this host that is not loopback (undefined on a host with none). */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((info) => info !== undefined && info.family === 'IPv4' && !info.internal)?.address;

describe.skipIf(outsideAddress === undefined)('with auth off', () => {
  it('answers requests that arrive on loopback and refuses those that arrive on another address', async () => {
    const project = exampleProject();
    const agentry = await createAgentryHandler({
      projectDir: project,
      prefix: '/agentry',
      env: env({ AGENTRY_AUTH: 'off' }),
      logger: silentLogger,
      runWorkers: false,
    });
    const server = createServer((req, res) => agentry.handle(req, res));
    try {
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      const { port } = server.address() as AddressInfo;
      expect((await call(`http://127.0.0.1:${port}`, 'GET', '/agentry/v1/workflows')).status).toBe(200);
      const outside = await call(`http://${outsideAddress}:${port}`, 'GET', '/agentry/v1/workflows');
      expect(outside.status).toBe(403);
      expect(JSON.parse(outside.body)).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('loopback address') });
    } finally {
      await closeServer(server);
      await agentry.close();
      removeDir(project);
    }
  });
});
