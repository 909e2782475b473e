/**
 * A plugin's runtime context enforces its manifest, in both isolation modes: the example plugin
 * reaches its declared host with its declared env var; an undeclared host, an undeclared write
 * (directly or through a symlink) and an undeclared env var are refused, and each network and
 * fs call is recorded with plugin, target, run and tenant. In `process` mode the plugin cannot
 * read a file outside its declared paths even with `require('fs')` or `import('node:fs')`, and its
 * own `fetch` goes through the host's egress proxy: the declared host answers, an undeclared one
 * (another loopback port) is refused and recorded, a raw socket or a name lookup is refused. A
 * plugin that throws or hangs fails its own calls with `plugin_failed`; other plugins answer.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginGuard, type PluginAccess } from '../../src/app/plugin-guard.js';
import { PluginHost, type PluginHostOptions } from '../../src/app/plugin-host.js';
import { loadManifest } from '../../src/spec/plugin-manifest.js';
import { REPO, removeDir, tempDir } from '../helpers/cli.js';

const logger = pino({ level: 'silent' });
const scope = { tenantId: 'acme', runId: 'run_1' };

let api: Server;
let apiPort = 0;
let other: Server;
let otherPort = 0;
let otherHits = 0;
const seenAuth: string[] = [];
let project: string;

/** A plugin written for these tests: reaches files and env directly and through ctx, throws, hangs. */
const PROBE = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
export default {
  tools: {
    write: (input, ctx) => ctx.fs.writeFile(input.path, input.text).then(() => 'written'),
    read: (input, ctx) => ctx.fs.readFile(input.path),
    requireRead: (input) => require('fs').readFileSync(input.path, 'utf8'),
    importRead: async (input) => (await import('node:fs')).readFileSync(input.path, 'utf8'),
    env: (input, ctx) => ({ declared: ctx.env.PROBE_TOKEN ?? null, undeclared: ctx.env.HOME ?? null, raw: process.env.PROBE_TOKEN ?? null, tenant: ctx.tenantId }),
    boom: () => { throw new Error('probe exploded'); },
    hang: () => { for (;;) {} },
    ping: () => 'pong',
    rawFetch: async (input) => {
      try {
        const r = await fetch(input.url);
        return { status: r.status, body: await r.text() };
      } catch (e) {
        return { error: String(e.cause?.message ?? e.message) };
      }
    },
    rawSocket: (input) => new Promise((resolve) => {
      const s = require('net').connect(input.port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve('connected'); });
      s.on('error', (e) => resolve(e.code ?? e.message));
    }),
    viaEnvProxy: (input) => new Promise((resolve) => {
      const proxy = new URL(process.env.HTTP_PROXY);
      const auth = 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
      const req = require('http').request({ host: proxy.hostname, port: proxy.port, path: input.url, headers: { 'proxy-authorization': auth } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', (e) => resolve({ error: e.message }));
      req.end();
    }),
    lookup: () => require('dns').promises.lookup('localhost').then(() => 'resolved'),
  },
};
`;

beforeAll(async () => {
  api = createServer((req, res) => {
    seenAuth.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ summary: 'sunny', temperature_c: 21 }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as AddressInfo).port;
  other = createServer((_req, res) => {
    otherHits += 1;
    res.writeHead(200, { connection: 'close' }).end('undeclared');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherPort = (other.address() as AddressInfo).port;
  project = tempDir('agentry-plugin-rt-');
  mkdirSync(join(project, 'probe'));
  writeFileSync(join(project, 'probe/index.js'), PROBE);
  writeFileSync(join(project, 'secret.txt'), 'not for plugins');
  mkdirSync(join(project, 'shared'));
  writeFileSync(join(project, 'shared/readme.txt'), 'shared text');
});
afterAll(async () => {
  await new Promise<void>((resolve) => api.close(() => resolve()));
  await new Promise<void>((resolve) => other.close(() => resolve()));
  removeDir(project);
});

describe.each(['in-process', 'process'] as const)('a %s plugin', (mode) => {
  it('reaches its declared host with its declared env var; an undeclared host is refused and recorded', async () => {
    const loaded = loadManifest(join(REPO, 'examples/plugins/weather'));
    const accesses: PluginAccess[] = [];
    // The test's weather API is on loopback: declared in place of api.weather.example.
    const permissions = { ...loaded.manifest.permissions, network: { hosts: [`127.0.0.1:${apiPort}`] } };
    const guard = new PluginGuard('weather', permissions, project, { WEATHER_API_KEY: 'k-123', HOME: '/root' }, (a) => accesses.push(a));
    const host = new PluginHost({ name: 'weather', mode, dir: loaded.dir, entry: loaded.entry, childProcess: false, guard, logger });
    try {
      const ok = await host.call('tool', 'forecast', { city: 'Oslo', base_url: `http://127.0.0.1:${apiPort}` }, scope);
      expect(ok).toEqual({ city: 'Oslo', summary: 'sunny', temperature_c: 21 });
      expect(seenAuth.at(-1)).toBe('Bearer k-123');
      const step = await host.call('step', 'forecast', { city: 'Bergen', base_url: `http://127.0.0.1:${apiPort}` }, scope);
      expect(step).toMatchObject({ city: 'Bergen', summary: 'sunny' });
      const route = await host.call(
        'route',
        'GET /forecast',
        { method: 'GET', path: '/forecast', query: { city: 'Rome', base_url: `http://127.0.0.1:${apiPort}` }, headers: {} },
        scope,
      );
      expect(route).toMatchObject({ status: 200, body: { city: 'Rome' } });

      const refused = host.call('tool', 'forecast', { city: 'Oslo', base_url: `http://localhost:${apiPort}` }, scope);
      await expect(refused).rejects.toMatchObject({
        code: 'plugin_permission_denied',
        message: expect.stringContaining(`host localhost:${apiPort} is not among its declared network hosts`),
      });
      expect(accesses).toContainEqual({ plugin: 'weather', op: 'fetch', target: `127.0.0.1:${apiPort}`, allowed: true, tenant: 'acme', run: 'run_1' });
      expect(accesses).toContainEqual({ plugin: 'weather', op: 'fetch', target: `localhost:${apiPort}`, allowed: false, tenant: 'acme', run: 'run_1' });
    } finally {
      await host.stop();
    }
  });

  it('writes and reads only its declared paths, sees only its declared env vars, and fails alone', async () => {
    const accesses: PluginAccess[] = [];
    const permissions = { fs: { read: ['./shared'], write: ['${data}'] }, env: ['PROBE_TOKEN'] };
    const env = { PROBE_TOKEN: 't-1', HOME: '/root' };
    const guard = new PluginGuard('probe', permissions, project, env, (a) => accesses.push(a));
    const host = probeHost('probe', mode, guard, 1500);
    const other = probeHost('other', mode, new PluginGuard('other', {}, project, {}, () => undefined));
    const dataDir = join(project, '.agentry/plugins/data/probe');
    try {
      expect(await host.call('tool', 'write', { path: join(dataDir, 'note.txt'), text: 'hello' }, scope)).toBe('written');
      expect(readFileSync(join(dataDir, 'note.txt'), 'utf8')).toBe('hello');
      expect(await host.call('tool', 'read', { path: 'shared/readme.txt' }, scope)).toBe('shared text');

      await expect(host.call('tool', 'write', { path: join(project, 'evil.txt'), text: 'x' }, scope)).rejects.toMatchObject({
        code: 'plugin_permission_denied',
      });
      await expect(host.call('tool', 'read', { path: join(project, 'secret.txt') }, scope)).rejects.toMatchObject({ code: 'plugin_permission_denied' });
      // A symlink inside the data directory does not lead out of it.
      symlinkSync(project, join(dataDir, `escape-${mode}`));
      await expect(host.call('tool', 'write', { path: join(dataDir, `escape-${mode}`, 'evil.txt'), text: 'x' }, scope)).rejects.toMatchObject({
        code: 'plugin_permission_denied',
      });
      expect(accesses).toContainEqual(
        expect.objectContaining({ plugin: 'probe', op: 'fs.write', target: join(project, 'evil.txt'), allowed: false, run: 'run_1', tenant: 'acme' }),
      );
      expect(accesses).toContainEqual(expect.objectContaining({ op: 'fs.write', allowed: true, target: join(dataDir, 'note.txt') }));

      expect(await host.call('tool', 'env', {}, scope)).toEqual({ declared: 't-1', undeclared: null, raw: null, tenant: 'acme' });

      await expect(host.call('tool', 'boom', {}, scope)).rejects.toMatchObject({
        code: 'plugin_failed',
        message: 'plugin probe: probe exploded',
        details: { plugin: 'probe' },
      });
      await expect(host.call('tool', 'hang', {}, scope)).rejects.toMatchObject({
        code: 'plugin_failed',
        message: expect.stringContaining('did not answer within 1500 ms'),
      });
      expect(await other.call('tool', 'ping', {}, scope)).toBe('pong');
      expect(await host.call('tool', 'ping', {}, scope)).toBe('pong');
    } finally {
      await host.stop();
      await other.stop();
    }
  });
});

