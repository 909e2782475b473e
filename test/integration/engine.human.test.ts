import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { Actor } from '../../src/engine/tasks-api.js';
import { AgentryError } from '../../src/lib/errors.js';
import { storeFactories } from '../helpers/store.js';
import { engineOn, eventsOf, eventually, labels, openTask, startTestEngine, type TestEngine } from '../helpers/engine.js';

const reviewer: Actor = { name: 'rita', roles: ['reviewer'] };

function approval(human: Record<string, unknown>, name = 'approval'): Record<string, unknown> {
  return {
    name,
    steps: {
      prep: { transform: { item: '{{ input.item }}' } },
      review: { human: { title: 'Approve {{ steps.prep.output.item }}', role: 'reviewer', ...human } },
      after: { transform: { decision: '{{ steps.review.output.decision }}', data: '{{ steps.review.output.data }}' } },
    },
    output: '{{ steps.after.output }}',
  };
}

const FORM = { schema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 3 } } } };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof AgentryError ? error.code : String(error);
  }
}

for (const factory of storeFactories) {
  describe(`human steps (${factory.name})`, () => {
    let t: TestEngine | undefined;
    let other: Engine | undefined;
    afterEach(async () => {
      await other?.stop();
      await t?.cleanup();
      t = undefined;
      other = undefined;
    });

    it('waits without a worker on a task, and an approval resumes the run to its end', async () => {
      const spec = approval({ instructions: 'Check {{ input.item }} twice' });
      (spec.steps as Record<string, Record<string, unknown>>).review!.input = { item: '{{ steps.prep.output.item }}', amount: 12 };
      t = await startTestEngine(factory, [spec]);
      const run = await t.engine.startRun('approval', { item: 'invoice 7' });
      const task = await openTask(t.engine, run.id);
      expect(task).toMatchObject({ kind: 'human', title: 'Approve invoice 7', instructions: 'Check invoice 7 twice', role: 'reviewer', stepId: 'review' });
      expect(task.context).toEqual({ item: 'invoice 7', amount: 12 });
      await eventually(async () => ((await t!.engine.getRun(run.id)).status === 'waiting' ? true : undefined), 5_000, 'run waiting');
      expect(t.engine.activeAttempts).toBe(0);

      const decided = await t.engine.completeTask(task.id, { decision: 'approve', comment: 'fine' }, reviewer);
      expect(decided).toMatchObject({ status: 'completed', decision: 'approve', decidedBy: 'rita', comment: 'fine' });
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: { decision: 'approve', data: null } });
      const story = labels(await eventsOf(t.store, run.id));
      expect(story).toEqual(expect.arrayContaining(['task.created:review', 'run.waiting', 'task.completed:review', 'step.succeeded:review', 'run.succeeded']));
      expect(story.indexOf('task.completed:review')).toBeLessThan(story.indexOf('step.started:after'));
    });

    it('fails the run on a reject, or goes on with the decision under on_reject: continue', async () => {
      t = await startTestEngine(factory, [approval({}), approval({ on_reject: 'continue' }, 'lenient')]);
      const strict = await t.engine.startRun('approval', { item: 'a' });
      const lenient = await t.engine.startRun('lenient', { item: 'b' });
      await t.engine.completeTask((await openTask(t.engine, strict.id)).id, { decision: 'reject', comment: 'no budget' }, reviewer);
      await t.engine.completeTask((await openTask(t.engine, lenient.id)).id, { decision: 'reject' }, reviewer);
      const failed = await t.engine.waitForRun(strict.id, { timeoutMs: 10_000 });
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ code: 'task_rejected' });
      expect(failed.error?.message).toContain('no budget');
      const { steps } = await t.engine.getRunWithSteps(strict.id);
      expect(steps.find((s) => s.stepId === 'after')?.status).toBe('cancelled');
      expect(await t.engine.waitForRun(lenient.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded', output: { decision: 'reject' } });
    });

    it('takes form data that matches the form schema; data that does not is refused and changes nothing', async () => {
      t = await startTestEngine(factory, [approval({ form: FORM })]);
      const run = await t.engine.startRun('approval', { item: 'x' });
      const task = await openTask(t.engine, run.id);
      expect(task.formSchema).toEqual(FORM.schema);
      await eventually(async () => ((await t!.engine.getRun(run.id)).status === 'waiting' ? true : undefined));
      const before = await eventsOf(t.store, run.id);

      for (const data of [{ reason: 'no' }, { other: 1 }, 'text']) {
        const refused = t.engine.completeTask(task.id, { decision: 'submit', data }, reviewer);
        await expect(refused).rejects.toMatchObject({ code: 'invalid_request' });
      }
      await expect(t.engine.completeTask(task.id, { decision: 'submit' }, reviewer)).rejects.toMatchObject({ code: 'invalid_request' });
      expect(await t.engine.getTask(task.id)).toMatchObject({ status: 'open', decision: null });
      expect(await eventsOf(t.store, run.id)).toEqual(before);
      expect((await t.engine.getRun(run.id)).status).toBe('waiting');

      await t.engine.completeTask(task.id, { decision: 'submit', data: { reason: 'looks right' } }, reviewer);
      const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: { decision: 'submit', data: { reason: 'looks right' } } });
    });

    it('lets only holders of the role, assignees or supervisors decide', async () => {
      t = await startTestEngine(factory, [approval({}), approval({ role: undefined, assignees: ['ann'] }, 'assigned')]);
      const run = await t.engine.startRun('approval', { item: 'x' });
      const task = await openTask(t.engine, run.id);
      await expect(t.engine.completeTask(task.id, { decision: 'approve' }, { name: 'vic', roles: ['viewer'] })).rejects.toMatchObject({ code: 'forbidden' });
      await expect(t.engine.completeTask(task.id, { decision: 'approve' }, { name: 'ops', roles: ['operator'] })).resolves.toMatchObject({
        status: 'completed',
      });

      const assigned = await t.engine.startRun('assigned', { item: 'y' });
      const mine = await openTask(t.engine, assigned.id);
      await expect(t.engine.completeTask(mine.id, { decision: 'approve' }, reviewer)).rejects.toMatchObject({ code: 'forbidden' });
      await expect(t.engine.completeTask(mine.id, { decision: 'approve' }, { name: 'ann', roles: [] })).resolves.toMatchObject({ decidedBy: 'ann' });
      await expect(t.engine.completeTask(mine.id, { decision: 'approve' }, { name: 'ann', roles: [] })).rejects.toMatchObject({ code: 'conflict' });
      await expect(t.engine.completeTask('tsk_missing', { decision: 'approve' }, reviewer)).rejects.toMatchObject({ code: 'not_found' });
    });

    it('applies exactly one of two decisions made at once; the other gets resource_locked or conflict', async () => {
      t = await startTestEngine(factory, [approval({})]);
      for (let round = 0; round < 5; round++) {
        const run = await t.engine.startRun('approval', { item: `r${round}` });
        const task = await openTask(t.engine, run.id);
        const codes = await Promise.all([
          codeOf(t.engine.completeTask(task.id, { decision: 'approve' }, reviewer)),
          codeOf(t.engine.completeTask(task.id, { decision: 'reject' }, { name: 'rob', roles: ['reviewer'] })),
        ]);
        expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
        expect(codes.filter((c) => c !== 'ok')[0]).toMatch(/^(resource_locked|conflict)$/);
        const done = await t.engine.waitForRun(run.id, { timeoutMs: 10_000 });
        const completions = (await eventsOf(t.store, run.id)).filter((e) => e.type === 'task.completed');
        expect(completions).toHaveLength(1);
        expect(done.status).toBe(completions[0]!.data.decision === 'approve' ? 'succeeded' : 'failed');
      }
    });

    describe('timeouts fire from the store, across an engine restart', () => {
      async function restartAfterDeadline(specs: Record<string, unknown>[], runId: string, waitMs: number): Promise<Engine> {
        await t!.engine.stop();
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        other = await engineOn(t!.store, specs);
        return other;
      }

      it('on_timeout: fail ends the step expired and fails the run', async () => {
        const specs = [approval({ timeout: '500ms', on_timeout: 'fail' })];
        t = await startTestEngine(factory, specs);
        const run = await t.engine.startRun('approval', { item: 'x' });
        const task = await openTask(t.engine, run.id);
        const engine = await restartAfterDeadline(specs, run.id, 700);
        const done = await engine.waitForRun(run.id, { timeoutMs: 10_000 });
        expect(done).toMatchObject({ status: 'failed', error: { code: 'human_task_expired' } });
        const { steps } = await engine.getRunWithSteps(run.id);
        expect(steps.find((s) => s.stepId === 'review')?.status).toBe('expired');
        expect(await engine.getTask(task.id)).toMatchObject({ status: 'expired', decision: 'timed_out' });
        await expect(engine.completeTask(task.id, { decision: 'approve' }, reviewer)).rejects.toMatchObject({ code: 'conflict' });
      });

      it('on_timeout: continue takes the declared default', async () => {
        const specs = [approval({ timeout: '500ms', on_timeout: 'continue', default: { reason: 'no answer' } })];
        t = await startTestEngine(factory, specs);
        const run = await t.engine.startRun('approval', { item: 'x' });
        const task = await openTask(t.engine, run.id);
        const engine = await restartAfterDeadline(specs, run.id, 700);
        const done = await engine.waitForRun(run.id, { timeoutMs: 10_000 });
        expect(done).toMatchObject({ status: 'succeeded', output: { decision: 'timed_out', data: { reason: 'no answer' } } });
        expect(await engine.getTask(task.id)).toMatchObject({ status: 'expired' });
        const expired = (await eventsOf(t.store, run.id)).find((e) => e.type === 'task.expired');
        expect(expired?.data).toMatchObject({ on_timeout: 'continue' });
      });

      it('on_timeout: escalate reassigns with a new deadline, and expires when that passes too', async () => {
        const specs = [approval({ timeout: '500ms', on_timeout: 'escalate', escalate_to: 'manager', escalation_timeout: '800ms' })];
        t = await startTestEngine(factory, specs);
        const run = await t.engine.startRun('approval', { item: 'x' });
        const task = await openTask(t.engine, run.id);
        const engine = await restartAfterDeadline(specs, run.id, 600);
        const escalated = await eventually(
          async () => {
            const now = await engine.getTask(task.id);
            return now.escalations === 1 ? now : undefined;
          },
          5_000,
          'escalation',
        );
        expect(escalated).toMatchObject({ status: 'open', role: 'manager' });
        expect(escalated.dueAt).toBeGreaterThan(task.dueAt!);
        await expect(engine.completeTask(task.id, { decision: 'approve' }, reviewer)).rejects.toMatchObject({ code: 'forbidden' });
        await engine.stop();
        other = undefined;
        const last = await restartAfterDeadline(specs, run.id, 900);
        const done = await last.waitForRun(run.id, { timeoutMs: 10_000 });
        expect(done).toMatchObject({ status: 'failed', error: { code: 'human_task_expired' } });
        expect(await last.getTask(task.id)).toMatchObject({ status: 'expired', escalations: 1 });
        const story = labels(await eventsOf(t.store, run.id));
        expect(story).toEqual(expect.arrayContaining(['task.escalated:review', 'task.expired:review', 'run.failed']));
      });

      it('a decision before the deadline wins; the deadline then changes nothing', async () => {
        const specs = [approval({ timeout: '600ms' })];
        t = await startTestEngine(factory, specs);
        const run = await t.engine.startRun('approval', { item: 'x' });
        const task = await openTask(t.engine, run.id);
        await t.engine.completeTask(task.id, { decision: 'approve' }, reviewer);
        await new Promise((resolve) => setTimeout(resolve, 800));
        expect(await t.engine.waitForRun(run.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'succeeded' });
        expect(await t.engine.getTask(task.id)).toMatchObject({ status: 'completed' });
      });
    });

    it('cancelling a waiting run cancels its open task', async () => {
      t = await startTestEngine(factory, [approval({})]);
      const run = await t.engine.startRun('approval', { item: 'x' });
      const task = await openTask(t.engine, run.id);
      await t.engine.cancelRun(run.id);
      expect(await t.engine.getTask(task.id)).toMatchObject({ status: 'cancelled' });
      await expect(t.engine.completeTask(task.id, { decision: 'approve' }, reviewer)).rejects.toMatchObject({ code: 'conflict' });
    });
  });
}
