/**
 * `client.runs`: start (with an automatic `Idempotency-Key`, see transport.ts), list (every page),
 * get, cancel, retry, a step's attempts, journal and items, events (a page, every event, or
 * followed live over SSE with `Last-Event-ID` resume), the changes of every run the key may list
 * (`changes`, over SSE with the same resume), signals, and `wait` for the end of a run.
 */
import type { Client } from 'openapi-fetch';
import { ok, withResponse } from './call.js';
import { AgentryWaitTimeoutError } from './errors.js';
import type { paths } from './openapi.js';
import { paged, type Paged } from './pages.js';
import { followResumable } from './sse.js';
import type { Transport } from './transport.js';
import {
  TERMINAL_EVENT_TYPES,
  TERMINAL_RUN_STATUSES,
  type QueryOf,
  type ResponseOf,
  type RetriedRun,
  type Run,
  type RunDetail,
  type RunChange,
  type RunEvent,
  type RunPage,
} from './types.js';

export interface StartRunOptions {
  /** The run's input (validated against the workflow's input schema); default `{}`. */
  input?: unknown;
  priority?: number;
  /** Block until the run ends, at most this long (ms; the server caps it, default 120 s): `ended` says whether it did. */
  waitMs?: number;
  /** Your own key (1–256 characters); default: one made for this call and reused by its retries. */
  idempotencyKey?: string;
  /** Labels of the run (`GET /v1/runs?label=k:v` finds it). */
  metadata?: Record<string, string>;
  /** Settings of steps the workflow marks `overridable`, e.g. `{ steps: { fetch: { timeout: '30s' } } }`. */
  overrides?: StartBody['overrides'];
  /** When the run times out: a duration (`'10m'`) or an ISO time. */
  deadline?: string;
  signal?: AbortSignal;
}

type StartBody = NonNullable<paths['/v1/workflows/{name}/runs']['post']['requestBody']>['content']['application/json'];

/** What a start sends besides the input. */
function startFields(options: StartRunOptions): Omit<StartBody, 'input'> {
  return {
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
  };
}

export interface StartedRun {
  run: Run;
  /** The server returned the run an earlier request with the same `Idempotency-Key` started. */
  replayed: boolean;
  /** With `waitMs`: whether the run had ended when the answer came. */
  ended: boolean;
}

export type ListRunsQuery = Omit<QueryOf<'listRuns'>, 'status' | 'cursor'> & {
  /** Statuses, as a list or comma-separated. */
  status?: string | readonly string[];
  /** Start from this page (a `next_cursor`). */
  cursor?: string;
};

export interface FollowOptions {
  /** Start after this event seq (default 0: from the first event). */
  after?: number;
  signal?: AbortSignal;
  /** Give up after this many reconnects in a row that brought no new event (default 10). */
  maxReconnects?: number;
  /** Pause before a reconnect (default 500 ms). */
  reconnectDelayMs?: number;
}

export interface ChangeOptions {
  /** Start after this position (the `id` of a change seen before); default: from now. */
  after?: string;
  /** Only the runs of this workflow. */
  workflow?: string;
  signal?: AbortSignal;
  /** Give up after this many reconnects in a row that brought no change (default 10). */
  maxReconnects?: number;
  /** Pause before a reconnect (default 500 ms). */
  reconnectDelayMs?: number;
}

