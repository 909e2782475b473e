/**
 * What `agentry tasks …` and `agentry signal` need, behind one interface with two
 * implementations, like the run commands (`runs-api.ts`): `LocalTasksApi` on the project's
 * store (`tasks-local.ts`) and `RemoteTasksApi` over the HTTP API when `AGENTRY_URL` is set
 * (`commands/tasks.ts` picks one).
 * Both speak the API's DTOs (`src/app/dto/tasks.ts`), so `--json` equals what the API returns.
 */
import type { SignalReceiptDto, TaskDto, TaskPageDto } from '../app/dto/tasks.js';
import type { TaskDecisionInput, TaskQuery } from '../app/tasks.js';
import { RemoteClient } from './remote.js';

export type { SignalReceiptDto, TaskDecisionInput, TaskDto, TaskPageDto, TaskQuery };

export interface TasksApi {
  /** `server` when talking to `AGENTRY_URL`, `local` on the project's store. */
  readonly mode: 'server' | 'local';
  /** Where the tasks are, for messages: the server URL or the store location. */
  readonly where: string;
  list(query: TaskQuery): Promise<TaskPageDto>;
  get(id: string): Promise<TaskDto>;
  /** Decides an open task; its run resumes. */
  complete(id: string, input: TaskDecisionInput): Promise<TaskDto>;
  signal(runId: string, name: string, payload: unknown): Promise<SignalReceiptDto>;
  close(): Promise<void>;
}

/** The tasks routes of a server. Errors are the server's (as `AgentryError`s with its codes). */
export class RemoteTasksApi implements TasksApi {
  readonly mode = 'server';
  readonly where: string;

  private readonly client: RemoteClient;

  /** `tenant`: act in it (`?tenant=`, for system admins). */
  constructor(url: string, apiKey: string | undefined, tenant?: string) {
    this.client = new RemoteClient({ url, ...(apiKey === undefined ? {} : { apiKey }), ...(tenant === undefined ? {} : { tenant }) });
    this.where = this.client.url;
  }

  list(query: TaskQuery): Promise<TaskPageDto> {
    return this.client.call((c) =>
      c.tasks.page({
        limit: query.limit,
        ...(query.status?.length ? { status: query.status } : {}),
        ...(query.role === undefined ? {} : { role: query.role }),
        ...(query.workflow === undefined ? {} : { workflow: query.workflow }),
        ...(query.runId === undefined ? {} : { run_id: query.runId }),
        ...(query.kind === undefined ? {} : { kind: query.kind }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      }),
    );
  }

  get(id: string): Promise<TaskDto> {
    return this.client.call((c) => c.tasks.get(id));
  }

  complete(id: string, input: TaskDecisionInput): Promise<TaskDto> {
    return this.client.call((c) => c.tasks.complete(id, input));
  }

  signal(runId: string, name: string, payload: unknown): Promise<SignalReceiptDto> {
    // The body is the payload itself; JSON `null` is a payload too.
    return this.client.call((c) => c.runs.signal(runId, name, payload ?? null));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
