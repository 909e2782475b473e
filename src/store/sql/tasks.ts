/**
 * Human tasks: created and decided inside their run's transaction, listed across runs, and
 * guarded by a short resume lock while a decision is being applied.
 */
import { sql } from 'kysely';
import type { TaskRecord, TaskStatus } from '../../types.js';
import type { DueTask, OpenTaskStats, TaskListQuery, TaskPage, TaskPatch } from '../store-types.js';
import type { Db } from './dialect.js';
import { afterCursor, toPage } from './page.js';
import { assignments, changed, fromJson, inList, num, numOrNull, rows, toJson, type Query, type Row } from './values.js';

const TASK_COLUMNS = {
  status: ['status', false],
  role: ['role', false],
  assignees: ['assignees', true],
  dueAt: ['due_at', false],
  escalations: ['escalations', false],
  decision: ['decision', false],
  response: ['response', true],
  comment: ['comment', false],
  decidedBy: ['decided_by', false],
  decidedAt: ['decided_at', false],
} as const;

function taskFromRow(r: Row): TaskRecord {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    runId: r.run_id as string,
    stepId: r.step_id as string,
    workflow: r.workflow as string,
    kind: r.kind as TaskRecord['kind'],
    status: r.status as TaskRecord['status'],
    title: r.title as string,
    instructions: (r.instructions as string | null) ?? null,
    formSchema: fromJson<Record<string, unknown> | null>(r.form_schema),
    role: (r.role as string | null) ?? null,
    assignees: fromJson<string[] | null>(r.assignees),
    context: fromJson(r.context),
    dueAt: numOrNull(r.due_at),
    escalations: num(r.escalations),
    decision: (r.decision as TaskRecord['decision']) ?? null,
    response: fromJson(r.response),
    comment: (r.comment as string | null) ?? null,
    decidedBy: (r.decided_by as string | null) ?? null,
    decidedAt: numOrNull(r.decided_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export async function insertTask(db: Db, t: TaskRecord): Promise<void> {
  await sql`INSERT INTO tasks (id, tenant_id, run_id, step_id, workflow, kind, status, title, instructions, form_schema, role,
                               assignees, context, due_at, escalations, decision, response, comment, decided_by, decided_at,
                               created_at, updated_at)
    VALUES (${t.id}, ${t.tenantId}, ${t.runId}, ${t.stepId}, ${t.workflow}, ${t.kind}, ${t.status}, ${t.title}, ${t.instructions},
            ${toJson(t.formSchema)}, ${t.role}, ${toJson(t.assignees)}, ${toJson(t.context)}, ${t.dueAt}, ${t.escalations},
            ${t.decision}, ${toJson(t.response)}, ${t.comment}, ${t.decidedBy}, ${t.decidedAt}, ${t.createdAt}, ${t.updatedAt})`.execute(db);
}

/**
 * Applies `patch` to a task of run `runId`, only while it is in one of `statuses` when
 * given; false (nothing changed) otherwise. Any change ends the task's resume lock.
 */
export function updateTask(db: Db, runId: string, id: string, patch: TaskPatch, statuses: readonly TaskStatus[] | undefined, now: number): Promise<boolean> {
  const sets = assignments(patch, TASK_COLUMNS);
  sets.push(sql`updated_at = ${now}`, sql`lock_owner = NULL`, sql`lock_until = NULL`);
  const guard = statuses ? sql`AND status IN ${inList(statuses)}` : sql``;
  return changed(db, sql`UPDATE tasks SET ${sql.join(sets)} WHERE id = ${id} AND run_id = ${runId} ${guard}`);
}

/** A task by id; only when it belongs to run `runId` if that is given. */
export async function getTask(db: Db, id: string, runId?: string): Promise<TaskRecord | undefined> {
  const ofRun = runId === undefined ? sql`` : sql`AND run_id = ${runId}`;
  const [row] = await rows(db, sql`SELECT * FROM tasks WHERE id = ${id} ${ofRun}`);
  return row ? taskFromRow(row) : undefined;
}

/** The run's open tasks (of one step when given), oldest first. */
export async function openTasks(db: Db, runId: string, stepId?: string): Promise<TaskRecord[]> {
  const byStep = stepId === undefined ? sql`` : sql`AND step_id = ${stepId}`;
  const result = await rows(db, sql`SELECT * FROM tasks WHERE run_id = ${runId} AND status = 'open' ${byStep} ORDER BY created_at, id`);
  return result.map(taskFromRow);
}

export async function listTasks(db: Db, query: TaskListQuery): Promise<TaskPage> {
  const where: Query[] = [];
  if (query.tenantId !== undefined) where.push(sql`tenant_id = ${query.tenantId}`);
  if (query.status?.length) where.push(sql`status IN ${inList(query.status)}`);
  if (query.role !== undefined) where.push(sql`role = ${query.role}`);
  if (query.workflow !== undefined) where.push(sql`workflow = ${query.workflow}`);
  if (query.runId !== undefined) where.push(sql`run_id = ${query.runId}`);
  if (query.kind !== undefined) where.push(sql`kind = ${query.kind}`);
  if (query.cursor) where.push(afterCursor(query.cursor));
  const filter = where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
  const fetched = await rows(db, sql`SELECT * FROM tasks ${filter} ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`);
  return toPage(fetched.map(taskFromRow), query.limit);
}

/** Takes an open task's resume lock until `until` unless another holder's lock has not lapsed at `now`. */
export function takeTaskLock(db: Db, id: string, owner: string, until: number, now: number): Promise<boolean> {
  return changed(
    db,
    sql`UPDATE tasks SET lock_owner = ${owner}, lock_until = ${until}
      WHERE id = ${id} AND status = 'open' AND (lock_until IS NULL OR lock_until < ${now})`,
  );
}

/** Releases the task's resume lock if `owner` still holds it. */
export async function releaseTaskLock(db: Db, id: string, owner: string): Promise<void> {
  await sql`UPDATE tasks SET lock_owner = NULL, lock_until = NULL WHERE id = ${id} AND lock_owner = ${owner}`.execute(db);
}

/** Open tasks in every tenant: how many, and when the oldest was created (from the partial index `tasks_open`). */
export async function openTaskStats(db: Db): Promise<OpenTaskStats> {
  const [row] = await rows(db, sql`SELECT count(*) AS n, min(created_at) AS oldest FROM tasks WHERE status = 'open'`);
  return { open: num(row?.n ?? 0), oldestCreatedAt: numOrNull(row?.oldest) };
}

/** Open `human` tasks whose deadline is past, oldest first (from the partial index `tasks_open`). */
export async function dueTasks(db: Db, now: number, limit: number): Promise<DueTask[]> {
  const result = await rows(
    db,
    sql`SELECT id, run_id, step_id FROM tasks
        WHERE status = 'open' AND kind = 'human' AND due_at IS NOT NULL AND due_at <= ${now}
        ORDER BY created_at LIMIT ${limit}`,
  );
  return result.map((r) => ({ taskId: r.id as string, runId: r.run_id as string, stepId: r.step_id as string }));
}
