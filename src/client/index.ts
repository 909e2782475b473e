/**
 * `agentry/client`: a typed client of the Agentry HTTP API, for Node 20+ and browsers (global
 * `fetch`, no Node built-ins). The types are generated from the server's OpenAPI document
 * (`openapi.ts`, `npm run client:types`); on top of openapi-fetch it adds what a generator does
 * not: the API key, retries with backoff (and an automatic `Idempotency-Key` on run starts),
 * problem+json answers as `AgentryApiError`s, cursor iteration, a run's events followed over SSE
 * with `Last-Event-ID` resume, and `waitForRun`.
 *
 * ```ts
 * import { createAgentryClient, AgentryApiError } from 'agentry/client';
 *
 * const agentry = createAgentryClient({ url: 'https://agentry.example.com', apiKey: process.env.AGENTRY_API_KEY });
 * const { run } = await agentry.runs.start('triage', { input: { ticket: 42 } });
 * for await (const event of agentry.runs.follow(run.id)) console.log(event.type);
 * const ended = await agentry.waitForRun(run.id, { timeoutMs: 60_000 });
 * for await (const r of agentry.runs.list({ status: ['failed'] })) console.log(r.id);
 * const { data } = await agentry.api.GET('/v1/admin/quotas'); // any route, typed
 * ```
 *
 * Docs: docs/client.md.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi.js';
import { Runs, type WaitOptions } from './runs.js';
import { Admin, Audit, Events, Keys, Schedules, Tasks, Tools, Usage, Workflows } from './resources.js';
import { ok } from './call.js';
import { Transport, type FetchLike } from './transport.js';
import type { ResponseOf, RunDetail } from './types.js';

export { AgentryApiError, AgentryConnectionError, AgentryVersionError, AgentryWaitTimeoutError, type Problem } from './errors.js';
export { SUPPORTED_SERVER_RANGE, isSupportedServer } from './version.js';
export { parseServerSentEvents, type ServerSentEvent } from './sse.js';
export type { Page, Paged } from './pages.js';
export type { ChangeOptions, FollowOptions, ListRunsQuery, StartRunOptions, StartedRun, WaitOptions } from './runs.js';
export type { TaskQuery } from './resources.js';
export type { ApiKey, BodyOf, IssuedKey, OperationId, QueryOf, ResponseOf, RetriedRun, Run, RunChange, RunDetail, RunEvent, RunPage, Task } from './types.js';
export type { components, operations, paths } from './openapi.js';
export type { FetchLike };

export interface AgentryClientOptions {
  /** The server's base URL, e.g. `https://agentry.example.com` (a mount prefix included: `https://host/agentry`). */
  url: string;
  /** An API key (`AGENTRY_API_KEYS`, `agentry keys create`) or an OIDC token: sent as `Authorization: Bearer`. */
  apiKey?: string | undefined;
  /** Act in this tenant (`?tenant=` on every request; system admins only may name another than their own). */
  tenant?: string | undefined;
  /** The `fetch` to use (default the global one), e.g. one with a proxy agent or a test double. */
  fetch?: FetchLike | undefined;
  /** Retries of a request that failed in a way worth retrying (default 3; 0: none). See docs/client.md. */
  retries?: number | undefined;
  /** First retry delay in ms (default 250), doubled each retry with jitter. */
  retryDelayMs?: number | undefined;
  /** Aborts every request of the client (e.g. a command's overall deadline). */
  signal?: AbortSignal | undefined;
  /** Check the server's version against `SUPPORTED_SERVER_RANGE` before the first request (default true). */
  checkServerVersion?: boolean | undefined;
}

export interface AgentryClient {
  /** The server's base URL (without a trailing slash). */
  readonly url: string;
  /** Every route, typed from the OpenAPI document: `{ data, error, response }` as openapi-fetch answers (no throwing). */
  readonly api: Client<paths>;
  readonly runs: Runs;
  readonly workflows: Workflows;
  readonly tasks: Tasks;
  readonly events: Events;
  readonly schedules: Schedules;
  readonly tools: Tools;
  readonly usage: Usage;
  readonly keys: Keys;
  readonly audit: Audit;
  readonly admin: Admin;
  /** Resolves with the run once it ended; `AgentryWaitTimeoutError` after `timeoutMs`. */
  waitForRun(id: string, options?: WaitOptions): Promise<RunDetail>;
  /** Who the key signs in as: name, roles, scopes, tenant [whoami]. */
  whoami(): Promise<ResponseOf<'whoami'>>;
  /** The server's version and uptime (`/healthz`). */
  version(): Promise<ResponseOf<'getHealthz'>>;
  /** A request through the client's auth, tenant and retries, answered as it is (probes, `/metrics`, streams). */
  fetch(path: string, init?: { method?: string; headers?: RequestInit['headers']; body?: RequestInit['body']; signal?: AbortSignal }): Promise<Response>;
}

export function createAgentryClient(options: AgentryClientOptions): AgentryClient {
  if (!/^https?:\/\/[^/]+/.test(options.url)) throw new TypeError(`url must be an http(s) URL, got '${options.url}'`);
  const transport = new Transport({
    url: options.url,
    apiKey: options.apiKey,
    tenant: options.tenant,
    fetch: options.fetch,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    signal: options.signal,
    checkVersion: options.checkServerVersion,
  });
  const api = createClient<paths>({ baseUrl: transport.baseUrl, fetch: transport.fetch, headers: { accept: 'application/json' } });
  const runs = new Runs(api, transport);
  return {
    url: transport.baseUrl,
    api,
    runs,
    workflows: new Workflows(api),
    tasks: new Tasks(api),
    events: new Events(api),
    schedules: new Schedules(api),
    tools: new Tools(api),
    usage: new Usage(api),
    keys: new Keys(api),
    audit: new Audit(api),
    admin: new Admin(api),
    waitForRun: (id, waitOptions) => runs.wait(id, waitOptions),
    whoami: () => ok(api.GET('/v1/auth/whoami', {})),
    version: () => ok(api.GET('/healthz', {})),
    fetch: (path, init) => transport.send(path, init),
  };
}