export interface WaitOptions {
  /** Give up after this long: `AgentryWaitTimeoutError` with the run as it is then. Default: wait as long as it takes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

export class Runs {
  constructor(
    private readonly api: Client<paths>,
    private readonly transport: Transport,
  ) {}

  /** Starts a run of `workflow`. Retried on a lost answer with the same `Idempotency-Key`: one run, whatever happens to the connection. */
  async start(workflow: string, options: StartRunOptions = {}): Promise<StartedRun> {
    const { data, response } = await withResponse(
      this.api.POST('/v1/workflows/{name}/runs', {
        params: {
          path: { name: workflow },
          ...(options.waitMs === undefined ? {} : { query: { wait: `${Math.max(0, Math.round(options.waitMs))}ms` } }),
          ...(options.idempotencyKey === undefined ? {} : { header: { 'idempotency-key': options.idempotencyKey } }),
        },
        body: { input: options.input ?? {}, ...startFields(options) },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    return { run: data, replayed: response.headers.get('idempotent-replayed') === 'true', ended: response.status === 200 };
  }

  /** Starts an ad-hoc run of a workflow spec given inline (YAML text or an object; the key needs `specs:write`). Retried like `start`. */
  async startAdhoc(spec: string | Record<string, unknown>, options: StartRunOptions = {}): Promise<StartedRun> {
    const { data, response } = await withResponse(
      this.api.POST('/v1/runs', {
        params: {
          ...(options.waitMs === undefined ? {} : { query: { wait: `${Math.max(0, Math.round(options.waitMs))}ms` } }),
          ...(options.idempotencyKey === undefined ? {} : { header: { 'idempotency-key': options.idempotencyKey } }),
        },
        body: { spec, input: options.input ?? {}, ...startFields(options) },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    return { run: data, replayed: response.headers.get('idempotent-replayed') === 'true', ended: response.status === 200 };
  }

  /** Every run matching `query`, newest first, across pages. */
  list(query: ListRunsQuery = {}): Paged<Run> {
    const { cursor, ...rest } = query;
    return paged((next) => this.page({ ...rest, ...(next === undefined ? {} : { cursor: next }) }), cursor);
  }

  /** One page of runs (`next_cursor` names the next). */
  page(query: ListRunsQuery = {}): Promise<RunPage> {
    const { status, ...rest } = query;
    const statusText = typeof status === 'string' ? status : status?.join(',');
    return ok(this.api.GET('/v1/runs', { params: { query: { ...rest, ...(statusText ? { status: statusText } : {}) } } }));
  }

  get(id: string): Promise<RunDetail> {
    return ok(this.api.GET('/v1/runs/{id}', { params: { path: { id } } }));
  }

  /** What differs from run `a` to run `b`, step by step, as JSON Pointer paths (at most `limit` differences). */
  diff(a: string, b: string, query: QueryOf<'diffRuns'> = {}): Promise<ResponseOf<'diffRuns'>> {
    return ok(this.api.GET('/v1/runs/{id}/diff/{other}', { params: { path: { id: a, other: b }, query } }));
  }

  cancel(id: string, reason?: string): Promise<Run> {
    return ok(this.api.POST('/v1/runs/{id}/cancel', { params: { path: { id } }, body: reason === undefined ? {} : { reason } }));
  }

  /** A new run from the failed step, or with `fromStep` from that step (any ended run). */
  retry(id: string, options: { fromStep?: string } = {}): Promise<RetriedRun> {
    return ok(this.api.POST('/v1/runs/{id}/retry', { params: { path: { id } }, body: options.fromStep === undefined ? {} : { from_step: options.fromStep } }));
  }

  /** A step's attempts across the run and the runs it re-ran; `diff` (1-based positions) adds what changed. */
  attempts(id: string, step: string, diff?: readonly [number, number]): Promise<ResponseOf<'listStepAttempts'>> {
    return ok(
      this.api.GET('/v1/runs/{id}/steps/{step}/attempts', {
        params: { path: { id, step }, ...(diff === undefined ? {} : { query: { diff: `${diff[0]},${diff[1]}` } }) },
      }),
    );
  }

  /** A page of an agent step's turns. */
  journal(id: string, step: string, query: QueryOf<'getStepJournal'> = {}): Promise<ResponseOf<'getStepJournal'>> {
    return ok(this.api.GET('/v1/runs/{id}/steps/{step}/journal', { params: { path: { id, step }, query } }));
  }

  /** The files the run's steps wrote (name, size, sha256, content type, step). */
  artifacts(id: string): Promise<ResponseOf<'listRunArtifacts'>> {
    return ok(this.api.GET('/v1/runs/{id}/artifacts', { params: { path: { id } } }));
  }

  /** One artifact's bytes, with the content type it was stored with. */
  async artifact(id: string, name: string): Promise<{ content: Uint8Array; contentType: string }> {
    // The name is a path (`out/report.md`): each segment encoded, its slashes kept (openapi-fetch
    // leaves a `{*}` parameter unfilled).
    const path = (template: string): string =>
      template.replace('{id}', encodeURIComponent(id)).replace('{*}', name.split('/').map(encodeURIComponent).join('/'));
    const { data, response } = await withResponse(
      this.api.GET('/v1/runs/{id}/artifacts/{*}', { params: { path: { id, '*': name } }, pathSerializer: path, parseAs: 'arrayBuffer' }),
    );
    return { content: new Uint8Array(data), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** A page of a `for_each` step's items. */
  items(id: string, step: string, query: QueryOf<'listStepItems'> = {}): Promise<ResponseOf<'listStepItems'>> {
    return ok(this.api.GET('/v1/runs/{id}/steps/{step}/items', { params: { path: { id, step }, query } }));
  }

  /** One page of the run's events after `after`. */
  async events(id: string, query: QueryOf<'listRunEvents'> = {}): Promise<ResponseOf<'listRunEvents'>> {
    // The route also speaks text/event-stream (`follow`); asked for JSON, it answers a page.
    return (await ok(this.api.GET('/v1/runs/{id}/events', { params: { path: { id }, query } }))) as ResponseOf<'listRunEvents'>;
  }

  /** Every event of the run stored so far after `after`, in order (as many pages as that takes). */
  async allEvents(id: string, after = 0): Promise<RunEvent[]> {
    const all: RunEvent[] = [];
    for (let from = after; ;) {
      const page = await this.events(id, { after: from, limit: 1000 });
      all.push(...page.items);
      if (page.items.length < 1000) return all;
      from = page.next_after;
    }
  }

  /** Sends a signal (its JSON payload) to the run's `wait` steps. */
  signal(id: string, name: string, payload: unknown): Promise<ResponseOf<'sendSignal'>> {
    return ok(this.api.POST('/v1/runs/{id}/signals/{name}', { params: { path: { id, name } }, body: payload ?? null }));
  }

  /**
   * The run's events as they happen, over SSE, until its terminal event. A dropped connection is
   * resumed with `Last-Event-ID` (the last seq seen), so every event comes exactly once, in order.
   */
  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<RunEvent> {
    let last = options.after ?? 0;
    yield* followResumable(this.transport, {
      path: `/v1/runs/${enc(id)}/events`,
      lastId: () => String(last),
      read: (data) => {
        const event = JSON.parse(data) as RunEvent;
        if (event.seq <= last) return { item: event, seen: true };
        last = event.seq;
        return { item: event, last: TERMINAL_EVENT_TYPES.has(event.type) };
      },
      // Ended without the terminal event: the run had ended before (a resume after its last
      // event), or the server is closing and the stream is to be resumed.
      ended: async () => {
        const run = await this.get(id);
        return TERMINAL_RUN_STATUSES.has(run.status) && run.last_event_seq <= last;
      },
      what: `the event stream of run ${id}`,
      signal: options.signal,
      maxReconnects: options.maxReconnects ?? 10,
      reconnectDelayMs: options.reconnectDelayMs ?? 500,
    });
  }

  /**
   * The changes of the runs the key may list (`GET /v1/runs/stream`), each with the run as it
   * is, until `signal` aborts. A dropped connection is resumed with `Last-Event-ID` (the last
   * change's id); a change near that point may come twice, with the same run state.
   */
  async *changes(options: ChangeOptions = {}): AsyncGenerator<RunChange> {
    let last = options.after;
    yield* followResumable(this.transport, {
      path: options.workflow === undefined ? '/v1/runs/stream' : `/v1/runs/stream?workflow=${enc(options.workflow)}`,
      lastId: () => last,
      read: (data) => {
        const change = JSON.parse(data) as RunChange;
        last = change.id;
        return { item: change };
      },
      // The stream ended: the server is closing; resume on a new connection.
      ended: () => Promise.resolve(false),
      what: 'the run stream',
      signal: options.signal,
      maxReconnects: options.maxReconnects ?? 10,
      reconnectDelayMs: options.reconnectDelayMs ?? 500,
    });
  }

  /** Resolves with the run once it has ended (following its events); `AgentryWaitTimeoutError` after `timeoutMs`. */
  async wait(id: string, options: WaitOptions = {}): Promise<RunDetail> {
    const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    const signal = timeout && options.signal ? AbortSignal.any([timeout, options.signal]) : (timeout ?? options.signal);
    try {
      for await (const _event of this.follow(id, signal ? { signal } : {})) {
        // Only the end matters.
      }
    } catch (error) {
      if (!timeout?.aborted || options.signal?.aborted) throw error;
      const run = await this.get(id);
      if (TERMINAL_RUN_STATUSES.has(run.status)) return run;
      throw new AgentryWaitTimeoutError(run, options.timeoutMs!);
    }
    return this.get(id);
  }
}
