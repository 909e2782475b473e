/**
 * What `agentry tasks …` and `agentry signal` need, behind one interface with two
 * implementations, like the run commands (`runs-api.ts`): `LocalTasksApi` on the project's
 * store (`tasks-local.ts`) and `RemoteTasksApi` over the HTTP API when `AGENTRY_URL` is set
 * (`commands/tasks.ts` picks one).
 * Both speak the API's DTOs (`src/server/task-dto.ts`), so `--json` equals what the API returns.
 */
import { fetch } from 'undici';
import type { TaskDecisionInput } from '../engine/tasks-api.js';
import { AgentryError, isErrorCode } from '../errors.js';
import type { SignalReceiptDto, TaskDto, TaskPageDto } from '../server/task-dto.js';
import type { TaskKind, TaskStatus } from '../types.js';

export type { SignalReceiptDto, TaskDto, TaskPageDto };

/** `GET /v1/tasks` filters. */
export interface TaskQuery {
  status?: TaskStatus[];
  role?: string;
  workflow?: string;
  runId?: string;
  kind?: TaskKind;
  limit: number;
  cursor?: string;
}

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

  constructor(
    url: string,
    private readonly apiKey: string | undefined,
  ) {
    this.where = url.replace(/\/+$/, '');
  }

  list(query: TaskQuery): Promise<TaskPageDto> {
    const params = new URLSearchParams();
    if (query.status?.length) params.set('status', query.status.join(','));
    if (query.role !== undefined) params.set('role', query.role);
    if (query.workflow !== undefined) params.set('workflow', query.workflow);
    if (query.runId !== undefined) params.set('run_id', query.runId);
    if (query.kind !== undefined) params.set('kind', query.kind);
    params.set('limit', String(query.limit));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    return this.call<TaskPageDto>('GET', `/v1/tasks?${params.toString()}`);
  }

  get(id: string): Promise<TaskDto> {
    return this.call<TaskDto>('GET', `/v1/tasks/${encodeURIComponent(id)}`);
  }

  complete(id: string, input: TaskDecisionInput): Promise<TaskDto> {
    return this.call<TaskDto>('POST', `/v1/tasks/${encodeURIComponent(id)}/complete`, input);
  }

  signal(runId: string, name: string, payload: unknown): Promise<SignalReceiptDto> {
    // The body is the payload itself; JSON `null` is a payload too.
    return this.call<SignalReceiptDto>('POST', `/v1/runs/${encodeURIComponent(runId)}/signals/${encodeURIComponent(name)}`, payload ?? null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response;
    try {
      response = await fetch(`${this.where}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AgentryError('not_ready', `cannot reach the Agentry server at ${this.where}: ${cause?.code ?? cause?.message ?? String(error)}`, { retryable: true, cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const problem = (parsed ?? {}) as { code?: unknown; detail?: unknown; request_id?: unknown };
      const code = isErrorCode(problem.code) ? problem.code : response.status >= 500 ? 'internal' : 'invalid_request';
      const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${response.status}: ${text.slice(0, 200)}`;
      const requestId = typeof problem.request_id === 'string' ? ` (request_id ${problem.request_id})` : '';
      throw new AgentryError(code, `${detail}${requestId}`, { details: parsed });
    }
    return parsed as T;
  }
}
