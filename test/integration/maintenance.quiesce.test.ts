/**
 * Quiesce (`PUT /v1/admin/maintenance` with `quiesce: true`, `agentry maintenance on --quiesce`)
 * on every store, over real HTTP: an API process's `/readyz` answers 503 with the `maintenance`
 * check failing and saying quiesced, while a worker process's probe stays 200 (it keeps
 * working); starting a run and retrying one are refused with 503 `maintenance_quiesced` and a
 * `Retry-After`; a run accepted before keeps going — its running step finishes and its next step
 * is claimed — to `succeeded`; a schedule starts no run until it ends. Off: `/readyz` 200, runs accepted again
 * and run. Plain maintenance mode (no quiesce) still keeps `/readyz` at 200 and accepts runs.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { eventually, silentLogger } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { API_KEYS, KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const admin = { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' };

let cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

/** `/hold` answers once `open()` is called, anything else at once. */
async function gate(): Promise<{ server: TestServer; open: () => void }> {
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const server = await startServer(async (req, res) => {
    if (req.url === '/hold') await opened;
    json(res, 200, { ok: true });
  });
  cleanups.push(() => server.close());
  return { server, open: release };
}

interface Deployment {
  api: TestApi;
  /** The API process (roles: api and a worker pool, like `agentry serve`). */
  apiUrl: string;
  /** A worker process's probe port on the same store (roles: worker). */
  workerUrl: string;
  open: () => void;
}

async function deploy(factory: (typeof storeFactories)[number]): Promise<Deployment> {
  const g = await gate();
  const api = await startTestApi({
    factory,
    workflows: [
      {
        name: 'held',
        steps: {
          hold: { http: { url: `${g.server.url}/hold`, method: 'POST', timeout: '1m' } },
          after: { needs: ['hold'], http: { url: `${g.server.url}/quick`, method: 'POST' } },
        },
      },
      { name: 'quick', steps: { one: { transform: { ok: true } } } },
    ],
    app: { roles: ['worker'], workerTtlMs: 10 * 60_000 },
  });
  cleanups.push(() => api.close());
  const probe: FastifyInstance = await buildApp({
    engine: api.engine,
    store: api.store,
    logger: silentLogger,
    version: '0.0.0-test',
    auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
    groups: ['probes'],
    roles: ['worker'],
    workerTtlMs: 10 * 60_000,
  });
  cleanups.push(() => probe.close());
  return { api, apiUrl: await listen(api.app), workerUrl: await listen(probe), open: g.open };
}

async function readyz(url: string): Promise<{ status: number; body: { checks?: Record<string, { status: string; detail: string }> } }> {
  const res = await fetch(`${url}/readyz`, { headers: admin });
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, { status: string; detail: string }> } };
}

function startRun(url: string, workflow: string): Promise<Response> {
  return fetch(`${url}/v1/workflows/${workflow}/runs`, { method: 'POST', headers: admin, body: '{}' });
}

