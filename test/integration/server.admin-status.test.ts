/**
 * `GET /v1/admin/status` on both stores: the answering process, its readiness checks, the
 * workers and the queue in one answer — a queued run shows in the queue's counts, a deployment
 * without a live worker is not ready (`workers` fails) — for admins and operators only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDto } from '../../src/app/dto/status.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

describe.each(storeFactories)('GET /v1/admin/status ($name)', (factory) => {
  let api: TestApi;
  beforeAll(async () => {
    // No worker pool: the runs started here stay queued.
    api = await startTestApi({ factory, start: false, app: { roles: [] } });
  });
  afterAll(() => api.close());

  it('counts the queued run and its due step, and says which check fails without a live worker', async () => {
    const run = await api.engine.startRun('hello', { name: 'Ada' });
    const res = await api.app.inject({ url: '/v1/admin/status', headers: api.auth('operator') });
    expect(res.statusCode).toBe(200);
    const status = res.json<StatusDto>();
    expect(status.process.store.kind).toBe(factory.name);
    expect(status.queue.runs).toMatchObject({ queued: 1 });
    expect(status.queue.steps.queued).toBeGreaterThanOrEqual(1);
    expect(status.queue.due_steps).toBeGreaterThanOrEqual(1);
    expect(status.queue.oldest_due_at).not.toBeNull();
    expect(status.ready).toBe(false);
    expect(status.checks.find((c) => c.name === 'workers')).toMatchObject({ status: 'fail' });
    expect(status.checks.find((c) => c.name === 'database')).toMatchObject({ status: 'ok' });
    expect(status.workers).toEqual([]);

    await api.engine.cancelRun(run.id, 'done');
    const after = (await api.app.inject({ url: '/v1/admin/status', headers: api.auth('admin') })).json<StatusDto>();
    expect(after.queue.runs).toMatchObject({ cancelled: 1 });
    expect(after.queue.runs.queued).toBeUndefined();
  });

  it('refuses a viewer and a service key (403), and answers 401 without a key', async () => {
    for (const role of ['viewer', 'service', 'reviewer'] as const) {
      const res = await api.app.inject({ url: '/v1/admin/status', headers: api.auth(role) });
      expect(res.statusCode, role).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden', detail: 'missing required scope: workers:read' });
    }
    expect((await api.app.inject({ url: '/v1/admin/status' })).statusCode).toBe(401);
  });
});
