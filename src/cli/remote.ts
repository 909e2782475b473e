/**
 * The CLI's remote mode (`AGENTRY_URL`, with `AGENTRY_API_KEY`) over the typed client
 * `agentry/client` (`src/client/`, no second HTTP client): start runs (optionally waiting, with an
 * automatic Idempotency-Key so a retried start is one run), list/get/cancel/retry runs, page or
 * follow a run's events over SSE (resumed with `Last-Event-ID`), and any other route by path.
 *
 *   const remote = remoteFromEnv(process.env);
 *   if (remote) for await (const event of remote.followEvents(runId)) print(event);
 *
 * Errors from the server come back as `AgentryError`s with the server's `code` and message.
 */
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import {
  AgentryApiError,
  AgentryConnectionError,
  AgentryWaitTimeoutError,
  createAgentryClient,
  type AgentryClient,
  type AgentryClientOptions,
  type FetchLike,
} from '../client/index.js';
import { AgentryError, isErrorCode } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';
import type { StepJournalDto } from '../app/dto/journal.js';
import type { ArtifactListDto } from '../app/dto/artifacts.js';
import type { RunDiffDto } from '../app/dto/run-diff.js';
import type { AttemptHistoryDto, EventDto, RetriedRunDto, RunDetailDto, RunDto, RunPageDto } from '../app/dto/runs.js';
import type { RunOverrides, RunStatus } from '../types.js';

export type { AttemptHistoryDto, EventDto, RunDetailDto, RunDto };

