/**
 * Run start options over HTTP on both stores: labels (`metadata`) and `?label=` filters, a
 * per-run `deadline`, `overrides` of what a workflow marks `overridable:`, and ad-hoc runs of an
 * inline spec (`POST /v1/runs`) — each with its size limit and its refusals, which store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import type { StepExecutor } from '../../src/runtime/types.js';
import { startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

/** A stand-in `agent` executor: `model` answers with the model group it was given, `hang` waits until aborted, `flaky` always fails retryably. */
const agentStandIn: StepExecutor = {
  kind: 'agent',
  async execute(config, ctx) {
    if (config === 'hang') {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      throw new AgentryError('cancelled', 'aborted');
    }
    if (config === 'flaky') throw new AgentryError('step_failed', 'flaky failed', { retryable: true });
    return { kind: 'output', output: { model: ctx.model ?? null } };
  },
};

const TUNABLE = {
  name: 'tunable',
  steps: {
    pick: { agent: 'model', model: 'small', overridable: ['model'] },
    wait: { agent: 'hang', timeout: '1h', overridable: ['timeout'] },
  },
};
const FLAKY = {
  name: 'flaky',
  steps: { try: { agent: 'flaky', retry: { max_attempts: 1, initial: '10ms', jitter: false }, overridable: ['retry'] } },
};
const MODEL_ONLY = { name: 'model-only', steps: { pick: { agent: 'model', model: 'small', overridable: ['model'] } } };

const ADHOC_YAML = `name: scratch
steps:
  greet:
    transform: { greeting: "Hi, {{ input.name }}" }
output: "{{ steps.greet.output }}"
`;

