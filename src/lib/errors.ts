/**
 * One registry of error codes. Every error Agentry raises carries one of these codes;
 * HTTP status, CLI exit code and retryability are decided here, once.
 * `docs/errors.md` documents every code (a test keeps the two in step).
 */
export const ERROR_CODES = {
  // request / input
  invalid_request: { status: 400, exit: 2, title: 'Invalid request' },
  invalid_idempotency_key: { status: 400, exit: 2, title: 'Idempotency-Key is invalid' },
  spec_invalid: { status: 422, exit: 2, title: 'Spec is invalid' },
  policy_violation: { status: 422, exit: 2, title: "The run breaks the active environment's policy" },
  bundle_invalid: { status: 422, exit: 2, title: 'Spec bundle refused' },
  unsafe_configuration: { status: 500, exit: 2, title: 'Production mode refuses this configuration' },
  input_invalid: { status: 400, exit: 2, title: 'Run input does not match the workflow input schema' },
  override_not_allowed: { status: 400, exit: 2, title: 'The workflow does not allow overriding this setting' },
  unauthorized: { status: 401, exit: 2, title: 'Unauthorized' },
  forbidden: { status: 403, exit: 2, title: 'Forbidden' },
  not_found: { status: 404, exit: 2, title: 'Not found' },
  method_not_allowed: { status: 405, exit: 2, title: 'Method not allowed' },
  conflict: { status: 409, exit: 2, title: 'Conflict' },
  idempotency_conflict: { status: 409, exit: 2, title: 'Idempotency key reused with a different request' },
  resource_locked: { status: 409, exit: 2, title: 'Resource is locked' },
  payload_too_large: { status: 413, exit: 2, title: 'Payload too large' },
  limit_exceeded: { status: 400, exit: 2, title: 'Request exceeds a complexity limit' },
  unsupported_media_type: { status: 415, exit: 2, title: 'Unsupported media type' },
  rate_limited: { status: 429, exit: 1, title: 'Rate limited' },
  quota_exceeded: { status: 429, exit: 1, title: 'Quota exceeded' },
  budget_exceeded: { status: 402, exit: 1, title: 'Budget exceeded' },
  // service state
  not_ready: { status: 503, exit: 1, title: 'Not ready' },
  maintenance_quiesced: { status: 503, exit: 1, title: 'The deployment is quiesced for maintenance: it accepts no new runs' },
  auth_unavailable: { status: 503, exit: 1, title: 'The sign-in provider could not be reached' },
  store_unavailable: { status: 503, exit: 1, title: 'Store unavailable' },
  store_in_use: { status: 503, exit: 1, title: 'Store is in use by another server process' },
  port_in_use: { status: 503, exit: 1, title: 'The port to listen on is already in use' },
  store_unsupported: { status: 503, exit: 2, title: 'SQLite store is on a filesystem where it is not safe' },
  store_corrupt: { status: 500, exit: 1, title: 'The SQLite store file is damaged' },
  migration_failed: { status: 503, exit: 1, title: 'Database migration failed' },
  schema_too_new: { status: 503, exit: 1, title: 'Database schema is newer than this build' },
  migrations_pending: { status: 503, exit: 1, title: 'Database migrations are pending' },
  audit_chain_broken: { status: 500, exit: 1, title: 'The audit log hash chain is broken' },
  backup_invalid: { status: 422, exit: 1, title: 'The backup file is damaged, altered or cannot be decrypted' },
  store_not_empty: { status: 409, exit: 2, title: 'The restore target already holds data' },
  internal: { status: 500, exit: 1, title: 'Internal error' },
  // step and run outcomes
  step_failed: { status: 500, exit: 1, title: 'Step failed' },
  step_timeout: { status: 504, exit: 1, title: 'Step timed out' },
  run_timed_out: { status: 504, exit: 1, title: 'Run passed its deadline' },
  cancelled: { status: 409, exit: 1, title: 'Cancelled' },
  lease_expired: { status: 500, exit: 1, title: 'Worker lease expired' },
  expression_error: { status: 422, exit: 1, title: 'Expression failed' },
  max_turns_exceeded: { status: 422, exit: 1, title: 'Agent did not finish within max_turns' },
  output_invalid: { status: 422, exit: 1, title: 'Output does not match its schema' },
  executor_unavailable: { status: 500, exit: 1, title: 'No executor for step kind' },
  http_error: { status: 502, exit: 1, title: 'HTTP request failed' },
  http_status: { status: 502, exit: 1, title: 'HTTP response status not accepted' },
  response_too_large: { status: 502, exit: 1, title: 'HTTP response too large' },
  egress_denied: { status: 403, exit: 1, title: 'The egress policy refused the destination' },
  artifact_denied: { status: 403, exit: 1, title: 'The artifact name is not one the workflow declares' },
  artifact_too_large: { status: 413, exit: 1, title: 'The artifact passes the per-file or per-run size limit' },
  // people in the loop and the rest of the flow
  task_rejected: { status: 422, exit: 1, title: 'A reviewer rejected the task' },
  human_task_expired: { status: 504, exit: 1, title: 'A human task passed its deadline' },
  output_rejected: { status: 422, exit: 1, title: 'A reviewer rejected the output' },
  guardrail_blocked: { status: 422, exit: 1, title: 'An agent guardrail blocked the prompt or the answer' },
  signal_timeout: { status: 504, exit: 1, title: 'A signal did not arrive in time' },
  map_failed: { status: 500, exit: 1, title: 'Too many items of a for_each step failed' },
  too_many_items: { status: 422, exit: 1, title: 'A for_each list is longer than max_items' },
  child_failed: { status: 500, exit: 1, title: 'A sub-workflow run did not succeed' },
  // LLM gateway
  provider_error: { status: 502, exit: 1, title: 'LLM provider returned an error' },
  provider_timeout: { status: 504, exit: 1, title: 'LLM provider call timed out' },
  provider_unavailable: { status: 503, exit: 1, title: 'No LLM provider of the model group could serve the call' },
  upstream_throttled: { status: 429, exit: 1, title: "An upstream limit of the gateway cannot let the call go before the caller's deadline" },
  unsupported_parameter: { status: 400, exit: 2, title: 'A provider of the model group cannot honour a request parameter' },
  secret_missing: { status: 500, exit: 2, title: 'A secret the configuration needs is not set' },
  tool_error: { status: 502, exit: 1, title: 'Tool returned an error' },
  tool_unavailable: { status: 503, exit: 1, title: 'Tool server unavailable' },
  tool_disabled: { status: 503, exit: 1, title: 'Tool server disabled' },
  tool_not_allowed: { status: 403, exit: 1, title: 'Tool not allowed' },
  tool_rejected: { status: 403, exit: 1, title: 'A reviewer rejected the tool call' },
  tool_timeout: { status: 504, exit: 1, title: 'Tool call timed out' },
  // plugins
  plugin_invalid: { status: 422, exit: 2, title: 'Plugin manifest or lock file is invalid' },
  plugin_install_failed: { status: 502, exit: 1, title: 'Plugin could not be fetched or installed' },
  plugin_permission_denied: { status: 403, exit: 1, title: 'A plugin reached for something its manifest does not declare' },
  plugin_failed: { status: 500, exit: 1, title: 'Plugin call failed' },
  plugin_disabled: { status: 409, exit: 1, title: 'Plugin disabled' },
} as const satisfies Record<string, { status: number; exit: 0 | 1 | 2; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
  details?: unknown;
}

export interface AgentryErrorOptions {
  retryable?: boolean;
  /** Milliseconds the caller should wait before retrying (e.g. from Retry-After). */
  retryAfterMs?: number;
  details?: unknown;
  cause?: unknown;
}

export class AgentryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: AgentryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentryError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.retryable) info.retryable = true;
    if (this.details !== undefined) info.details = this.details;
    return info;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Normalises anything thrown into an AgentryError, keeping the original as `cause`. */
export function toAgentryError(error: unknown, fallback: ErrorCode = 'internal'): AgentryError {
  if (error instanceof AgentryError) return error;
  if (error instanceof Error) {
    if (error.name === 'AbortError') return new AgentryError('cancelled', error.message || 'aborted', { cause: error });
    if (error.name === 'TimeoutError') return new AgentryError('step_timeout', error.message, { retryable: true, cause: error });
    return new AgentryError(fallback, error.message, { cause: error });
  }
  return new AgentryError(fallback, String(error));
}
