/**
 * What the client throws. A problem+json answer of the server is an `AgentryApiError` with its
 * `status`, stable `code` (docs/errors.md), `detail`, `requestId` and every other member of the
 * problem in `problem` (`errors` of a validation failure, `details`, …). A server that cannot be
 * reached (after the retries) is an `AgentryConnectionError`; a server outside the versions this
 * client supports, `AgentryVersionError`; a `waitForRun` that outlived its timeout,
 * `AgentryWaitTimeoutError` with the run as it was then.
 */

/** The members of an RFC 9457 problem as Agentry writes them (`src/server/problem.ts`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  [member: string]: unknown;
}

export class AgentryApiError extends Error {
  override readonly name = 'AgentryApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The stable error code (`not_found`, `forbidden`, `input_invalid`, …); `http_<status>` when the answer was not a problem. */
  readonly code: string;
  readonly detail: string;
  /** The server's `X-Request-ID` of the request: the key to its log lines. */
  readonly requestId: string | undefined;
  /** The whole problem body, extra members included. */
  readonly problem: Problem;
  /** Seconds the server asked to wait before retrying (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, problem: Problem, options: { requestId?: string | undefined; retryAfterSeconds?: number | undefined } = {}) {
    const code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : (problem.title ?? `HTTP ${status}`);
    const requestId = typeof problem.request_id === 'string' ? problem.request_id : options.requestId;
    super(`${code}: ${detail}${requestId === undefined ? '' : ` (request_id ${requestId})`}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.requestId = requestId;
    this.problem = problem;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** A member of the problem besides the standard ones (e.g. `errors`, `details`). */
  member(name: string): unknown {
    return this.problem[name];
  }
}

/** The server could not be reached, or the connection failed, on every attempt. */
export class AgentryConnectionError extends Error {
  override readonly name = 'AgentryConnectionError';
  /** What went wrong, as the network stack said it (`ECONNREFUSED`, …). */
  readonly reason: string;
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    const reason = causeText(cause);
    super(`cannot reach the Agentry server at ${url}: ${reason}`, { cause });
    this.reason = reason;
  }
}

/** The server's version is outside `SUPPORTED_SERVER_RANGE`. */
export class AgentryVersionError extends Error {
  override readonly name = 'AgentryVersionError';
  constructor(
    readonly serverVersion: string,
    readonly supported: string,
  ) {
    super(`the Agentry server is version ${serverVersion}; this client supports ${supported}: upgrade the client or the server`);
  }
}

/** `waitForRun` gave up before the run ended; `run` is the run as it was then. */
export class AgentryWaitTimeoutError<R = unknown> extends Error {
  override readonly name = 'AgentryWaitTimeoutError';
  constructor(
    readonly run: R,
    readonly timeoutMs: number,
  ) {
    super(`the run had not ended after ${timeoutMs} ms`);
  }
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** The problem of an answer that is not 2xx, as an `AgentryApiError` (the body is read). */
export async function apiErrorOf(response: Response, parsed?: unknown): Promise<AgentryApiError> {
  let problem: Problem;
  if (parsed !== undefined && typeof parsed === 'object' && parsed !== null) problem = parsed as Problem;
  else {
    const text = typeof parsed === 'string' ? parsed : await response.text().catch(() => '');
    try {
      const json: unknown = JSON.parse(text);
      problem = typeof json === 'object' && json !== null ? (json as Problem) : { detail: String(json) };
    } catch {
      problem = { detail: `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
    }
  }
  return new AgentryApiError(response.status, problem, {
    requestId: response.headers.get('x-request-id') ?? undefined,
    retryAfterSeconds: retryAfterMs(response.headers.get('retry-after')) / 1000 || undefined,
  });
}

/** `Retry-After` (seconds or an HTTP date) in ms; 0 when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  if (value === null || value.trim() === '') return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
