/**
 * Human tasks: list (filtered, cursor-paged), get, and decide (`complete`). A decision resumes
 * the task's run; who may decide is the engine's rule (the task's `role:` among the key's
 * grants, or the key named in `assignees:`, or a supervisor role), checked against the key
 * that calls here.
 */
import { Type } from 'typebox';
import { MAX_COMMENT_LENGTH } from '../../app/dto/task-limits.js';
import { TaskPageSchema, TaskSchema } from '../../app/dto/tasks.js';
import { TASK_DECISIONS, TASK_KINDS, TASK_STATUSES, type TaskStatus } from '../../types.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, REPLAYED_HEADER } from '../idempotency.js';
import type { RouteTable, ServerDeps } from '../route.js';

const TaskId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'Task id' }) });
const STATUS_LIST = `^(${TASK_STATUSES.join('|')})(,(${TASK_STATUSES.join('|')}))*$`;

export function taskRoutes(table: RouteTable, deps: ServerDeps): void {
  const { tasks } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/tasks',
    scope: 'tasks:read',
    summary: 'List human tasks, newest first',
    tags: ['tasks'],
    errors: [],
    schema: {
      operationId: 'listTasks',
      querystring: Type.Object({
        status: Type.Optional(Type.String({ pattern: STATUS_LIST, description: `Comma-separated statuses: ${TASK_STATUSES.join(', ')}` })),
        role: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only tasks for this role' })),
        workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        run_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        kind: Type.Optional(Type.Enum([...TASK_KINDS])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: TaskPageSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      return tasks.list(principal, {
        limit: q.limit ?? 50,
        ...(q.status === undefined ? {} : { status: q.status.split(',') as TaskStatus[] }),
        ...(q.role === undefined ? {} : { role: q.role }),
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(q.run_id === undefined ? {} : { runId: q.run_id }),
        ...(q.kind === undefined ? {} : { kind: q.kind }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/tasks/:id',
    scope: 'tasks:read',
    summary: 'Get a task: what it asks, its form, its context and, once decided, the decision',
    tags: ['tasks'],
    errors: ['not_found'],
    schema: { operationId: 'getTask', params: TaskId, response: { 200: TaskSchema } },
    handler: (request, _reply, principal) => tasks.get(principal, request.params.id),
  });

  table.add({
    method: 'POST',
    url: '/v1/tasks/:id/complete',
    scope: 'tasks:write',
    summary: "Decide an open task (approve, reject, or submit the form's data); its run resumes",
    tags: ['tasks'],
    errors: ['not_found', 'conflict', 'resource_locked', 'invalid_idempotency_key', 'idempotency_conflict'],
    schema: {
      operationId: 'completeTask',
      params: TaskId,
      headers: Type.Object({
        [IDEMPOTENCY_HEADER]: Type.Optional(
          Type.String({ description: '1–256 characters; repeating the same decision with the same key returns the decided task again' }),
        ),
      }),
      body: Type.Object(
        {
          decision: Type.Enum([...TASK_DECISIONS], { description: 'submit: data is checked against the form schema' }),
          data: Type.Optional(Type.Unknown({ description: 'The form data (submit)' })),
          comment: Type.Optional(Type.String({ maxLength: MAX_COMMENT_LENGTH, description: 'Kept with the decision and in the step output' })),
        },
        { additionalProperties: false },
      ),
      response: { 200: { ...TaskSchema, description: 'The decided task' } },
    },
    async handler(request, reply, principal) {
      const { id } = request.params;
      const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_HEADER]);
      const { decision, data, comment } = request.body;
      const input = { decision, ...(data === undefined ? {} : { data }), ...(comment === undefined ? {} : { comment }) };
      const { task, replayed } = await tasks.decide(principal, id, input, key);
      if (replayed) void reply.header(REPLAYED_HEADER, 'true');
      return task;
    },
  });
}