function maintenance(url: string, method: 'PUT' | 'DELETE', body?: unknown): Promise<Response> {
  return fetch(`${url}/v1/admin/maintenance`, { method, headers: admin, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

describe.each(storeFactories)('quiesce on $name', (factory) => {
  it('refuses new runs and fails the API readiness while the accepted run finishes; off, all is back', async () => {
    const d = await deploy(factory);
    const done = (await (await startRun(d.apiUrl, 'quick')).json()) as { id: string };
    expect((await d.api.engine.waitForRun(done.id, { timeoutMs: 20_000 })).status).toBe('succeeded');
    const held = (await (await startRun(d.apiUrl, 'held')).json()) as { id: string };
    await eventually(
      async () => ((await d.api.store.getSteps(held.id)).find((s) => s.stepId === 'hold')?.status === 'running' ? true : undefined),
      20_000,
      'the held step to run',
    );

    const on = await maintenance(d.apiUrl, 'PUT', { reason: 'restore drill', quiesce: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ on: true, quiesce: true, reason: 'restore drill', by: 'admin' });

    const apiReady = await readyz(d.apiUrl);
    expect(apiReady.status).toBe(503);
    expect(apiReady.body.checks?.maintenance).toMatchObject({ status: 'fail', detail: expect.stringContaining('quiesced since') as unknown });
    const workerReady = await readyz(d.workerUrl);
    expect(workerReady.status, JSON.stringify(workerReady.body)).toBe(200);
    expect(workerReady.body.checks?.maintenance).toMatchObject({ status: 'ok', detail: expect.stringContaining('quiesced since') as unknown });
    const health = await fetch(`${d.apiUrl}/health`);
    expect([health.status, await health.json()]).toEqual([503, { status: 'not_ready', maintenance: true }]);

    const refused = await startRun(d.apiUrl, 'quick');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toMatchObject({ code: 'maintenance_quiesced', detail: expect.stringContaining('(restore drill)') as unknown });
    const retried = await fetch(`${d.apiUrl}/v1/runs/${done.id}/retry`, { method: 'POST', headers: admin, body: JSON.stringify({ from_step: 'one' }) });
    expect([retried.status, ((await retried.json()) as { code: string }).code]).toEqual([503, 'maintenance_quiesced']);
    await expect(d.api.store.listRuns({ limit: 10 })).resolves.toMatchObject({ items: [{ id: held.id }, { id: done.id }] });

    // The accepted run goes on: its running step finishes and a worker claims the next one.
    d.open();
    expect((await d.api.engine.waitForRun(held.id, { timeoutMs: 20_000 })).status).toBe('succeeded');
    expect((await d.api.store.getSteps(held.id)).map((s) => s.status)).toEqual(['succeeded', 'succeeded']);

    expect((await maintenance(d.apiUrl, 'DELETE')).status).toBe(200);
    expect((await readyz(d.apiUrl)).status).toBe(200);
    const accepted = await startRun(d.apiUrl, 'quick');
    expect(accepted.status).toBe(201);
    const run = (await accepted.json()) as { id: string };
    expect((await d.api.engine.waitForRun(run.id, { timeoutMs: 20_000 })).status).toBe('succeeded');

    const audit = await d.api.store.listAudit({ limit: 50 });
    const switches = audit.items.filter((e) => e.action.startsWith('maintenance.')).map((e) => [e.action, e.details]);
    expect(switches).toEqual([
      ['maintenance.off', expect.objectContaining({ was_on: true, quiesce: true })],
      ['maintenance.on', { reason: 'restore drill', quiesce: true }],
    ]);
  });

  it('holds schedules: a per-second schedule starts no run while quiesced, and does again once it is off', async () => {
    const api = await startTestApi({
      factory,
      workflows: [{ name: 'ticking', schedule: { cron: '* * * * * *' }, steps: { one: { transform: { ok: true } } } }],
      start: false,
    });
    cleanups.push(() => api.close());
    const url = await listen(api.app);
    expect((await maintenance(url, 'PUT', { quiesce: true })).status).toBe(200);
    const heldFrom = Date.now();
    await api.engine.start();
    // Sweeps that began more than a second after the switch: a per-second tick has come meanwhile.
    await eventually(
      () => Promise.resolve((api.engine.loops().scheduler?.lastRoundAt ?? 0) > heldFrom + 1_500 ? true : undefined),
      20_000,
      'scheduler sweeps past the next tick',
    );
    expect((await api.store.listRuns({ limit: 10 })).items).toEqual([]);
    expect((await maintenance(url, 'DELETE')).status).toBe(200);
    const started = await eventually(async () => (await api.store.listRuns({ limit: 10 })).items[0], 20_000, 'a scheduled run');
    expect(started.workflow).toBe('ticking');
  });

  it('keeps readiness and run starts as they were in plain maintenance mode (claiming paused)', async () => {
    const d = await deploy(factory);
    expect((await maintenance(d.apiUrl, 'PUT', { reason: 'upgrade' })).status).toBe(200);
    const ready = await readyz(d.apiUrl);
    expect(ready.status).toBe(200);
    expect(ready.body.checks?.maintenance).toMatchObject({ status: 'ok', detail: expect.stringContaining('no worker claims a step') as unknown });
    const queued = await startRun(d.apiUrl, 'quick');
    expect(queued.status).toBe(201);
    const run = (await queued.json()) as { id: string };
    expect((await d.api.store.getRun(run.id))?.status).toBe('queued');
    // Quiesce over plain maintenance: workers claim again, so the queued run (already accepted) runs.
    const fleet = d.api.engine;
    expect((await maintenance(d.apiUrl, 'PUT', { reason: 'upgrade', quiesce: true })).status).toBe(200);
    expect((await fleet.waitForRun(run.id, { timeoutMs: 20_000 })).status).toBe('succeeded');
  });
});
