/**
 * Environment policies over the API, on SQLite and PostgreSQL: a run breaking the active
 * environment's policy is refused with `policy_violation` naming the rule (and nothing is
 * stored), the same spec starts where the policy allows it, `GET /v1/policies` shows what is in
 * force, `PUT /v1/policies/{env}` (operator and admin only) replaces a policy for every later
 * start and survives a new process, and the policy reports judge a spec and a stored run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicySources } from '../../src/app/policy-service.js';
import type { PolicySpec, ToolSpec } from '../../src/spec/schemas.js';
import { fixtureToolSpec, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const WORKFLOWS = [
  { name: 'echo', budget: { max_cost_usd: 1 }, steps: { call: { tool: { server: 'fx', name: 'echo', args: { text: 'hi' } } } } },
  { name: 'plain', budget: { max_cost_usd: 1 }, steps: { a: { transform: { n: 1 } } } },
  { name: 'pricey', budget: { max_cost_usd: 50 }, steps: { a: { transform: { n: 1 } } } },
];

const FX: ToolSpec = fixtureToolSpec('fx');

function sources(active: string | undefined, declared: Record<string, PolicySpec>): PolicySources {
  return { active, declared, project: { agents: new Map(), tools: new Map([['fx', FX]]) } };
}

const DECLARED: Record<string, PolicySpec> = {
  dev: {},
  prod: { allowed_tools: ['other.*'], max_run_cost_usd: 10 },
};

describe.each(storeFactories)('environment policies on $name', { timeout: 60_000 }, (factory) => {
  let prod: TestApi;
  let dev: TestApi;

  beforeAll(async () => {
    prod = await startTestApi({ factory, workflows: WORKFLOWS, tools: [FX], start: false, app: { policies: sources('prod', DECLARED) } });
    dev = await startTestApi({ factory, workflows: WORKFLOWS, tools: [FX], start: false, app: { policies: sources('dev', DECLARED) } });
  });
  afterAll(async () => {
    await prod?.close();
    await dev?.close();
  });

  const start = (api: TestApi, workflow: string) =>
    api.app.inject({ method: 'POST', url: `/v1/workflows/${workflow}/runs`, headers: api.auth('service'), payload: { input: {} } });

  it('refuses a run using a tool prod forbids with policy_violation naming the rule and the tool, and stores no run; dev starts it', async () => {
    const refused = await start(prod, 'echo');
    expect(refused.statusCode).toBe(422);
    const problem = refused.json<{ code: string; detail: string; details: { rule: string; violations: Array<{ rule: string; path: string }> } }>();
    expect(problem.code).toBe('policy_violation');
    expect(problem.detail).toContain('allowed_tools');
    expect(problem.detail).toContain('fx.echo');
    expect(problem.details.violations).toEqual([expect.objectContaining({ rule: 'allowed_tools', path: 'steps.call.tool' })]);
    const runs = await prod.app.inject({ method: 'GET', url: '/v1/runs?workflow=echo', headers: prod.auth('admin') });
    expect(runs.json<{ items: unknown[] }>().items).toHaveLength(0);

    expect((await start(dev, 'echo')).statusCode).toBe(201);
  });

  it('refuses a budget above the cap and starts one within it', async () => {
    const refused = await start(prod, 'pricey');
    expect(refused.statusCode).toBe(422);
    expect(refused.json<{ detail: string }>().detail).toContain('max_run_cost_usd');
    expect((await start(prod, 'plain')).statusCode).toBe(201);
  });

  it('GET /v1/policies shows the declared policies and the active one', async () => {
    const res = await prod.app.inject({ method: 'GET', url: '/v1/policies', headers: prod.auth('viewer') });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ active: string; items: Array<{ environment: string; active: boolean; source: string; policy: PolicySpec }> }>();
    expect(body.active).toBe('prod');
    expect(body.items.find((i) => i.environment === 'prod')).toMatchObject({ active: true, source: 'project', policy: { max_run_cost_usd: 10 } });
  });

  it('PUT /v1/policies/{env}: service, reviewer and viewer get 403; an operator replaces the policy, starts follow it, and DELETE restores the file', async () => {
    for (const role of ['service', 'reviewer', 'viewer'] as const) {
      const denied = await prod.app.inject({ method: 'PUT', url: '/v1/policies/prod', headers: prod.auth(role), payload: {} });
      expect(denied.statusCode, role).toBe(403);
    }
    const put = await prod.app.inject({ method: 'PUT', url: '/v1/policies/prod', headers: prod.auth('operator'), payload: { allowed_tools: ['fx.echo'] } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ environment: 'prod', source: 'stored', policy: { allowed_tools: ['fx.echo'] }, updated_by: 'operator' });
    const listed = await prod.app.inject({ method: 'GET', url: '/v1/policies', headers: prod.auth('viewer') });
    expect(listed.json<{ items: Array<{ environment: string; source: string }> }>().items.find((i) => i.environment === 'prod')?.source).toBe('stored');
    expect((await start(prod, 'echo')).statusCode).toBe(201);

    const reset = await prod.app.inject({ method: 'DELETE', url: '/v1/policies/prod', headers: prod.auth('admin') });
    expect(reset.statusCode).toBe(200);
    expect(reset.json()).toMatchObject({ source: 'project' });
    expect((await start(prod, 'echo')).statusCode).toBe(422);
  });

  it('POST /v1/runs/{id}/retry is judged by the policy in force now: a run started under a looser policy is not re-run around the stricter one', async () => {
    const echoRuns = async () =>
      (await prod.app.inject({ method: 'GET', url: '/v1/runs?workflow=echo', headers: prod.auth('admin') })).json<{ items: Array<{ id: string }> }>().items
        .length;
    const put = await prod.app.inject({ method: 'PUT', url: '/v1/policies/prod', headers: prod.auth('operator'), payload: { allowed_tools: ['fx.echo'] } });
    expect(put.statusCode).toBe(200);
    const started = await start(prod, 'echo');
    expect(started.statusCode).toBe(201);
    const runId = started.json<{ id: string }>().id;
    const before = await echoRuns();
    expect((await prod.app.inject({ method: 'POST', url: `/v1/runs/${runId}/cancel`, headers: prod.auth('operator') })).statusCode).toBe(200);
    expect((await prod.app.inject({ method: 'DELETE', url: '/v1/policies/prod', headers: prod.auth('admin') })).statusCode).toBe(200);

    const retry = await prod.app.inject({ method: 'POST', url: `/v1/runs/${runId}/retry`, headers: prod.auth('operator'), payload: {} });
    expect(retry.statusCode).toBe(422);
    expect(retry.json()).toMatchObject({ code: 'policy_violation', details: { rule: 'allowed_tools' } });
    expect(await echoRuns()).toBe(before);
  });

  it('a stored policy is read from the store by another process', async () => {
    const put = await prod.app.inject({ method: 'PUT', url: '/v1/policies/dev', headers: prod.auth('operator'), payload: { max_run_cost_usd: 0.5 } });
    expect(put.statusCode).toBe(200);
    // `dev` has its own store in this suite: the other process is one on the same store.
    const other = await startTestApi({
      factory: { name: 'shared', open: () => Promise.resolve({ store: prod.store, cleanup: () => Promise.resolve() }) },
      workflows: WORKFLOWS,
      tools: [FX],
      start: false,
      app: { policies: sources('dev', DECLARED) },
    });
    try {
      const refused = await start(other, 'plain');
      expect(refused.statusCode).toBe(422);
      expect(refused.json<{ details: { rule: string } }>().details.rule).toBe('max_run_cost_usd');
    } finally {
      await other.app.close();
    }
    await prod.app.inject({ method: 'DELETE', url: '/v1/policies/dev', headers: prod.auth('operator') });
  });

  it('PUT answers 404 for an undeclared environment and 400 for an unknown rule, changing nothing', async () => {
    const unknown = await prod.app.inject({ method: 'PUT', url: '/v1/policies/staging', headers: prod.auth('admin'), payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ detail: string }>().detail).toContain('declared: dev, prod');
    const bad = await prod.app.inject({ method: 'PUT', url: '/v1/policies/prod', headers: prod.auth('admin'), payload: { allowed_toolz: [] } });
    expect(bad.statusCode).toBe(400);
    const listed = await prod.app.inject({ method: 'GET', url: '/v1/policies', headers: prod.auth('viewer') });
    expect(listed.json<{ items: Array<{ source: string }> }>().items.every((i) => i.source === 'project')).toBe(true);
  });

  it('POST /v1/specs/policy-report judges a project workflow and an inline spec; a key without specs:read gets 403', async () => {
    const report = await prod.app.inject({ method: 'POST', url: '/v1/specs/policy-report', headers: prod.auth('service'), payload: { workflow: 'echo' } });
    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({ environment: 'prod', workflow: 'echo', allowed: false, violations: [{ rule: 'allowed_tools', severity: 'error' }] });
    const inDev = await prod.app.inject({
      method: 'POST',
      url: '/v1/specs/policy-report',
      headers: prod.auth('service'),
      payload: { workflow: 'echo', environment: 'dev' },
    });
    expect(inDev.json()).toMatchObject({ environment: 'dev', allowed: true, violations: [] });
    const inline = await prod.app.inject({
      method: 'POST',
      url: '/v1/specs/policy-report',
      headers: prod.auth('service'),
      payload: { spec: { version: 'v1', name: 'adhoc', steps: { a: { transform: { n: 1 } } } } },
    });
    expect(inline.json()).toMatchObject({ workflow: 'adhoc', allowed: false, violations: [{ rule: 'max_run_cost_usd' }] });
    const denied = await prod.app.inject({ method: 'POST', url: '/v1/specs/policy-report', headers: prod.auth('reviewer'), payload: { workflow: 'echo' } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json<{ detail: string }>().detail).toContain('specs:read');
  });

  it('GET /v1/runs/{id}/policy-report judges a stored run against the policy in force', async () => {
    const started = await start(dev, 'echo');
    const runId = started.json<{ id: string }>().id;
    const inDev = await dev.app.inject({ method: 'GET', url: `/v1/runs/${runId}/policy-report`, headers: dev.auth('viewer') });
    expect(inDev.statusCode).toBe(200);
    expect(inDev.json()).toMatchObject({ run_id: runId, environment: 'dev', allowed: true });
    const inProd = await dev.app.inject({ method: 'GET', url: `/v1/runs/${runId}/policy-report?environment=prod`, headers: dev.auth('viewer') });
    expect(inProd.json()).toMatchObject({ environment: 'prod', allowed: false, violations: [{ rule: 'allowed_tools' }] });
    const missing = await dev.app.inject({ method: 'GET', url: '/v1/runs/run_missing/policy-report', headers: dev.auth('viewer') });
    expect(missing.statusCode).toBe(404);
  });
});
