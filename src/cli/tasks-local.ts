/**
 * `TasksApi` on the project's store: the application's task services (`src/app/tasks.ts`), the
 * same use cases the server's routes call, as the CLI's user with operator access. Reading
 * never creates the store: without one there are no tasks. A decision or a signal only records
 * what happened and makes the waiting step due; a worker (`agentry start worker`, `agentry
 * serve`, or a `run --wait` in progress) continues the run.
 */
import type { Logger } from 'pino';
import type { Caller } from '../app/caller.js';
import type { Config } from '../app/config.js';
import { missingStoreLocation, openLocalServices, type LocalServices } from '../app/local.js';
import type { TaskService } from '../app/tasks.js';
import { AgentryError } from '../lib/errors.js';
import type { SignalReceiptDto, TaskDecisionInput, TaskDto, TaskPageDto, TaskQuery, TasksApi } from './tasks-api.js';

export interface LocalTasksOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Who decides: the CLI's user, with operator access to the store. */
  caller: Caller;
}

export async function openLocalTasksApi(config: Config, options: LocalTasksOptions): Promise<LocalTasksApi> {
  // The engine resumes runs from the specs stored with them: the project is not needed.
  const local = await openLocalServices(config, { logger: options.logger, env: options.env });
  return new LocalTasksApi(config, local, options.caller);
}

export class LocalTasksApi implements TasksApi {
  readonly mode = 'local';
  readonly where: string;

  /** `local` is undefined when the store does not exist (and must not be created). */
  constructor(
    config: Config,
    private readonly local: LocalServices | undefined,
    private readonly caller: Caller,
  ) {
    this.where = local?.where ?? missingStoreLocation(config);
  }

  async list(query: TaskQuery): Promise<TaskPageDto> {
    if (!this.local) return { items: [], next_cursor: null };
    return this.local.services.tasks.list(this.caller, query);
  }

  get(id: string): Promise<TaskDto> {
    return this.onTasks(`task ${id}`, (tasks) => tasks.get(this.caller, id));
  }

  async complete(id: string, input: TaskDecisionInput): Promise<TaskDto> {
    return (await this.onTasks(`task ${id}`, (tasks) => tasks.decide(this.caller, id, input))).task;
  }

  async signal(runId: string, name: string, payload: unknown): Promise<SignalReceiptDto> {
    return (await this.onTasks(`run ${runId}`, (tasks) => tasks.signal(this.caller, runId, name, payload))).receipt;
  }

  async close(): Promise<void> {
    await this.local?.close();
  }

  /** Calls `fn` on the task services; without a store, `what` is `not_found`, saying where it was looked for. */
  private onTasks<T>(what: string, fn: (tasks: TaskService) => Promise<T>): Promise<T> {
    if (!this.local) return Promise.reject(new AgentryError('not_found', `${what} not found: there is no store at ${this.where}`));
    return fn(this.local.services.tasks);
  }
}
