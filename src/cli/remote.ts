/**
 * A small client of the HTTP API, used by the CLI when `AGENTRY_URL` is set (with
 * `AGENTRY_API_KEY`): start runs (optionally waiting), list/get/cancel/retry runs, and page or
 * follow a run's events over SSE, resuming from `Last-Event-ID` when the connection drops.
 *
 *   const remote = remoteFromEnv(process.env);
 *   if (remote) for await (const event of remote.followEvents(runId)) print(event);
 *
 * Errors from the server come back as `AgentryError`s with the server's `code` and message.
 */
import { fetch, type Dispatcher, type Response } from 'undici';
import { AgentryError, isErrorCode } from '../lib/errors.js';
import { pause } from '../lib/sleep.js';
import { maskSecrets } from '../lib/redact.js';
import type { StepJournalDto } from '../app/dto/journal.js';
import type { RunDiffDto } from '../app/dto/run-diff.js';
import type { AttemptHistoryDto, EventDto, RetriedRunDto, RunDetailDto, RunDto, RunPageDto } from '../app/dto/runs.js';
import { TERMINAL_EVENT_TYPES, TERMINAL_RUN_STATUSES, type RunOverrides, type RunStatus } from '../types.js';

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

/** The start fields given, as the request body has them. */
function startBody(input: unknown, options: RunStartFields): Record<string, unknown> {
  return {
    input,
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

export class RemoteClient {
  readonly url: string;

  constructor(private readonly options: RemoteOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  /** The URL of `path`, with `?tenant=` when the client acts in a named tenant. */
  private urlOf(path: string): string {
    const tenant = this.options.tenant;
    if (tenant === undefined) return `${this.url}${path}`;
    return `${this.url}${path}${path.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(tenant)}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}), ...extra };
  }

  private async call<T>(
    method: HttpMethod,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<{ status: number; body: T; response: Response }> {
    const response = await this.fetchOk(method, path, body, extra, signal);
    return { status: response.status, body: (await response.json()) as T, response };
  }

  /** The response of a request that succeeded; the server's problem (or that it cannot be reached) as an AgentryError. */
  private async fetchOk(method: HttpMethod, path: string, body?: unknown, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const response = await this.send(method, path, body, extra, signal);
    if (!response.ok) throw await problemError(response);
    return response;
  }

  /** The response, whatever its status; only a server that cannot be reached is an error (or the abort's reason). */
  private async send(method: HttpMethod, path: string, body?: unknown, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const abort = this.signalOf(signal);
    try {
      return await fetch(this.urlOf(path), {
        method,
        headers: this.headers(body === undefined ? extra : { 'content-type': 'application/json', ...extra }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(abort ? { signal: abort } : {}),
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      });
    } catch (error) {
      if (abort?.aborted) throw abort.reason;
      throw new AgentryError('not_ready', `cannot reach the Agentry server at ${maskSecrets(this.url)}: ${causeMessage(error)}`, {
        retryable: true,
        cause: error,
      });
    }
  }

  /** The client's signal combined with a request's own. */
  private signalOf(signal: AbortSignal | undefined): AbortSignal | undefined {
    const own = this.options.signal;
    if (own === undefined || signal === undefined) return own ?? signal;
    return AbortSignal.any([own, signal]);
  }

  /** A GET answered with any status (probes, `/metrics`): its status, content type and body text. */
  async fetchText(path: string, accept = 'application/json'): Promise<{ status: number; contentType: string; text: string }> {
    const response = await this.send('GET', path, undefined, { accept });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  /** A GET whose body is read as it arrives (`accept` says what it is, e.g. JSON Lines). */
  async stream(path: string, accept: string): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.fetchOk('GET', path, undefined, { accept });
    if (!response.body) throw new AgentryError('internal', `GET ${path} answered without a body`);
    return response.body;
  }

  /** One JSON request to the API: the response body, or the server's problem as an AgentryError. */
  async request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    return (await this.call<T>(method, path, body)).body;
  }

  /** Starts a run; with `waitMs`, resolves once it ended (or the wait passed) with the run as it is then. */
  async startRun(workflow: string, input: unknown, options: StartOptions = {}): Promise<{ run: RunDto; replayed: boolean }> {
    const wait = options.waitMs === undefined ? '' : `?wait=${Math.min(options.waitMs, SERVER_WAIT_CAP_MS)}ms`;
    const body = startBody(input, options);
    const headers: Record<string, string> = options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey };
    const { status, body: run, response } = await this.call<RunDto>('POST', `/v1/workflows/${encodeURIComponent(workflow)}/runs${wait}`, body, headers);
    const replayed = response.headers.get('idempotent-replayed') === 'true';
    if (options.waitMs !== undefined && status === 202 && options.waitMs > SERVER_WAIT_CAP_MS) {
      return { run: await this.waitForRun(run.id, options.waitMs - SERVER_WAIT_CAP_MS), replayed };
    }
    return { run, replayed };
  }

  /** Starts an ad-hoc run of a workflow spec given inline (`POST /v1/runs`; the key needs `specs:write`). */
  async startAdhocRun(spec: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    return (await this.call<RunDto>('POST', '/v1/runs', { spec, ...startBody(input, options) })).body;
  }

  /** Follows the run's events until it ends or `timeoutMs` passes; resolves with the run as it is then. */
  async waitForRun(id: string, timeoutMs: number): Promise<RunDto> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for await (const _event of this.followEvents(id, { signal })) {
        // Only the end matters here.
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    return this.getRun(id);
  }

  async listRuns(query: ListQuery = {}): Promise<RunPageDto> {
    const params = new URLSearchParams();
    if (query.status?.length) params.set('status', query.status.join(','));
    if (query.workflow !== undefined) params.set('workflow', query.workflow);
    if (query.createdAfter) params.set('created_after', query.createdAfter.toISOString());
    if (query.createdBefore) params.set('created_before', query.createdBefore.toISOString());
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    for (const [key, value] of query.labels ?? []) params.append('label', `${key}:${value}`);
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    return (await this.call<RunPageDto>('GET', `/v1/runs${qs}`)).body;
  }

  async getRun(id: string): Promise<RunDetailDto> {
    return (await this.call<RunDetailDto>('GET', `/v1/runs/${encodeURIComponent(id)}`)).body;
  }

  async cancelRun(id: string, reason?: string): Promise<RunDto> {
    return (await this.call<RunDto>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`, reason === undefined ? {} : { reason })).body;
  }

  /** Retries a run from its failed step, or with `fromStep` re-runs it from that step. */
  async retryRun(id: string, options: { fromStep?: string } = {}): Promise<RetriedRunDto> {
    const body = options.fromStep === undefined ? {} : { from_step: options.fromStep };
    return (await this.call<RetriedRunDto>('POST', `/v1/runs/${encodeURIComponent(id)}/retry`, body)).body;
  }

  /** What differs from run `a` to run `b` (`GET /v1/runs/{a}/diff/{b}`), at most `limit` differences. */
  async diffRuns(a: string, b: string, limit: number): Promise<RunDiffDto> {
    return (await this.call<RunDiffDto>('GET', `/v1/runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}?limit=${limit}`)).body;
  }

  /** A step's attempts across the run and the runs it re-ran; with `diff` (1-based positions), what changed. */
  async stepAttempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    const qs = diff === undefined ? '' : `?diff=${diff[0]},${diff[1]}`;
    return (await this.call<AttemptHistoryDto>('GET', `/v1/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/attempts${qs}`)).body;
  }

  /** A page of an agent step's turns (`GET /v1/runs/{id}/steps/{step}/journal`). */
  async stepJournal(id: string, step: string, page: { after: number; limit: number; maxChars: number }): Promise<StepJournalDto> {
    const qs = `?after=${page.after}&limit=${page.limit}&max_chars=${page.maxChars}`;
    return (await this.call<StepJournalDto>('GET', `/v1/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/journal${qs}`)).body;
  }

  /** One page of events after `after`. */
  async events(id: string, after = 0, limit = 100): Promise<{ items: EventDto[]; next_after: number }> {
    return (await this.call<{ items: EventDto[]; next_after: number }>('GET', `/v1/runs/${encodeURIComponent(id)}/events?after=${after}&limit=${limit}`)).body;
  }

  /**
   * The run's events as they happen, over SSE, until its terminal event. A dropped connection is
   * resumed with `Last-Event-ID`, so every event is yielded exactly once, in order.
   */
  async *followEvents(id: string, options: FollowOptions = {}): AsyncGenerator<EventDto> {
    const { maxReconnects = 10, reconnectDelayMs = 500 } = options;
    const signal = this.signalOf(options.signal);
    let last = options.after ?? 0;
    let failures = 0;
    for (;;) {
      signal?.throwIfAborted();
      let progressed = false;
      try {
        const headers = { accept: 'text/event-stream', 'last-event-id': String(last) };
        const response = await this.send('GET', `/v1/runs/${encodeURIComponent(id)}/events`, undefined, headers, signal);
        if (!response.ok) throw await problemError(response);
        if (!response.body) throw new AgentryError('internal', 'the event stream has no body');
        for await (const event of parseEventStream(response.body)) {
          if (event.seq <= last) continue;
          last = event.seq;
          progressed = true;
          yield event;
          if (TERMINAL_EVENT_TYPES.has(event.type)) return;
        }
        // The stream ended without the terminal event: either the run had already ended (a resume
        // after its last event), or the server is stopping and the stream should be resumed.
        const run = await this.getRun(id);
        if (TERMINAL_RUN_STATUSES.has(run.status) && run.last_event_seq <= last) return;
      } catch (error) {
        if (signal?.aborted || (error instanceof AgentryError && error.status < 500)) throw error;
      }
      failures = progressed ? 0 : failures + 1;
      if (failures > maxReconnects)
        throw new AgentryError('not_ready', `lost the event stream of run ${id} (${maxReconnects} reconnects failed)`, { retryable: true });
      await pause(reconnectDelayMs, signal);
    }
  }
}

/** Parses `text/event-stream` frames into events (comments and frames without data are skipped). */
export async function* parseEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<EventDto> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      const type = /^event:\s*(.*)$/m.exec(frame)?.[1];
      if (data === '') continue;
      if (type === 'error') throw problemFromBody(JSON.parse(data) as Record<string, unknown>, 500);
      yield JSON.parse(data) as EventDto;
    }
  }
}

function problemFromBody(body: Record<string, unknown>, status: number): AgentryError {
  const code = isErrorCode(body.code) ? body.code : status >= 500 ? 'internal' : 'invalid_request';
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
  const requestId = typeof body.request_id === 'string' ? ` (request_id ${body.request_id})` : '';
  return new AgentryError(code, `${detail}${requestId}`, { details: body });
}

async function problemError(response: Response): Promise<AgentryError> {
  const text = await response.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { detail: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
  return problemFromBody(body, response.status);
}

function causeMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
