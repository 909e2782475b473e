/**
 * Human tasks and run signals as the API and the CLI act on them: list, get, decide, signal.
 * Who may decide is the engine's rule (the task's `role:` among the caller's roles, an
 * assignee, or a supervisor role); which tasks and runs the caller sees is decided here.
 */
import type { TaskDecisionInput } from '../engine/tasks-api.js';
import type { TaskListQuery } from '../store/store.js';
import type { TaskRecord } from '../types.js';
import type { AuditService } from './audit.js';
import { assertRunAccess, assertVisible, tenantFilter, type Caller } from './caller.js';
import { signalReceiptDto, taskDto, type SignalReceiptDto, type TaskDto, type TaskPageDto } from './dto/tasks.js';
import type { ServiceDeps } from './service-deps.js';

export type { TaskDecisionInput };

/** `GET /v1/tasks` filters: the store's task query without the tenant (the caller decides it). */
export type TaskQuery = Omit<TaskListQuery, 'tenantId'>;

export interface DecidedTaskDto {
  task: TaskDto;
  /** An idempotency key returned an earlier, identical decision. */
  replayed: boolean;
}

export interface SignalResultDto {
  receipt: SignalReceiptDto;
  /** The same signal (same payload) had already been received: nothing changed. */
  duplicate: boolean;
}

export class TaskService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
  ) {}

  async list(caller: Caller, query: TaskQuery): Promise<TaskPageDto> {
    const page = await this.deps.engine.listTasks({ ...query, ...tenantFilter(caller) });
    return { items: page.items.map(taskDto), next_cursor: page.nextCursor };
  }

  async get(caller: Caller, id: string): Promise<TaskDto> {
    return taskDto(await this.visible(caller, id));
  }

  /** Decides an open task as the caller; its run resumes. With `idempotencyKey` a repeat returns the decided task. */
  async decide(caller: Caller, id: string, input: TaskDecisionInput, idempotencyKey?: string): Promise<DecidedTaskDto> {
    return this.audit.audited(
      caller,
      'task.decide',
      `task:${id}`,
      async () => {
        if (caller.tenantId !== undefined) await this.visible(caller, id);
        const actor = { name: caller.name, roles: caller.roles };
        const { engine } = this.deps;
        if (idempotencyKey === undefined) return { task: taskDto(await engine.completeTask(id, input, actor)), replayed: false };
        const { task, replayed } = await engine.completeTaskIdempotent(id, input, actor, idempotencyKey);
        return { task: taskDto(task), replayed };
      },
      (decided) => ({ decision: input.decision, run_id: decided.task.run_id, replayed: decided.replayed }),
    );
  }

  /**
   * Delivers signal `name` with `payload` to a run: the step waiting for it resumes. Sending a
   * signal acts on the run, so only a caller that may act on it may (`assertRunAccess`): a
   * forged signal cannot complete another key's run.
   */
  async signal(caller: Caller, runId: string, name: string, payload: unknown): Promise<SignalResultDto> {
    return this.audit.audited(
      caller,
      'run.signal',
      `run:${runId}`,
      async () => {
        assertRunAccess(caller, await this.deps.engine.getRun(runId), 'write');
        const { signal, duplicate } = await this.deps.engine.sendSignal(runId, name, payload);
        return { receipt: signalReceiptDto(signal, duplicate), duplicate };
      },
      (result) => ({ signal: name, duplicate: result.duplicate }),
    );
  }

  private async visible(caller: Caller, id: string): Promise<TaskRecord> {
    const task = await this.deps.engine.getTask(id);
    assertVisible(caller, task.tenantId, `task ${id}`);
    return task;
  }
}
