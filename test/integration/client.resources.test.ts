/**
 * The typed client's resource groups against a live server on loopback: workflows, tasks (list,
 * get, decide), events across runs, schedules (pause, resume), tools (status, disable, enable),
 * usage and budgets, admin keys (create, list, rotate, revoke, then the key itself signing in),
 * the audit log, the admin routes, and the raw typed `api` for any route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentryApiError, createAgentryClient, type AgentryClient } from '../../src/client/index.js';
import { VERSION } from '../../src/lib/version.js';
import { poolFetch, useClientPool } from '../helpers/client.js';
import { fixtureToolSpec, KEYS, listen, MOCK_GATEWAY, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';

let api: TestApi;
let url: string;
const as = (role: keyof typeof KEYS): AgentryClient => createAgentryClient({ url, apiKey: KEYS[role], fetch: poolFetch, retryDelayMs: 20 });
useClientPool();

beforeAll(async () => {
  api = await startTestApi({
    app: { version: VERSION },
    gateway: MOCK_GATEWAY,
    tools: [fixtureToolSpec()],
    workflows: [
      ...WORKFLOWS,
      { name: 'review', steps: { approve: { human: { title: 'Approve the thing' } } }, output: '{{ steps.approve.output }}' },
      { name: 'nightly', schedule: { cron: '0 2 * * *' }, steps: { a: { transform: 1 } } },
    ],
  });
  url = await listen(api.app);
});
afterAll(async () => {
  await api?.close();
});

describe('resource groups', () => {
  it('workflows: lists the loaded workflows', async () => {
    const { items } = await as('viewer').workflows.list();
    expect(items.map((w) => w.name)).toEqual(expect.arrayContaining(['hello', 'review', 'nightly']));
  });

  it('tasks: lists, gets and approves a task; the run ends with the decision', async () => {
    const operator = as('operator');
    const { run } = await operator.runs.start('review');
    let taskId: string | undefined;
    for (let i = 0; i < 200 && taskId === undefined; i++) {
      for await (const task of operator.tasks.list({ run_id: run.id, status: ['open'] })) taskId = task.id;
      if (taskId === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(taskId).toBeDefined();
    const task = await operator.tasks.get(taskId!);
    expect(task).toMatchObject({ run_id: run.id, status: 'open', title: 'Approve the thing' });
    const decided = await operator.tasks.complete(taskId!, { decision: 'approve', comment: 'fine' });
    expect(decided).toMatchObject({ status: 'completed', decision: 'approve', comment: 'fine' });
    const ended = await operator.waitForRun(run.id, { timeoutMs: 30_000 });
    expect(ended.status).toBe('succeeded');
    await expect(operator.tasks.complete(taskId!, { decision: 'reject' })).rejects.toMatchObject({ status: 409, code: 'conflict' });
  });

  it('events: iterates events across runs for one run id, in order', async () => {
    const operator = as('operator');
    const { run } = await operator.runs.start('hello', { input: { name: 'Ev' }, waitMs: 30_000 });
    const types: string[] = [];
    for await (const event of operator.events.list({ run_id: run.id, limit: 2 })) types.push(event.type);
    expect(types[0]).toBe('run.created');
    expect(types.at(-1)).toBe('run.succeeded');
    expect(types.length).toBeGreaterThan(2);
  });

  it('schedules: lists, pauses and resumes a schedule; a missing one is 404', async () => {
    const operator = as('operator');
    const { items } = await operator.schedules.list();
    expect(items.map((s) => s.workflow)).toEqual(['nightly']);
    expect(await operator.schedules.pause('nightly')).toMatchObject({ workflow: 'nightly', paused: true });
    expect(await operator.schedules.resume('nightly')).toMatchObject({ workflow: 'nightly', paused: false });
    await expect(operator.schedules.pause('hello')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('tools: lists, gets, disables and enables a tool server', async () => {
    const operator = as('operator');
    const { items } = await operator.tools.list();
    expect(items.map((t) => t.name)).toEqual(['fx']);
    expect(await operator.tools.get('fx')).toMatchObject({ name: 'fx' });
    expect(await operator.tools.disable('fx', 'maintenance window')).toMatchObject({ name: 'fx', state: 'disabled', disabled_reason: 'maintenance window' });
    expect((await operator.tools.enable('fx')).state).not.toBe('disabled');
    await expect(as('viewer').tools.disable('fx', 'no')).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('usage: reports usage and budgets', async () => {
    const viewer = as('viewer');
    const usage = await viewer.usage.get({ workflow: 'hello' });
    expect(usage).toHaveProperty('totals');
    const budgets = await viewer.usage.budgets();
    expect(budgets).toMatchObject({ tenant_id: 'default', budgets: [] });
  });

  it('admin keys: create, list every page, get, rotate, revoke; the new key signs in until revoked', async () => {
    const admin = as('admin');
    const issued = await admin.keys.create({ name: 'ci-bot', roles: ['viewer'] });
    expect(issued.secret).toMatch(/^agk_/);
    const bot = createAgentryClient({ url, apiKey: issued.secret, fetch: poolFetch });
    expect(await bot.whoami()).toMatchObject({ principal: 'ci-bot' });
    const names: string[] = [];
    for await (const key of admin.keys.list({ limit: 1 })) names.push(key.name);
    expect(names).toContain('ci-bot');
    expect(await admin.keys.get(issued.key.id)).toMatchObject({ id: issued.key.id, name: 'ci-bot' });
    const rotated = await admin.keys.rotate(issued.key.id, { grace: '0s' });
    expect(rotated.previous?.id).toBe(issued.key.id);
    await expect(bot.whoami()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    const fresh = createAgentryClient({ url, apiKey: rotated.secret, fetch: poolFetch });
    expect(await fresh.whoami()).toMatchObject({ principal: 'ci-bot' });
    expect((await admin.keys.revoke('ci-bot')).revoked.map((k) => k.id)).toContain(rotated.key.id);
    await expect(fresh.whoami()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(as('operator').keys.create({ name: 'x', roles: ['viewer'] })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('audit and admin: the audit log, server info, quotas, workers, maintenance', async () => {
    const admin = as('admin');
    const actions: string[] = [];
    for await (const entry of admin.audit.list({ limit: 5 })) actions.push(entry.action);
    expect(actions.length).toBeGreaterThan(0);
    expect(await admin.admin.info()).toHaveProperty('version', VERSION);
    expect(await admin.admin.quotas()).toBeTypeOf('object');
    expect((await admin.admin.workers()).items.length).toBeGreaterThan(0);
    expect(await admin.admin.maintenance()).toMatchObject({ on: false });
    const error = await as('viewer')
      .audit.page()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryApiError);
    expect(error).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('the raw typed api reaches any route and answers without throwing', async () => {
    const viewer = as('viewer');
    const { data, response } = await viewer.api.GET('/v1/runs/{id}', { params: { path: { id: 'run_none' } } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    const ok = await viewer.api.GET('/v1/workflows');
    expect(ok.data?.items.length).toBeGreaterThan(0);
    expect((await viewer.version()).version).toBe(VERSION);
  });
});
