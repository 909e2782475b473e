/**
 * An attempt's logger (`worker.ts`): made only when something logs through it, and then every
 * line an executor writes carries the attempt's fields (run, step, attempt, workflow, tenant).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StepExecutor } from '../../src/runtime/types.js';
import { defaultExecutors } from '../../src/runtime/registry.js';
import { captureLogs } from '../helpers/log-capture.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { storeFactories } from '../helpers/store.js';

const chatty: StepExecutor = {
  kind: 'http',
  execute(config, ctx) {
    ctx.logger.info({ said: config }, 'executor line');
    return Promise.resolve({ kind: 'output', output: { ok: true } });
  },
};

for (const factory of storeFactories) {
  describe(`an attempt's logger (${factory.name})`, () => {
    let t: TestEngine | undefined;
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });

    it("gives an executor's lines the attempt's fields, and is made for no attempt that logs nothing", async () => {
      const logs = captureLogs('info');
      let children = 0;
      const child = logs.logger.child.bind(logs.logger);
      logs.logger.child = ((...args: Parameters<typeof child>) => {
        children++;
        return child(...args);
      }) as typeof logs.logger.child;
      const executors = [...defaultExecutors().filter((e) => e.kind !== 'http'), chatty];
      t = await startTestEngine(
        factory,
        [
          { name: 'quiet', steps: { only: { transform: { ok: true } } } },
          { name: 'loud', steps: { only: { http: { url: 'https://example.invalid/' } } } },
        ],
        { executors, logger: logs.logger },
      );
      const atStart = children;
      const quiet = await t.engine.startRun('quiet', {});
      expect((await t.engine.waitForRun(quiet.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
      expect(children).toBe(atStart);
      const before = children;
      const loud = await t.engine.startRun('loud', {});
      expect((await t.engine.waitForRun(loud.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
      expect(children - before).toBe(1);
      const line = logs.lines.find((l) => l.msg === 'executor line');
      expect(line).toMatchObject({ run_id: loud.id, step_id: 'only', attempt: 1, workflow: 'loud', tenant_id: 'default' });
    });
  });
}
