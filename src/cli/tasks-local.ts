/**
 * `TasksApi` on the project's store: the engine's task and signal functions, with records
 * turned into the API's DTOs. Reading never creates the store: without one there are no tasks.
 * A decision or a signal only records what happened and makes the waiting step due; a worker
 * (`agentry start worker`, `agentry serve`, or a `run --wait` in progress) continues the run.
 */
import type { Logger } from 'pino';
import { openAgentry, storeExists, type Agentry } from '../app/bootstrap.js';
import type { Config } from '../app/config.js';
import type { Actor, TaskDecisionInput } from '../engine/tasks-api.js';
import { AgentryError } from '../lib/errors.js';
import { signalReceiptDto, taskDto } from '../server/task-dto.js';
import type { SignalReceiptDto, TaskDto, TaskPageDto, TaskQuery, TasksApi } from './tasks-api.js';

export interface LocalTasksOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Who decides: the CLI's user, with operator access to the store. */
  actor: Actor;
}

export async function openLocalTasksApi(config: Config, options: LocalTasksOptions): Promise<LocalTasksApi> {
  if (!storeExists(config)) return new LocalTasksApi(config, undefined, options.actor);
  // The engine resumes runs from the specs stored with them: the project is not needed.
  const app = await openAgentry(config, { logger: options.logger, env: options.env, withoutProject: true });
  return new LocalTasksApi(config, app, options.actor);
}

export class LocalTasksApi implements TasksApi {
  readonly mode = 'local';
  readonly where: string;

  /** `app` is undefined when the store does not exist (and must not be created). */
  constructor(
    config: Config,
    private readonly app: Agentry | undefined,
    private readonly actor: Actor,
  ) {
    this.where = app ? app.store.location : `${config.database.file} (no store there yet)`;
  }

  private opened(what: string): Agentry {
    if (!this.app) throw new AgentryError('not_found', `${what} not found: there is no store at ${this.where}`);
    return this.app;
  }

  async list(query: TaskQuery): Promise<TaskPageDto> {
    if (!this.app) return { items: [], next_cursor: null };
    const page = await this.app.engine.listTasks({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.role !== undefined ? { role: query.role } : {}),
      ...(query.workflow !== undefined ? { workflow: query.workflow } : {}),
      ...(query.runId !== undefined ? { runId: query.runId } : {}),
      ...(query.kind !== undefined ? { kind: query.kind } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    return { items: page.items.map(taskDto), next_cursor: page.nextCursor };
  }

  async get(id: string): Promise<TaskDto> {
    return taskDto(await this.opened(`task ${id}`).engine.getTask(id));
  }

  async complete(id: string, input: TaskDecisionInput): Promise<TaskDto> {
    return taskDto(await this.opened(`task ${id}`).engine.completeTask(id, input, this.actor));
  }

  async signal(runId: string, name: string, payload: unknown): Promise<SignalReceiptDto> {
    const { signal, duplicate } = await this.opened(`run ${runId}`).engine.sendSignal(runId, name, payload);
    return signalReceiptDto(signal, duplicate);
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}
