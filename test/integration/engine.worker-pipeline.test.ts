/**
 * A worker's slot frees when its attempt ends, before the result is recorded: the next claim
 * overlaps the recording transaction instead of waiting for it (`freeSlots` in
 * src/engine/worker.ts). The steps held while their results are recorded stay under the
 * concurrency again, so a slow database cannot make a pool hold ever more leases.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storeFactories } from '../helpers/store.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';

const one = { name: 'one', steps: { a: { transform: '{{ input.n }}' } } };

for (const factory of storeFactories) {
  describe(`worker pipeline (${factory.name})`, () => {
    let t: TestEngine | undefined;
    let open = () => {};
    afterEach(async () => {
      open();
      await t?.cleanup();
      t = undefined;
    });

    it('claims the next step while a result is being recorded, and holds at most twice its concurrency', async () => {
      t = await startTestEngine(factory, [one], { start: false, settings: { concurrency: 1 } });
      const { engine } = t;
      // Every result waits at the gate until it opens: recording is slow.
      const gate = new Promise<void>((resolve) => (open = resolve));
      const recording: string[] = [];
      const { transitions } = engine;
      const completeStep = transitions.completeStep.bind(transitions);
      transitions.completeStep = async (key, ...rest) => {
        recording.push(key.runId);
        await gate;
        return completeStep(key, ...rest);
      };
      const started: string[] = [];
      engine.onCommitted((events) => started.push(...events.filter((e) => e.event.type === 'step.started').map((e) => e.event.runId)));
      const runs = [];
      for (let n = 0; n < 3; n++) runs.push(await engine.startRun('one', { n }, { priority: 10 - n }));
      await engine.start();

      // The first run's result waits to be recorded; its slot is free, so the second run's step was
      // claimed and ran (its result waits behind the first's transaction).
      await expect.poll(() => started.length, { timeout: 10_000 }).toBe(2);
      expect(started).toEqual([runs[0]!.id, runs[1]!.id]);
      expect(recording).toEqual([runs[0]!.id]);
      // Two held (one slot, twice that at most): the third is not claimed while both wait.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(started).toEqual([runs[0]!.id, runs[1]!.id]);
      expect(engine.activeAttempts).toBe(0);
      expect((await engine.getRun(runs[0]!.id)).status).toBe('running');

      open();
      for (const run of runs) expect(await engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded' });
      expect(started).toEqual(runs.map((r) => r.id));
    });
  });
}
