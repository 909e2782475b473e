/**
 * Plugins over HTTP on both stores, with a live server on loopback: the example plugin and a
 * plugin of every method answer their routes; a plugin that throws on every call answers 500
 * `plugin_failed` naming it while `/readyz` and the other routes answer 200; disabling through
 * the API makes its routes 404 (and enabling brings them back); the switch is audited and
 * refused to keys without `workers:write`. `GET /v1/routes` (admin) lists the core routes and each
 * plugin's own, with their owner; a disabled plugin's are marked, and a server without the
 * plugins lists none of theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginProject } from '../helpers/plugins.js';
import { removeDir } from '../helpers/cli.js';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

let project: string;
beforeAll(async () => {
  project = await pluginProject({ weather: true });
});
afterAll(() => removeDir(project));

describe.each(storeFactories)('plugins over HTTP on $name', (factory) => {
  let api: TestApi;
  let url: string;
  // Connection: close, so no keep-alive socket outlives a test.
  const get = (path: string, role: 'admin' | 'viewer' | 'service' = 'admin'): Promise<Response> =>
    fetch(`${url}${path}`, { headers: { ...api.auth(role), connection: 'close' } });
  const post = (path: string, body: unknown, role: 'admin' | 'operator' | 'viewer' = 'admin'): Promise<Response> =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { ...api.auth(role), 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    api = await startTestApi({ factory, pluginProject: project, app: { workerTtlMs: 10 * 60_000 } });
    url = await listen(api.app);
    // Start each plugin's runtime (a worker thread, the weather plugin's child process) now: they run until the server closes.
    for (const path of ['/v1/plugins/weather/forecast', '/v1/plugins/echo/echo', '/v1/plugins/boom/boom']) await get(path);
  });
  afterAll(async () => {
    await api.close();
  });

  it('lists the lock’s plugins with version, mode, state and permissions', async () => {
    const res = await get('/v1/plugins');
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Array<Record<string, unknown>> };
    expect(items.map((p) => p.name)).toEqual(['boom', 'echo', 'weather']);
    expect(items.find((p) => p.name === 'weather')).toMatchObject({
      version: '1.0.0',
      source: 'link',
      mode: 'process',
      state: 'enabled',
      routes: ['GET /v1/plugins/weather/forecast'],
      permissions: { network: { hosts: ['api.weather.example'] }, env: ['WEATHER_API_KEY'] },
    });
    expect((await get('/v1/plugins', 'viewer')).status).toBe(403);
  });

  it('serves the example plugin’s route and a plugin’s route of every method, without the caller’s credentials', async () => {
    const weather = await get('/v1/plugins/weather/forecast');
    expect(weather.status).toBe(400);
    expect(await weather.json()).toEqual({ error: 'city is required' });
    const echoed = await post('/v1/plugins/echo/echo?x=1', { a: 1 });
    expect(echoed.status).toBe(201);
    expect(echoed.headers.get('x-plugin')).toBe('echo');
    expect(await echoed.json()).toMatchObject({
      method: 'POST',
      path: '/echo',
      query: { x: '1' },
      body: { a: 1 },
      tenant: 'default',
      saw_authorization: false,
    });
    const deleted = await fetch(`${url}/v1/plugins/echo/echo`, { method: 'DELETE', headers: { ...api.auth('service'), connection: 'close' } });
    expect(deleted.status).toBe(200);
    expect((await get('/v1/plugins/echo/nowhere')).status).toBe(404);
    expect((await get('/v1/plugins/nobody/echo')).status).toBe(404);
    expect((await fetch(`${url}/v1/plugins/echo/echo`, { headers: { connection: 'close' } })).status).toBe(401);
  });

  it('answers 500 plugin_failed naming a plugin that throws, while /readyz and the other routes answer 200', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get('/v1/plugins/boom/boom');
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ code: 'plugin_failed', details: { plugin: 'boom' } });
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await get('/v1/plugins/echo/echo')).status).toBe(200);
    expect((await get('/v1/workflows')).status).toBe(200);
  });

  it('disables a plugin through the API (its routes 404, audited) and enables it again', async () => {
    expect((await post('/v1/plugins/echo/disable', { reason: 'incident' }, 'viewer')).status).toBe(403);
    expect((await get('/v1/plugins/echo/echo')).status).toBe(200);
    const off = await post('/v1/plugins/echo/disable', { reason: 'incident' }, 'operator');
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({ name: 'echo', state: 'disabled', disabled_reason: 'incident' });
    expect((await get('/v1/plugins/echo/echo')).status).toBe(404);
    expect((await get('/v1/plugins/weather/forecast')).status).toBe(400);
    expect((await post('/v1/plugins/nobody/disable', {})).status).toBe(404);
    const on = await post('/v1/plugins/echo/enable', {});
    expect(await on.json()).toMatchObject({ name: 'echo', state: 'enabled' });
    expect((await get('/v1/plugins/echo/echo')).status).toBe(200);
    const audit = await api.store.listAudit({ limit: 50 });
    expect(audit.items.map((e) => e.action)).toEqual(expect.arrayContaining(['plugin.disable', 'plugin.enable']));
  });

  it('lists the routes with their owners: core, and each plugin’s from its manifest; a disabled plugin’s marked', async () => {
    type Route = { method: string; path: string; operationId: string; owner: string; enabled: boolean };
    const routes = async (): Promise<Route[]> => {
      const res = await get('/v1/routes');
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Route[] }).items;
    };
    const items = await routes();
    expect(items).toContainEqual({ method: 'GET', path: '/v1/runs/{id}', operationId: 'getRun', owner: 'core', enabled: true });
    expect(items).toContainEqual({ method: 'GET', path: '/v1/routes', operationId: 'listRoutes', owner: 'core', enabled: true });
    expect(items.filter((r) => r.owner !== 'core')).toEqual([
      { method: 'GET', path: '/v1/plugins/boom/boom', operationId: 'getPluginRoute', owner: 'boom', enabled: true },
      { method: 'DELETE', path: '/v1/plugins/echo/echo', operationId: 'deletePluginRoute', owner: 'echo', enabled: true },
      { method: 'GET', path: '/v1/plugins/echo/echo', operationId: 'getPluginRoute', owner: 'echo', enabled: true },
      { method: 'POST', path: '/v1/plugins/echo/echo', operationId: 'postPluginRoute', owner: 'echo', enabled: true },
      { method: 'PUT', path: '/v1/plugins/echo/echo', operationId: 'putPluginRoute', owner: 'echo', enabled: true },
      { method: 'GET', path: '/v1/plugins/weather/forecast', operationId: 'getPluginRoute', owner: 'weather', enabled: true },
    ]);
    // The dispatch route is not listed: the plugins' own routes are.
    expect(items.some((r) => r.path === '/v1/plugins/{name}/*')).toBe(false);
    expect((await get('/v1/routes', 'viewer')).status).toBe(403);
    expect((await fetch(`${url}/v1/routes`, { headers: { ...api.auth('operator'), connection: 'close' } })).status).toBe(403);

    expect((await post('/v1/plugins/echo/disable', { reason: 'triage' })).status).toBe(200);
    try {
      const echo = (await routes()).filter((r) => r.owner === 'echo');
      expect(echo).toHaveLength(4);
      expect(echo.every((r) => !r.enabled)).toBe(true);
      expect((await routes()).find((r) => r.owner === 'weather')?.enabled).toBe(true);
    } finally {
      expect((await post('/v1/plugins/echo/enable', {})).status).toBe(200);
    }

    const bare = await startTestApi({ factory, app: { workerTtlMs: 10 * 60_000 } });
    try {
      const res = await bare.app.inject({ url: '/v1/routes', headers: bare.auth('admin') });
      const owners = new Set(res.json<{ items: Route[] }>().items.map((r) => r.owner));
      expect([...owners]).toEqual(['core']);
    } finally {
      await bare.close();
    }
  });
});
