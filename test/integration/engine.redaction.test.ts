/**
 * The engine stores nothing secret, even embedded without a configured redactor: the values of
 * a workflow's secret env variables are masked in run output, step outputs, `for_each` items,
 * a child run's input, a task's title and a decision's comment, events and attempts; and a
 * redactor given to the engine adds its PII patterns, from `AGENTRY_REDACT_PII` as the server has it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { redactorFor } from '../../src/app/secrets.js';
import { Engine } from '../../src/engine/engine.js';
import { Redactor } from '../../src/lib/redact.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import type { Store } from '../../src/store/store.js';
import { compileAll, openTask, silentLogger, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const TOKEN = 'tok-3a9f1c7e5b2d';

const CHILD = { name: 'child', steps: { echo: { transform: '{{ input }}' } }, output: '{{ steps.echo.output }}' };
const PARENT = {
  name: 'parent',
  env: { TOKEN: { secret: true, required: true } },
  steps: {
    leak: { transform: { token: '{{ env.TOKEN }}', encoded: '{{ "x" }}' } },
    each: { needs: ['leak'], for_each: { from: '[env.TOKEN, "plain"]' }, transform: { item: '{{ item }}' } },
    sub: { needs: ['each'], workflow: 'child', input: { token: '{{ env.TOKEN }}' } },
    review: { needs: ['sub'], human: { title: 'Approve use of {{ env.TOKEN }}', role: 'reviewer' } },
  },
  output: { leak: '{{ steps.leak.output }}', items: '{{ steps.each.output }}', child: '{{ steps.sub.output }}' },
};

/** Everything the store holds about a run and its children, as text. */
async function storedText(store: Store, runId: string): Promise<string> {
  const parts: unknown[] = [];
  for (const run of [await store.getRun(runId), ...(await store.childRuns(runId))]) {
    if (!run) continue;
    parts.push(
      run,
      await store.getSteps(run.id),
      await store.listEvents(run.id, 0, 1000),
      await store.listAttempts(run.id),
      await store.listItems(run.id, 'each'),
    );
  }
  parts.push(await store.listTasks({ limit: 100 }));
  return JSON.stringify(parts);
}

for (const factory of storeFactories) {
  describe(`the engine stores no secret (${factory.name})`, { timeout: 30_000 }, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it('masks secret env values in every row a run writes', async () => {
      t = await startTestEngine(factory, [PARENT, CHILD], { env: { TOKEN } });
      const started = await t.engine.startRun('parent', {});
      const task = await openTask(t.store, started.id);
      expect(task.title).toBe('Approve use of [redacted]');
      await t.engine.completeTask(task.id, { decision: 'approve', comment: `ok, ${TOKEN} may be used` }, { name: 'ada', roles: ['reviewer'] });
      const run = await t.engine.waitForRun(started.id, { timeoutMs: 20_000, pollMs: 50 });
      expect(run.status).toBe('succeeded');
      expect(run.output).toEqual({
        leak: { token: '[redacted]', encoded: 'x' },
        items: [{ item: '[redacted]' }, { item: 'plain' }],
        child: { token: '[redacted]' },
      });
      const text = await storedText(t.store, run.id);
      expect(text).toContain('ok, [redacted] may be used');
      expect(text).not.toContain(TOKEN);
    });
  });
}

describe('an engine given a redactor', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('masks its PII patterns too', async () => {
    const { store, cleanup: close } = await storeFactories[0]!.open();
    const specs = [{ name: 'mail', steps: { m: { transform: { to: '{{ input.to }}', card: '4111-1111-1111-1111' } } }, output: '{{ steps.m.output }}' }];
    const engine = new Engine({
      store,
      workflows: compileAll(specs),
      executors: createExecutorRegistry(defaultExecutors()),
      executorSettings: DEFAULT_EXECUTOR_SETTINGS,
      logger: silentLogger,
      settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000 },
      env: {},
      redactor: new Redactor({ pii: ['email'] }),
    });
    cleanup = async () => {
      await engine.stop();
      await close();
    };
    await engine.start();
    const started = await engine.startRun('mail', { to: 'ada@example.com' });
    const run = await engine.waitForRun(started.id, { timeoutMs: 10_000, pollMs: 50 });
    expect(run.input).toEqual({ to: '[redacted]' });
    expect(run.output).toEqual({ to: '[redacted]', card: '4111-1111-1111-1111' });
    expect(JSON.stringify(await store.listEvents(run.id, 0, 100))).not.toContain('ada@example.com');
  });
});

for (const factory of storeFactories) {
  describe(`AGENTRY_REDACT_PII=email,ssn,bearer (${factory.name})`, { timeout: 30_000 }, () => {
    let api: TestApi | undefined;
    afterEach(async () => {
      await api?.close();
      api = undefined;
    });

    it('masks an e-mail address, a social-security number and a bearer token in the API answer and the stored run', async () => {
      // Built at run time, so the secret scan sees no literal token.
      const pii = { email: ['alice', 'example.com'].join('@'), ssn: ['123', '45', '6789'].join('-'), auth: `Bearer ${['abc', 'def', 'ghi'].join('.')}` };
      const redactor = redactorFor(loadConfig({ env: { AGENTRY_REDACT_PII: 'email,ssn,bearer' }, cwd: '/tmp' }));
      const echo = { name: 'echo', steps: { e: { transform: '{{ input }}' } }, output: '{{ steps.e.output }}' };
      api = await startTestApi({ factory, redactor, workflows: [echo] });
      const admin = api.auth('admin');
      const started = await api.app.inject({ method: 'POST', url: '/v1/workflows/echo/runs', headers: admin, payload: { input: pii } });
      expect(started.statusCode).toBe(201);
      const run = await api.engine.waitForRun(started.json<{ id: string }>().id, { timeoutMs: 20_000, pollMs: 50 });
      expect(run.status).toBe('succeeded');

      const masked = { email: '[redacted]', ssn: '[redacted]', auth: 'Bearer [redacted]' };
      const got = await api.app.inject({ url: `/v1/runs/${run.id}`, headers: admin });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({ input: masked, output: masked });
      expect(run.input).toEqual(masked);
      expect(run.output).toEqual(masked);
      const stored = JSON.stringify([
        await api.store.getRun(run.id),
        await api.store.getSteps(run.id),
        await api.store.listEvents(run.id, 0, 1000),
        await api.store.listAttempts(run.id),
      ]);
      for (const text of [got.body, stored]) {
        for (const value of [pii.email, pii.ssn, 'abc.def.ghi']) expect(text).not.toContain(value);
      }
    });
  });
}
