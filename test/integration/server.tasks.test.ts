/**
 * Human tasks and run signals over the API, on every store: listing and filtering, getting,
 * deciding (approve, reject, submit) with the run resuming to its end, bad form data changing
 * nothing, concurrent decisions on one task (exactly one wins), who may decide (scopes, the
 * task's role, assignees), and signals (resume with the payload, duplicates, conflicts).
 */
import type { InjectOptions } from 'fastify';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import type { TaskDto } from '../../src/app/dto/tasks.js';
import { silentLogger } from '../helpers/engine.js';
import { listen } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { openTask } from '../helpers/engine.js';
import { bearer, startTaskApi, stepWaiting, type KeyName, type TaskApi } from '../helpers/tasks.js';

const TASK_FIELDS = [
  'id',
  'run_id',
  'step_id',
  'workflow',
  'kind',
  'status',
  'title',
  'instructions',
  'form_schema',
  'role',
  'assignees',
  'context',
  'due_at',
  'escalations',
  'decision',
  'response',
  'comment',
  'decided_by',
  'decided_at',
  'created_at',
  'updated_at',
].sort();

for (const factory of storeFactories) {
  describe(`tasks and signals over the API (${factory.name})`, () => {
    let api: TaskApi;
    let base: string;

    beforeAll(async () => {
      api = await startTaskApi(factory);
      base = await listen(api.app);
    });
    afterAll(async () => {
      await api.close();
    });

    const call = (as: KeyName, request: InjectOptions) => api.app.inject({ ...request, headers: { ...request.headers, ...bearer(as) } });
    const complete = (as: KeyName, id: string, body: unknown) => call(as, { method: 'POST', url: `/v1/tasks/${id}/complete`, payload: body as object });
    const signal = (runId: string, name: string, payload?: unknown) =>
      call('operator', {
        method: 'POST',
        url: `/v1/runs/${runId}/signals/${name}`,
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } }),
      });

    /** Starts a run and returns it with its open task. */
    async function started(workflow: string, input: unknown = {}): Promise<{ runId: string; taskId: string }> {
      const run = await api.engine.startRun(workflow, input);
      const task = await openTask(api.store, run.id);
      return { runId: run.id, taskId: task.id };
    }

    const ended = (runId: string) => api.engine.waitForRun(runId, { timeoutMs: 10_000 });

    describe('listing and getting', () => {
      it('lists tasks newest first, filtered by status, role, workflow, run and kind, paged with a cursor', async () => {
        const first = await started('approval', { item: 'one' });
        const second = await started('approval', { item: 'two' });
        const other = await started('assigned');

        const page = (query: string) => call('viewer', { url: `/v1/tasks?${query}` });
        const ids = async (query: string) => {
          const res = await page(query);
          expect(res.statusCode, res.body).toBe(200);
          return (res.json().items as TaskDto[]).map((t) => t.id);
        };
        const all = (await page('limit=500')).json().items as TaskDto[];
        expect(all.map((t) => t.id)).toEqual(expect.arrayContaining([first.taskId, second.taskId, other.taskId]));
        const newestFirst = [...all].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
        expect(all.map((t) => t.id)).toEqual(newestFirst.map((t) => t.id));
        expect(await ids(`run_id=${first.runId}`)).toEqual([first.taskId]);
        expect(await ids('workflow=assigned&status=open')).toContain(other.taskId);
        expect(await ids('workflow=assigned')).not.toContain(first.taskId);
        const reviewer = await ids('role=reviewer&limit=500');
        expect(reviewer).toEqual(expect.arrayContaining([first.taskId, second.taskId]));
        expect(reviewer).not.toContain(other.taskId);
        expect(await ids(`run_id=${first.runId}&kind=human`)).toEqual([first.taskId]);
        expect(await ids(`run_id=${first.runId}&kind=review`)).toEqual([]);
        expect(await ids(`run_id=${first.runId}&status=completed,expired`)).toEqual([]);

        // One at a time through the cursor: every task of the workflow once, newest first.
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await page(`workflow=approval&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.statusCode).toBe(200);
          const body = res.json<{ items: TaskDto[]; next_cursor: string | null }>();
          expect(body.items.length).toBeLessThanOrEqual(1);
          seen.push(...body.items.map((t) => t.id));
          cursor = body.next_cursor;
        } while (cursor !== null);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(await ids('workflow=approval&limit=500'));
      });

      it('answers 400 for a bad filter, limit or cursor, and 401 without a key', async () => {
        for (const query of ['status=open,bogus', 'status=', 'kind=robot', 'limit=0', 'limit=501', 'limit=x', 'cursor=%21%21']) {
          const res = await call('viewer', { url: `/v1/tasks?${query}` });
          expect(res.statusCode, query).toBe(400);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.json().code, query).toBe('invalid_request');
        }
        expect((await api.app.inject({ url: '/v1/tasks' })).statusCode).toBe(401);
        expect((await call('viewer', { url: '/v1/tasks?limit=500' })).statusCode).toBe(200);
      });

      it('gets a task as the DTO: snake_case fields, ISO times, the rendered title, role and form', async () => {
        const { runId, taskId } = await started('approval', { item: 'the order' });
        const res = await call('viewer', { url: `/v1/tasks/${taskId}` });
        expect(res.statusCode).toBe(200);
        const task = res.json<TaskDto>();
        expect(Object.keys(task).sort()).toEqual(TASK_FIELDS);
        expect(task).toMatchObject({
          id: taskId,
          run_id: runId,
          step_id: 'approve',
          workflow: 'approval',
          kind: 'human',
          status: 'open',
          title: 'Approve the order',
          instructions: 'Check the item.',
          role: 'reviewer',
          assignees: null,
          decision: null,
          response: null,
          comment: null,
          decided_by: null,
          decided_at: null,
          escalations: 0,
          due_at: null,
        });
        expect(task.form_schema).toMatchObject({ required: ['reason'] });
        expect(new Date(task.created_at).toISOString()).toBe(task.created_at);
        const missing = await call('viewer', { url: '/v1/tasks/tsk_nope' });
        expect(missing.statusCode).toBe(404);
        expect(missing.json().code).toBe('not_found');
      });
    });

    describe('deciding', () => {
      it('approve: the task is completed and the run succeeds with the decision as the step output', async () => {
        const { runId, taskId } = await started('approval', { item: 'a' });
        const res = await complete('reviewer', taskId, { decision: 'approve', comment: 'fine' });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ id: taskId, status: 'completed', decision: 'approve', comment: 'fine', decided_by: 'reviewer' });
        expect(res.json().decided_at).toEqual(expect.any(String));
        const run = await ended(runId);
        expect(run.status).toBe('succeeded');
        expect(run.output).toEqual({ decision: 'approve', data: null, comment: 'fine', by: 'reviewer' });
        expect((await call('viewer', { url: `/v1/tasks/${taskId}` })).json().status).toBe('completed');
      });

      it('reject (default on_reject: fail): the run fails with task_rejected', async () => {
        const { runId, taskId } = await started('approval', { item: 'b' });
        const res = await complete('alice', taskId, { decision: 'reject', comment: 'too expensive' });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ status: 'completed', decision: 'reject', decided_by: 'alice' });
        const run = await ended(runId);
        expect(run.status).toBe('failed');
        expect(run.error?.code).toBe('task_rejected');
      });

      it('submit with data matching the form: the run output carries the data', async () => {
        const { runId, taskId } = await started('approval', { item: 'c' });
        const res = await complete('operator', taskId, { decision: 'submit', data: { reason: 'checked twice' } });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ decision: 'submit', response: { reason: 'checked twice' }, decided_by: 'operator' });
        const run = await ended(runId);
        expect(run.status).toBe('succeeded');
        expect(run.output).toMatchObject({ decision: 'submit', data: { reason: 'checked twice' }, by: 'operator' });
      });

      it('form data failing the schema (or a bad body) is a 400 that changes nothing: the task stays open, the run waiting', async () => {
        const { runId, taskId } = await started('approval', { item: 'd' });
        const before = await api.store.listEvents(runId, 0, 1000);
        const bodies = [
          { decision: 'submit', data: { reason: 42 } },
          { decision: 'submit', data: { why: 'no reason field' } },
          { decision: 'submit' },
          { decision: 'maybe' },
          { decision: 'approve', comment: 'x'.repeat(4001) },
          { decision: 'approve', extra: true },
          {},
        ];
        for (const body of bodies) {
          const res = await complete('reviewer', taskId, body);
          expect(res.statusCode, JSON.stringify(body)).toBe(400);
          expect(res.json().code).toBe('invalid_request');
        }
        expect((await api.engine.getTask(taskId)).status).toBe('open');
        expect((await api.engine.getRun(runId)).status).toBe('waiting');
        expect(await api.store.listEvents(runId, 0, 1000)).toEqual(before);
        // The task can still be decided.
        expect((await complete('reviewer', taskId, { decision: 'submit', data: { reason: 'ok now' } })).statusCode).toBe(200);
        expect((await ended(runId)).status).toBe('succeeded');
      });

      it('a decision on a decided task is a 409 conflict and changes nothing', async () => {
        const { runId, taskId } = await started('approval', { item: 'e' });
        expect((await complete('reviewer', taskId, { decision: 'approve' })).statusCode).toBe(200);
        await ended(runId);
        const events = await api.store.listEvents(runId, 0, 1000);
        for (const body of [{ decision: 'approve' }, { decision: 'reject' }]) {
          const again = await complete('admin', taskId, body);
          expect(again.statusCode).toBe(409);
          expect(again.json().code).toBe('conflict');
        }
        expect((await api.engine.getTask(taskId)).decision).toBe('approve');
        expect(await api.store.listEvents(runId, 0, 1000)).toEqual(events);
      });

      it('repeats a decision made with an Idempotency-Key: the same body again, applied once', async () => {
        const { runId, taskId } = await started('approval', { item: 'retried' });
        const decide = (key: string, decision: string) =>
          call('reviewer', { method: 'POST', url: `/v1/tasks/${taskId}/complete`, headers: { 'idempotency-key': key }, payload: { decision, comment: 'ok' } });
        const first = await decide('k-1', 'approve');
        expect(first.statusCode).toBe(200);
        expect(first.headers['idempotent-replayed']).toBeUndefined();
        const again = await decide('k-1', 'approve');
        expect(again.statusCode).toBe(200);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.json()).toEqual(first.json());
        const other = await decide('k-1', 'reject');
        expect(other.statusCode).toBe(409);
        expect(other.json().code).toBe('idempotency_conflict');
        const unkeyed = await complete('reviewer', taskId, { decision: 'approve', comment: 'ok' });
        expect(unkeyed.json().code).toBe('conflict');
        expect((await decide(' ', 'approve')).json().code).toBe('invalid_idempotency_key');
        await ended(runId);
        expect((await api.store.listEvents(runId, 0, 1000)).filter((e) => e.type === 'task.completed')).toHaveLength(1);
      });

      it('two decisions at once on one task over HTTP: exactly one 200, the other 409 (resource_locked or conflict)', async () => {
        const agent = new Agent();
        try {
          const post = async (as: KeyName, id: string, decision: string) => {
            const res = await fetch(`${base}/v1/tasks/${id}/complete`, {
              method: 'POST',
              headers: { ...bearer(as), 'content-type': 'application/json' },
              body: JSON.stringify({ decision }),
              dispatcher: agent,
            });
            return { status: res.status, body: (await res.json()) as { code?: string; decision?: string } };
          };
          for (let round = 0; round < 5; round++) {
            const { runId, taskId } = await started('approval', { item: `race ${round}` });
            const results = await Promise.all([post('reviewer', taskId, 'approve'), post('alice', taskId, 'reject')]);
            const statuses = results.map((r) => r.status).sort();
            expect(statuses, JSON.stringify(results)).toEqual([200, 409]);
            const winner = results.find((r) => r.status === 200)!;
            const loser = results.find((r) => r.status === 409)!;
            expect(['resource_locked', 'conflict']).toContain(loser.body.code);
            // The stored decision is the winner's, applied once.
            const task = await api.engine.getTask(taskId);
            expect(task.decision).toBe(winner.body.decision);
            const run = await ended(runId);
            expect(run.status).toBe(winner.body.decision === 'approve' ? 'succeeded' : 'failed');
            const completions = (await api.store.listEvents(runId, 0, 1000)).filter((e) => e.type === 'task.completed');
            expect(completions).toHaveLength(1);
          }
        } finally {
          await agent.close();
        }
      });
    });

    describe('who may decide', () => {
      it('keys without tasks:write get 403 (scope) and change nothing; a reviewer with the role may decide', async () => {
        const { runId, taskId } = await started('approval', { item: 'f' });
        for (const as of ['viewer', 'service'] as const) {
          const res = await complete(as, taskId, { decision: 'approve' });
          expect(res.statusCode, as).toBe(403);
          expect(res.json()).toMatchObject({ code: 'forbidden', detail: 'missing required scope: tasks:write' });
        }
        expect((await api.engine.getTask(taskId)).status).toBe('open');
        expect((await complete('reviewer', taskId, { decision: 'approve' })).statusCode).toBe(200);
        expect((await ended(runId)).status).toBe('succeeded');
      });

      it("a key with tasks:write but without the task's role gets 403 forbidden; the task stays open", async () => {
        const { runId, taskId } = await started('approval', { item: 'g' });
        const res = await complete('clerk', taskId, { decision: 'approve' });
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('forbidden');
        expect((await api.engine.getTask(taskId)).status).toBe('open');
        expect((await api.engine.getRun(runId)).status).toBe('waiting');
        await api.engine.cancelRun(runId, 'test done');
      });

      it('an assigned task: the assignee may decide (without any role), a reviewer may not', async () => {
        const { runId, taskId } = await started('assigned');
        const denied = await complete('reviewer', taskId, { decision: 'approve' });
        expect(denied.statusCode).toBe(403);
        expect(denied.json().code).toBe('forbidden');
        const allowed = await complete('clerk', taskId, { decision: 'approve', comment: 'mine' });
        expect(allowed.statusCode, allowed.body).toBe(200);
        expect(allowed.json().decided_by).toBe('clerk');
        expect((await ended(runId)).output).toMatchObject({ decision: 'approve', by: 'clerk', comment: 'mine' });
      });

      it('with auth off (a loopback dev server), the caller decides as admin, whatever the task asks', async () => {
        const open = await buildApp({
          engine: api.engine,
          store: api.store,
          logger: silentLogger,
          version: '0.0.0-test',
          auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }),
        });
        try {
          const { runId, taskId } = await started('assigned');
          const res = await open.inject({ method: 'POST', url: `/v1/tasks/${taskId}/complete`, payload: { decision: 'approve' } });
          expect(res.statusCode, res.body).toBe(200);
          expect(res.json().decided_by).toBe('anonymous');
          expect((await ended(runId)).status).toBe('succeeded');
        } finally {
          await open.close();
        }
      });
    });

    describe('signals', () => {
      it('resumes the waiting step with the payload; a duplicate changes nothing; another payload is a 409', async () => {
        const run = await api.engine.startRun('gate', {});
        await stepWaiting(api.engine, run.id, 'go');
        const sent = await signal(run.id, 'go', { approved: true, by: 'ci' });
        expect(sent.statusCode, sent.body).toBe(202);
        expect(sent.json()).toMatchObject({ run_id: run.id, name: 'go', duplicate: false });
        expect(new Date(sent.json().received_at).toISOString()).toBe(sent.json().received_at);

        await stepWaiting(api.engine, run.id, 'done');
        const events = await api.store.listEvents(run.id, 0, 1000);
        const again = await signal(run.id, 'go', { by: 'ci', approved: true });
        expect(again.statusCode).toBe(200);
        expect(again.json()).toEqual({ ...sent.json(), duplicate: true });
        const different = await signal(run.id, 'go', { approved: false });
        expect(different.statusCode).toBe(409);
        expect(different.json().code).toBe('conflict');
        expect(await api.store.listEvents(run.id, 0, 1000)).toEqual(events);

        // Without a body the payload is null.
        const bare = await signal(run.id, 'done');
        expect(bare.statusCode, bare.body).toBe(202);
        const done = await ended(run.id);
        expect(done.status).toBe('succeeded');
        expect(done.output).toEqual({ go: { approved: true, by: 'ci' }, done: null });
        const received = (await api.store.listEvents(run.id, 0, 1000)).filter((e) => e.type === 'signal.received');
        expect(received).toHaveLength(2);
      });

      it('answers 404 for an unknown run, 400 for a name no step waits for or an invalid name, 403 without runs:write', async () => {
        const run = await api.engine.startRun('gate', {});
        await stepWaiting(api.engine, run.id, 'go');
        const before = await api.store.listEvents(run.id, 0, 1000);
        const unknown = await signal('run_nope', 'go', {});
        expect(unknown.statusCode).toBe(404);
        expect(unknown.json().code).toBe('not_found');
        const nobody = await signal(run.id, 'nobody', {});
        expect(nobody.statusCode).toBe(400);
        expect(nobody.json().code).toBe('invalid_request');
        const badName = await signal(run.id, 'no%20spaces', {});
        expect(badName.statusCode).toBe(400);
        const tooLong = await signal(run.id, 'x'.repeat(65), {});
        expect(tooLong.statusCode).toBe(400);
        const viewer = await call('viewer', { method: 'POST', url: `/v1/runs/${run.id}/signals/go`, payload: {} });
        expect(viewer.statusCode).toBe(403);
        const reviewer = await call('reviewer', { method: 'POST', url: `/v1/runs/${run.id}/signals/go`, payload: {} });
        expect(reviewer.statusCode).toBe(403);
        expect(await api.store.listEvents(run.id, 0, 1000)).toEqual(before);
        await api.engine.cancelRun(run.id, 'test done');
      });
    });
  });
}
