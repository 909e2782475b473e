/**
 * How a failed MCP request becomes an AgentryError, decided here once:
 * - the caller's AbortSignal fired → `cancelled`;
 * - the SDK's request timeout → `tool_timeout` (retryable; the SDK has sent `notifications/cancelled`);
 * - the server answered with a JSON-RPC error, or a result the SDK rejects → `tool_error` (not retryable);
 * - the connection closed, the process died, the HTTP request failed → `tool_unavailable`
 *   (retryable), and the connection counts as lost.
 */
import { AgentryError } from '../lib/errors.js';
import { loadedMcpSdk } from './mcp-sdk.js';

export interface CallSite {
  server: string;
  /** `server.tool`, or a phrase such as `tools/list on server`. */
  what: string;
  signal: AbortSignal | undefined;
  timeoutMs: number;
}

export interface Failure {
  error: AgentryError;
  /** The connection is no longer usable; the next call reconnects. */
  lost: boolean;
}

export function classifyFailure(error: unknown, site: CallSite): Failure {
  if (error instanceof AgentryError) return { error, lost: false };
  const message = error instanceof Error ? error.message : String(error);
  const details = { server: site.server };
  if (site.signal?.aborted === true) {
    return { error: new AgentryError('cancelled', `${site.what} cancelled`, { cause: site.signal.reason ?? error, details }), lost: false };
  }
  // Before the SDK is loaded nothing can be one of its errors.
  const sdk = loadedMcpSdk();
  if (sdk && error instanceof sdk.McpError) {
    const { ErrorCode } = sdk;
    if (error.code === (ErrorCode.RequestTimeout as number)) {
      return {
        error: new AgentryError('tool_timeout', `${site.what} timed out after ${site.timeoutMs}ms`, { retryable: true, cause: error, details }),
        lost: false,
      };
    }
    if (error.code === (ErrorCode.ConnectionClosed as number)) return unavailable(site, `connection closed (${message})`, error, true);
    return {
      error: new AgentryError('tool_error', `${site.what} failed: ${message}`, { cause: error, details: { ...details, mcp_code: error.code } }),
      lost: false,
    };
  }
  if (sdk && error instanceof sdk.StreamableHTTPError) {
    // 404: the session is gone (server restarted); 5xx and network-level codes may pass.
    const status = error.code ?? 0;
    const retryable = status === 404 || status === 408 || status === 429 || status >= 500 || status <= 0;
    return unavailable(site, message, error, retryable);
  }
  if (error instanceof Error && (error.name === 'ZodError' || error.name === 'SyntaxError')) {
    return { error: new AgentryError('tool_error', `${site.what} returned an invalid result: ${message}`, { cause: error, details }), lost: false };
  }
  return unavailable(site, message, error, true);
}

function unavailable(site: CallSite, why: string, cause: unknown, retryable: boolean): Failure {
  return {
    error: new AgentryError('tool_unavailable', `tool server '${site.server}' is unavailable: ${why}`, {
      retryable,
      cause,
      details: { server: site.server },
    }),
    lost: true,
  };
}