describe.each(storeFactories)('run start options ($name)', (factory) => {
  let api: TestApi;
  let admin: Record<string, string>;

  beforeAll(async () => {
    api = await startTestApi({
      factory,
      workflows: [...WORKFLOWS, TUNABLE, FLAKY, MODEL_ONLY],
      executors: [agentStandIn],
      engine: { pollIntervalMs: 25 },
      app: { runLimits: { inlineSpecBytes: 256 * 1024, overridesBytes: 512, metadataBytes: 300 } },
    });
    admin = api.auth('admin');
  });
  afterAll(async () => {
    await api.close();
  });

  const post = (url: string, body: unknown, headers = admin) => api.app.inject({ method: 'POST', url, headers, payload: body as object });
  const get = (url: string) => api.app.inject({ url, headers: admin });
  const runCount = async (): Promise<number> => (await api.store.listRuns({ limit: 500 })).items.length;
  async function settled(id: string): Promise<Record<string, unknown>> {
    for (;;) {
      const run = (await get(`/v1/runs/${id}`)).json<Record<string, unknown>>();
      if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(run.status as string)) return run;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  describe('metadata', () => {
    it('echoes the labels on the run and filters GET /v1/runs by every ?label= given', async () => {
      const a = await post('/v1/workflows/hello/runs', { input: { name: 'A' }, metadata: { team: 'support', env: 'prod' } });
      const b = await post('/v1/workflows/hello/runs', { input: { name: 'B' }, metadata: { team: 'support', env: 'dev' } });
      await post('/v1/workflows/hello/runs', { input: { name: 'C' } });
      expect(a.statusCode, a.body).toBe(201);
      expect(a.json().metadata).toEqual({ team: 'support', env: 'prod' });
      expect((await get(`/v1/runs/${b.json().id}`)).json().metadata).toEqual({ team: 'support', env: 'dev' });

      const support = (await get('/v1/runs?label=team:support')).json().items.map((r: { id: string }) => r.id);
      expect(support.sort()).toEqual([a.json().id, b.json().id].sort());
      const prod = (await get('/v1/runs?label=team:support&label=env:prod')).json().items.map((r: { id: string }) => r.id);
      expect(prod).toEqual([a.json().id]);
      expect((await get('/v1/runs?label=team:billing')).json().items).toEqual([]);
    });

    it('refuses metadata over its size limit with 413 naming the limit, and a malformed label key or filter with 400; nothing is stored', async () => {
      const before = await runCount();
      const big = await post('/v1/workflows/hello/runs', { input: { name: 'A' }, metadata: { note: 'x'.repeat(250), other: 'y'.repeat(100) } });
      expect(big.statusCode).toBe(413);
      expect(big.json()).toMatchObject({ code: 'payload_too_large' });
      expect(big.json().detail).toMatch(/max_metadata_bytes.*AGENTRY_MAX_METADATA_BYTES/);
      const badKey = await post('/v1/workflows/hello/runs', { input: { name: 'A' }, metadata: { 'no spaces': 'x' } });
      expect(badKey.statusCode).toBe(400);
      expect(await runCount()).toBe(before);
      const badFilter = await get('/v1/runs?label=nocolon');
      expect(badFilter.statusCode).toBe(400);
    });
  });

  describe('deadline', () => {
    it('ends a run timed_out at its own deadline, given as a duration, and shows deadline_at', async () => {
      const res = await post('/v1/workflows/nap/runs', { deadline: '300ms' });
      expect(res.statusCode).toBe(201);
      const created = Date.parse(res.json().created_at);
      expect(Date.parse(res.json().deadline_at)).toBe(created + 300);
      expect((await settled(res.json().id)).status).toBe('timed_out');
    });

    it('takes an ISO 8601 time, and refuses one in the past or a malformed one', async () => {
      const at = new Date(Date.now() + 3_600_000).toISOString();
      const res = await post('/v1/workflows/nap/runs', { deadline: at });
      expect(res.statusCode).toBe(201);
      expect(res.json().deadline_at).toBe(at);
      await post(`/v1/runs/${res.json().id}/cancel`, {});
      const before = await runCount();
      for (const deadline of ['2001-01-01T00:00:00Z', 'tomorrow', '0s']) {
        const bad = await post('/v1/workflows/nap/runs', { deadline });
        expect(bad.statusCode, deadline).toBe(400);
        expect(bad.json().detail).toContain(`deadline '${deadline}'`);
      }
      expect(await runCount()).toBe(before);
    });
  });

  describe('overrides', () => {
    it("applies an agent step's model override, shows it on the run, and keeps the spec's model without one", async () => {
      const res = await post('/v1/workflows/model-only/runs?wait=10s', { overrides: { steps: { pick: { model: 'large' } } } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'succeeded', overrides: { steps: { pick: { model: 'large' } } } });
      const run = (await get(`/v1/runs/${res.json().id}`)).json();
      expect(run.steps.find((s: { id: string }) => s.id === 'pick').output).toEqual({ model: 'large' });
      expect(run.overrides).toEqual({ steps: { pick: { model: 'large' } } });
      const plain = (await post('/v1/workflows/model-only/runs?wait=10s', {})).json();
      expect(plain.overrides).toBeNull();
      expect((await get(`/v1/runs/${plain.id}`)).json().steps[0].output).toEqual({ model: 'small' });
    });

    it("applies a step's timeout and retry overrides", async () => {
      const timed = await post('/v1/workflows/tunable/runs', { overrides: { steps: { wait: { timeout: '200ms' } } } });
      expect(timed.statusCode).toBe(201);
      const ended = await settled(timed.json().id);
      expect(ended.status).toBe('failed');
      expect((ended.error as { code: string }).code).toBe('step_timeout');

      const retried = await post('/v1/workflows/flaky/runs', { overrides: { steps: { try: { retry: { max_attempts: 3, initial: '10ms', jitter: false } } } } });
      const run = await settled(retried.json().id);
      expect(run.status).toBe('failed');
      expect((run.steps as { id: string; attempt: number }[]).find((s) => s.id === 'try')?.attempt).toBe(3);
    });

    it('refuses an override the workflow does not mark overridable, or of an unknown step, naming the field; nothing is stored', async () => {
      const before = await runCount();
      const notAllowed = await post('/v1/workflows/tunable/runs', { overrides: { steps: { wait: { retry: { max_attempts: 5 } } } } });
      expect(notAllowed.statusCode).toBe(400);
      expect(notAllowed.json()).toMatchObject({ code: 'override_not_allowed' });
      expect(notAllowed.json().detail).toMatch(/^overrides\.steps\.wait\.retry: .*allows overriding timeout/);
      const unknown = await post('/v1/workflows/tunable/runs', { overrides: { steps: { nope: { timeout: '1s' } } } });
      expect(unknown.json()).toMatchObject({ code: 'override_not_allowed' });
      expect(unknown.json().detail).toMatch(/^overrides\.steps\.nope: /);
      const invalid = await post('/v1/workflows/tunable/runs', { overrides: { steps: { wait: { timeout: 'soon' } } } });
      expect(invalid.statusCode).toBe(422);
      expect(invalid.json().code).toBe('spec_invalid');
      const big = await post('/v1/workflows/tunable/runs', {
        overrides: {
          steps: {
            pick: { model: 'm'.repeat(120) },
            wait: { timeout: '1'.repeat(30) },
            ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`s${i}`, { model: 'x'.repeat(60) }])),
          },
        },
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().detail).toMatch(/max_overrides_bytes/);
      expect(await runCount()).toBe(before);
    });
  });

  describe('ad-hoc runs', () => {
    it('runs an inline YAML spec (specs:write), stores it as the snapshot and marks the run adhoc', async () => {
      const res = await post('/v1/runs?wait=10s', { spec: ADHOC_YAML, input: { name: 'Ada' }, metadata: { origin: 'notebook' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        workflow: 'scratch',
        status: 'succeeded',
        adhoc: true,
        output: { greeting: 'Hi, Ada' },
        metadata: { origin: 'notebook' },
      });
      expect(res.headers.location).toBe(`/v1/runs/${res.json().id}`);
      const stored = await api.store.getRun(res.json().id);
      expect(stored?.spec).toMatchObject({ name: 'scratch', steps: { greet: { transform: { greeting: 'Hi, {{ input.name }}' } } } });
      expect(stored?.adhoc).toBe(true);
      // A retry re-runs the stored snapshot, as an ad-hoc run with the same labels.
      const retried = await post(`/v1/runs/${res.json().id}/retry`, { from_step: 'greet' });
      expect(retried.statusCode).toBe(201);
      expect(retried.json()).toMatchObject({ workflow: 'scratch', adhoc: true, metadata: { origin: 'notebook' } });
    });

    it('takes the spec as a JSON object too', async () => {
      const spec = { name: 'scratch-json', steps: { one: { transform: { n: 1 } } } };
      const res = await post('/v1/runs?wait=10s', { spec });
      expect(res.json()).toMatchObject({ workflow: 'scratch-json', status: 'succeeded', adhoc: true });
    });

    it('needs specs:write: an operator may, a service key may not', async () => {
      expect((await post('/v1/runs', { spec: ADHOC_YAML, input: { name: 'x' } }, api.auth('operator'))).statusCode).toBe(201);
      const refused = await post('/v1/runs', { spec: ADHOC_YAML, input: { name: 'x' } }, api.auth('service'));
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('forbidden');
    });

    it('refuses an invalid spec with 422 and diagnostics at their lines; nothing is stored', async () => {
      const before = await runCount();
      const res = await post('/v1/runs', { spec: 'name: broken\nsteps:\n  a:\n    transform: 1\n  b:\n    needs: [nope]\n    transform: 2\n' });
      expect(res.statusCode).toBe(422);
      expect(res.json().code).toBe('spec_invalid');
      const yamlError = await post('/v1/runs', { spec: 'name: x\nsteps: [\n' });
      expect(yamlError.statusCode).toBe(422);
      expect(await runCount()).toBe(before);
      const diagnostics = (
        await api.app.inject({
          method: 'POST',
          url: '/v1/runs',
          headers: admin,
          payload: { spec: 'name: broken\nsteps:\n  a:\n    transform: 1\n  b:\n    needs: [nope]\n    transform: 2\n' },
        })
      ).json();
      expect(diagnostics.detail).toMatch(/<inline spec>:6:/);
    });

    it('accepts an inline spec of exactly the limit and refuses one byte more with 413 naming the limit', async () => {
      const limit = 256 * 1024;
      const head = 'name: big\nsteps:\n  one: { transform: 1 }\ndescription: "';
      const fill = (n: number): string => `${head}${'x'.repeat(n - head.length - 2)}"\n`;
      const ok = await post('/v1/runs', { spec: fill(limit) });
      expect(ok.statusCode).toBe(201);
      const over = await post('/v1/runs', { spec: fill(limit + 1) });
      expect(over.statusCode).toBe(413);
      expect(over.json().detail).toMatch(/262145 bytes, over the limit of 262144 bytes \(max_inline_spec_bytes/);
    });
  });
});