export interface RemoteOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7700`. */
  url: string;
  apiKey?: string;
  /** The connection pool to use (default: undici's global one); close it to drop idle connections at once. */
  dispatcher?: Dispatcher;
  /** Act in this tenant: sent as `?tenant=` with every request (the server lets system admins only name another than their own). */
  tenant?: string;
  /** Aborts every request of this client (a command's overall deadline); the request then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface StartOptions extends RunStartFields {
  /** Wait until the run ends, at most this long (the server caps each wait at 120 s; longer waits follow the events). */
  waitMs?: number;
  idempotencyKey?: string;
}

/** What a start sends besides the input (`POST /v1/workflows/{name}/runs`, `POST /v1/runs`). */
export interface RunStartFields {
  priority?: number;
  metadata?: Record<string, string>;
  overrides?: RunOverrides;
  deadline?: string;
}

/** The start fields given, as the client takes them. */
function startFields(options: RunStartFields): RunStartFields {
  return {
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
  };
}

export interface ListQuery {
  status?: RunStatus[];
  workflow?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Labels every run listed has (`?label=k:v`, repeated). */
  labels?: ReadonlyArray<readonly [string, string]>;
  /** Only runs whose id contains this text (`?q=`). */
  search?: string;
  limit?: number;
  cursor?: string;
}

export interface FollowOptions {
  /** Start after this seq (default 0: from the first event). */
  after?: number;
  signal?: AbortSignal;
  /** Give up after this many reconnects in a row without a new event (default 10). */
  maxReconnects?: number;
  reconnectDelayMs?: number;
}

const SERVER_WAIT_CAP_MS = 120_000;

/** The methods of the API's routes. */
type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The client for `AGENTRY_URL` / `AGENTRY_API_KEY`, or undefined when `AGENTRY_URL` is not set. */
export function remoteFromEnv(env: NodeJS.ProcessEnv): RemoteClient | undefined {
  const url = env.AGENTRY_URL?.trim();
  if (!url) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new AgentryError('invalid_request', `AGENTRY_URL must be an http(s) URL, got '${url}'`);
  const apiKey = env.AGENTRY_API_KEY?.trim();
  return new RemoteClient({ url, ...(apiKey ? { apiKey } : {}) });
}

/**
 * The CLI's client of a server: the typed client (`agentry/client`, `src/client/`) with the
 * CLI's conventions on top — the server's problems (and an unreachable server) as
 * `AgentryError`s with the server's code, so commands exit and print as they do in local mode,
 * and the API's DTOs typed as the app layer declares them (the same JSON).
 */
export class RemoteClient {
  readonly url: string;
  /** For API calls: retried where safe (transport.ts). */
  private readonly client: AgentryClient;
  /** For probes and streams: answered as they are, once. */
  private readonly once: AgentryClient;

  constructor(options: RemoteOptions) {
    const { dispatcher } = options;
    // The connection pool a caller chose (smoke's CA bundle, the demo's own pool) through undici's fetch.
    const fetch: FetchLike | undefined = dispatcher ? (input, init) => undiciFetch(input, { ...(init as object), dispatcher }) : undefined;
    const common: AgentryClientOptions = {
      url: options.url,
      apiKey: options.apiKey,
      tenant: options.tenant,
      signal: options.signal,
      fetch,
      // The CLI names the server it talks to; its version is checked by `agentry smoke` and `doctor`, not on every command.
      checkServerVersion: false,
      retryDelayMs: 200,
    };
    this.client = createAgentryClient(common);
    this.once = createAgentryClient({ ...common, retries: 0 });
    this.url = this.client.url;
  }

  /** A request's answer whatever its status; an unreachable server as `not_ready` (or the abort's reason). */
  private async send(client: AgentryClient, method: HttpMethod, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.cli(() =>
      client.fetch(path, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  }

  /** A call of the typed client (`client.tasks.get(id)`, …) with its errors as the CLI's `AgentryError`s. */
  call<T>(fn: (client: AgentryClient) => Promise<T>): Promise<T> {
    return this.cli(() => fn(this.client));
  }

  /** Runs a call of the typed client with its errors as the CLI's `AgentryError`s. */
  private async cli<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.cliError(error);
    }
  }

  private cliError(error: unknown): unknown {
    if (error instanceof AgentryApiError) return problemError(error.status, error.problem);
    if (error instanceof AgentryConnectionError) {
      return new AgentryError('not_ready', `cannot reach the Agentry server at ${maskSecrets(this.url)}: ${error.reason}`, { retryable: true, cause: error });
    }
    return error;
  }

  /** A GET answered with any status (probes, `/metrics`): its status, content type and body text. */
  async fetchText(path: string, accept = 'application/json'): Promise<{ status: number; contentType: string; text: string }> {
    const response = await this.send(this.once, 'GET', path, undefined, { accept });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  /** A GET whose body is read as it arrives (`accept` says what it is, e.g. JSON Lines). */
  async stream(path: string, accept: string): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.send(this.once, 'GET', path, undefined, { accept });
    if (!response.ok) throw await problemOf(response);
    if (!response.body) throw new AgentryError('internal', `GET ${path} answered without a body`);
    return response.body;
  }

  /** One JSON request to the API: the response body, or the server's problem as an AgentryError. */
  async request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const response = await this.send(this.client, method, path, body);
    if (!response.ok) throw await problemOf(response);
    return (await response.json()) as T;
  }

  /** Starts a run; with `waitMs`, resolves once it ended (or the wait passed) with the run as it is then. */
  async startRun(workflow: string, input: unknown, options: StartOptions = {}): Promise<{ run: RunDto; replayed: boolean }> {
    const { run, replayed, ended } = await this.cli(() =>
      this.client.runs.start(workflow, {
        input,
        ...startFields(options),
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
        ...(options.waitMs === undefined ? {} : { waitMs: Math.min(options.waitMs, SERVER_WAIT_CAP_MS) }),
      }),
    );
    if (options.waitMs !== undefined && !ended && options.waitMs > SERVER_WAIT_CAP_MS) {
      return { run: await this.waitForRun(run.id, options.waitMs - SERVER_WAIT_CAP_MS), replayed };
    }
    return { run, replayed };
  }

  /** Starts an ad-hoc run of a workflow spec given inline (`POST /v1/runs`; the key needs `specs:write`). */
  async startAdhocRun(spec: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    return (await this.cli(() => this.client.runs.startAdhoc(spec, { input, ...startFields(options) }))).run;
  }

  /** Follows the run's events until it ends or `timeoutMs` passes; resolves with the run as it is then. */
  async waitForRun(id: string, timeoutMs: number): Promise<RunDto> {
    try {
      return await this.client.waitForRun(id, { timeoutMs });
    } catch (error) {
      if (error instanceof AgentryWaitTimeoutError) return error.run as RunDto;
      throw this.cliError(error);
    }
  }

  async listRuns(query: ListQuery = {}): Promise<RunPageDto> {
    const page = await this.cli(() =>
      this.client.runs.page({
        ...(query.status?.length ? { status: query.status } : {}),
        ...(query.workflow === undefined ? {} : { workflow: query.workflow }),
        ...(query.createdAfter ? { created_after: query.createdAfter.toISOString() } : {}),
        ...(query.createdBefore ? { created_before: query.createdBefore.toISOString() } : {}),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        ...(query.search === undefined ? {} : { q: query.search }),
        ...(query.labels?.length ? { label: query.labels.map(([key, value]) => `${key}:${value}`) } : {}),
      }),
    );
    return page;
  }

  async getRun(id: string): Promise<RunDetailDto> {
    return await this.cli<RunDetailDto>(() => this.client.runs.get(id));
  }

  async cancelRun(id: string, reason?: string): Promise<RunDto> {
    return await this.cli<RunDto>(() => this.client.runs.cancel(id, reason));
  }

  /** Retries a run from its failed step, or with `fromStep` re-runs it from that step. */
  async retryRun(id: string, options: { fromStep?: string } = {}): Promise<RetriedRunDto> {
    return await this.cli<RetriedRunDto>(() => this.client.runs.retry(id, options));
  }

  /** What differs from run `a` to run `b` (`GET /v1/runs/{a}/diff/{b}`), at most `limit` differences. */
  async diffRuns(a: string, b: string, limit: number): Promise<RunDiffDto> {
    return await this.cli<RunDiffDto>(() => this.client.runs.diff(a, b, { limit }));
  }

  /** A step's attempts across the run and the runs it re-ran; with `diff` (1-based positions), what changed. */
  async stepAttempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    return await this.cli<AttemptHistoryDto>(() => this.client.runs.attempts(id, step, diff));
  }

  /** A page of an agent step's turns (`GET /v1/runs/{id}/steps/{step}/journal`). */
  async stepJournal(id: string, step: string, page: { after: number; limit: number; maxChars: number }): Promise<StepJournalDto> {
    const query = { after: page.after, limit: page.limit, max_chars: page.maxChars };
    return await this.cli<StepJournalDto>(() => this.client.runs.journal(id, step, query));
  }

  /** The files a run's steps wrote (`GET /v1/runs/{id}/artifacts`). */
  async runArtifacts(id: string): Promise<ArtifactListDto> {
    return await this.cli<ArtifactListDto>(() => this.client.runs.artifacts(id));
  }

  /** One artifact's bytes (`GET /v1/runs/{id}/artifacts/{name}`). */
  async runArtifact(id: string, name: string): Promise<{ content: Uint8Array; contentType: string }> {
    return await this.cli(() => this.client.runs.artifact(id, name));
  }

  /** One page of events after `after`. */
  async events(id: string, after = 0, limit = 100): Promise<{ items: EventDto[]; next_after: number }> {
    return await this.cli<{ items: EventDto[]; next_after: number }>(() => this.client.runs.events(id, { after, limit }));
  }

  /**
   * The run's events as they happen, over SSE, until its terminal event. A dropped connection is
   * resumed with `Last-Event-ID`, so every event is yielded exactly once, in order.
   */
  async *followEvents(id: string, options: FollowOptions = {}): AsyncGenerator<EventDto> {
    try {
      for await (const event of this.client.runs.follow(id, options)) yield event;
    } catch (error) {
      throw this.cliError(error);
    }
  }
}

/** Whether `error` is a request that never reached the server (refused, reset, timed out, no such host): it is not running there. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof AgentryError && error.cause instanceof AgentryConnectionError;
}

function problemError(status: number, body: Record<string, unknown>): AgentryError {
  const code = isErrorCode(body.code) ? body.code : status >= 500 ? 'internal' : 'invalid_request';
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
  const requestId = typeof body.request_id === 'string' ? ` (request_id ${body.request_id})` : '';
  return new AgentryError(code, `${detail}${requestId}`, { details: body });
}

async function problemOf(response: Response): Promise<AgentryError> {
  const text = await response.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { detail: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
  return problemError(response.status, body);
}
