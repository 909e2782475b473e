/**
 * The application services scope every read and change to the caller's tenant, once, for the
 * API and the CLI alike: another tenant's run or task is `not_found`, exactly like a missing
 * one, and listings show the caller's tenant only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERY_RUN, type Caller } from '../../src/app/caller.js';
import { createServices, type Services } from '../../src/app/services.js';
import { startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let services: Services;
let runId: string;

const deployment: Caller = { name: 'ops', roles: ['admin'], runAccess: EVERY_RUN };
const ownTenant: Caller = { name: 'acme-key', roles: ['admin'], tenantId: 'default', runAccess: EVERY_RUN };
const otherTenant: Caller = { name: 'globex-key', roles: ['admin'], tenantId: 'globex', runAccess: EVERY_RUN };

beforeAll(async () => {
  api = await startTestApi();
  services = createServices({ engine: api.engine, store: api.store });
  const { run, ended } = await services.runs.start(deployment, 'hello', { name: 'Ada' }, { waitMs: 20_000 });
  expect(ended).toBe(true);
  runId = run.id;
});
afterAll(async () => {
  await api.close();
});

describe('tenant scoping in the services', () => {
  it('answers a run of another tenant like a missing one, for every run use case', async () => {
    const notFound = { code: 'not_found', message: `run ${runId} not found` };
    await expect(services.runs.get(otherTenant, runId)).rejects.toMatchObject(notFound);
    await expect(services.runs.forGatewayCall(otherTenant, runId)).rejects.toMatchObject(notFound);
    await expect(services.runs.cancel(otherTenant, runId)).rejects.toMatchObject(notFound);
    await expect(services.runs.retry(otherTenant, runId, { fromStep: 'greet' })).rejects.toMatchObject(notFound);
    await expect(services.runs.attempts(otherTenant, runId, 'greet')).rejects.toMatchObject(notFound);
    await expect(services.runs.events(otherTenant, runId, 0, 10)).rejects.toMatchObject(notFound);
    await expect(services.runs.follow(otherTenant, runId, { pollMs: 10 })).rejects.toMatchObject(notFound);
    await expect(services.tasks.signal(otherTenant, runId, 'go', null)).rejects.toMatchObject(notFound);
  });

  it("lists only the caller's tenant; a caller without one sees every tenant", async () => {
    expect((await services.runs.list(otherTenant, { limit: 10 })).items).toEqual([]);
    expect((await services.runs.list(ownTenant, { limit: 10 })).items.map((r) => r.id)).toContain(runId);
    expect((await services.runs.list(deployment, { limit: 10 })).items.map((r) => r.id)).toContain(runId);
    expect((await services.usage.report(otherTenant, {})).items).toEqual([]);
  });

  it('gives the run detail with steps, children and usage, as GET /v1/runs/{id} does', async () => {
    const detail = await services.runs.get(ownTenant, runId);
    expect(detail).toMatchObject({ id: runId, status: 'succeeded', children: [], usage: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 } });
    expect(detail.steps.map((s) => s.id)).toEqual(['greet', 'done']);
    const res = await api.app.inject({ method: 'GET', url: `/v1/runs/${runId}`, headers: api.auth('viewer') });
    expect(res.json()).toEqual(detail);
  });

  it('follows a run that has ended to its terminal event, then stops', async () => {
    const types: string[] = [];
    for await (const event of await services.runs.follow(ownTenant, runId, { pollMs: 10 })) types.push(event.type);
    expect(types.at(-1)).toBe('run.succeeded');
    const after = await services.runs.follow(ownTenant, runId, { pollMs: 10, after: 10_000 });
    expect((await after.next()).done).toBe(true);
  });
});
