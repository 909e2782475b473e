/** Schedules over HTTP (app.inject): list, pause, resume, 404, bad input, scopes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;

beforeAll(async () => {
  // The engine is not started: no scheduler has stored the schedules yet, the routes add them.
  api = await startTestApi({
    start: false,
    workflows: [
      { name: 'nightly', schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin', catch_up: 'one' }, steps: { a: { transform: 1 } } },
      { name: 'ticker', schedule: { cron: '*/10 * * * * *', overlap: 'allow' }, steps: { a: { transform: 1 } } },
      { name: 'manual', steps: { a: { transform: 1 } } },
    ],
  });
});
afterAll(async () => {
  await api.close();
});

const post = (url: string, role: 'admin' | 'operator' | 'reviewer' = 'operator', payload?: object) =>
  api.app.inject({ method: 'POST', url, headers: api.auth(role), ...(payload === undefined ? {} : { payload }) });

describe('GET /v1/schedules', () => {
  it('lists the scheduled workflows with their next tick, before any scheduler ran', async () => {
    const before = Date.now();
    const res = await api.app.inject({ method: 'GET', url: '/v1/schedules', headers: api.auth('reviewer') });
    expect(res.statusCode).toBe(200);
    const { items } = res.json<{ items: Record<string, unknown>[] }>();
    expect(items.map((i) => i.workflow)).toEqual(['nightly', 'ticker']);
    expect(items[0]).toEqual({
      workflow: 'nightly',
      tenant_id: 'default',
      cron: '0 2 * * *',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      catch_up: 'one',
      paused: false,
      next_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT(00|01):00:00\.000Z$/),
      last_tick_at: null,
      last_run_id: null,
    });
    expect(Date.parse(items[1]!.next_at as string)).toBeGreaterThan(before);
    expect(items[1]).toMatchObject({ overlap: 'allow', catch_up: 'none', timezone: 'UTC' });
  });

  it('needs runs:read', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/schedules' });
    expect(res.statusCode).toBe(401);
  });
});

describe('POST /v1/schedules/{workflow}/pause and /resume', () => {
  it('pauses a schedule (stored, shown in the list) and resumes it with a new next tick', async () => {
    const paused = await post('/v1/schedules/ticker/pause');
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ workflow: 'ticker', paused: true, next_at: null });
    expect((await api.store.getSchedule('ticker'))?.paused).toBe(true);
    // Pausing again changes nothing.
    expect((await post('/v1/schedules/ticker/pause')).json()).toMatchObject({ paused: true });
    const list = (await api.app.inject({ method: 'GET', url: '/v1/schedules', headers: api.auth('admin') })).json<{
      items: { workflow: string; paused: boolean }[];
    }>();
    expect(list.items.find((i) => i.workflow === 'ticker')?.paused).toBe(true);

    const before = Date.now();
    const resumed = await post('/v1/schedules/ticker/resume');
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ workflow: 'ticker', paused: false });
    const next = Date.parse(resumed.json<{ next_at: string }>().next_at);
    expect(next).toBeGreaterThan(before);
    expect(new Date(next).getUTCSeconds() % 10).toBe(0);
    expect((await api.store.getSchedule('ticker'))?.paused).toBe(false);
  });

  it('answers 404 not_found for a workflow without a schedule, changing nothing', async () => {
    for (const url of ['/v1/schedules/manual/pause', '/v1/schedules/nope/resume']) {
      const res = await post(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await api.store.listSchedules()).map((s) => s.workflow)).toEqual(['nightly', 'ticker']);
  });

  it('answers 400 for a body with fields, changing nothing', async () => {
    const res = await post('/v1/schedules/nightly/pause', 'operator', { paused: true });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_request' });
    expect((await api.store.getSchedule('nightly'))?.paused).toBe(false);
  });

  it('needs runs:write (a reviewer may list but not pause)', async () => {
    const res = await post('/v1/schedules/nightly/pause', 'reviewer');
    expect(res.statusCode).toBe(403);
    expect((await api.store.getSchedule('nightly'))?.paused).toBe(false);
  });
});