/** A runtime of the probe plugin (its files under `project/probe`) as `name`, in `mode`, behind `guard`. */
function probeHost(name: string, mode: PluginHostOptions['mode'], guard: PluginGuard, timeoutMs?: number): PluginHost {
  return new PluginHost({
    name,
    mode,
    dir: join(project, 'probe'),
    entry: join(project, 'probe/index.js'),
    childProcess: false,
    guard,
    logger,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

describe('a process plugin', () => {
  it("cannot read a file outside its declared paths even with require('fs') or import('node:fs')", async () => {
    const accesses: PluginAccess[] = [];
    const guard = new PluginGuard('probe', { fs: { read: ['./shared'] } }, project, {}, (a) => accesses.push(a));
    const host = probeHost('probe', 'process', guard);
    try {
      expect(await host.call('tool', 'requireRead', { path: join(project, 'shared/readme.txt') }, scope)).toBe('shared text');
      for (const fn of ['requireRead', 'importRead']) {
        await expect(host.call('tool', fn, { path: join(project, 'secret.txt') }, scope)).rejects.toMatchObject({
          code: 'plugin_permission_denied',
          message: expect.stringContaining('the process sandbox refused access'),
        });
      }
      expect(accesses).toContainEqual(expect.objectContaining({ plugin: 'probe', op: 'fs.read', allowed: false, run: 'run_1' }));
    } finally {
      await host.stop();
    }
  });
});

describe('a process plugin’s own network', () => {
  it('goes through the egress proxy: the declared host answers, an undeclared one is refused and recorded, raw sockets and lookups are refused', async () => {
    const accesses: PluginAccess[] = [];
    const guard = new PluginGuard('probe', { network: { hosts: [`127.0.0.1:${apiPort}`] } }, project, {}, (a) => accesses.push(a));
    const host = probeHost('probe', 'process', guard);
    try {
      const ok = await host.call('tool', 'rawFetch', { url: `http://127.0.0.1:${apiPort}/forecast` }, scope);
      expect(ok).toEqual({ status: 200, body: JSON.stringify({ summary: 'sunny', temperature_c: 21 }) });
      expect(accesses).toContainEqual({
        plugin: 'probe',
        op: 'fetch',
        target: `127.0.0.1:${apiPort}`,
        allowed: true,
        tenant: 'acme',
        run: 'run_1',
        via: 'proxy',
      });

      // The proxy answers the CONNECT 403: the plugin's fetch fails (undici: 'Request was cancelled.').
      const refused = await host.call('tool', 'rawFetch', { url: `http://127.0.0.1:${otherPort}/` }, { tenantId: 'beta', runId: 'run_2' });
      expect(refused).toEqual({ error: expect.any(String) });
      expect(otherHits).toBe(0);
      expect(accesses).toContainEqual({
        plugin: 'probe',
        op: 'fetch',
        target: `127.0.0.1:${otherPort}`,
        allowed: false,
        tenant: 'beta',
        run: 'run_2',
        via: 'proxy',
      });

      // A client of its own given HTTP_PROXY (a plain-HTTP request in absolute form): the same hosts.
      expect(await host.call('tool', 'viaEnvProxy', { url: `http://127.0.0.1:${apiPort}/x` }, scope)).toMatchObject({ status: 200 });
      expect(await host.call('tool', 'viaEnvProxy', { url: `http://127.0.0.1:${otherPort}/x` }, scope)).toMatchObject({ status: 403 });
      expect(otherHits).toBe(0);

      // Around the proxy: a socket of its own, even to the declared host, and a name lookup.
      expect(await host.call('tool', 'rawSocket', { port: apiPort }, scope)).toBe('plugin_permission_denied');
      expect(await host.call('tool', 'rawSocket', { port: otherPort }, scope)).toBe('plugin_permission_denied');
      await expect(host.call('tool', 'lookup', {}, scope)).rejects.toMatchObject({
        code: 'plugin_permission_denied',
        message: expect.stringContaining('a name lookup (lookup) refused'),
      });
      expect(otherHits).toBe(0);
      expect(accesses).toContainEqual({
        plugin: 'probe',
        op: 'fetch',
        target: `127.0.0.1:${apiPort}`,
        allowed: false,
        tenant: 'acme',
        run: 'run_1',
        via: 'sandbox',
      });
      expect(accesses).toContainEqual({ plugin: 'probe', op: 'fetch', target: 'dns:localhost', allowed: false, tenant: 'acme', run: 'run_1', via: 'sandbox' });
    } finally {
      await host.stop();
    }
  });
});
