/**
 * The MCP SDK, loaded when the first connection to a tool server opens rather than when the
 * tools module is imported: a process that never talks to a tool server (the CLI reading runs,
 * a worker whose project has no tools) does not pay for the SDK and the zod schemas it builds.
 */
import { AgentryError } from '../lib/errors.js';

async function importSdk() {
  const [client, stdio, http, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return {
    Client: client.Client,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    StreamableHTTPError: http.StreamableHTTPError,
    McpError: types.McpError,
    ErrorCode: types.ErrorCode,
    ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema,
  };
}

export type McpSdk = Awaited<ReturnType<typeof importSdk>>;

let loading: Promise<McpSdk> | undefined;
let loaded: McpSdk | undefined;

/** The SDK, imported on the first call. */
export function loadMcpSdk(): Promise<McpSdk> {
  loading ??= importSdk().then((sdk) => (loaded = sdk));
  return loading;
}

/**
 * The SDK if it has been loaded. Until then no value can be one of its classes, which lets an
 * error classifier skip its `instanceof` checks.
 */
export function loadedMcpSdk(): McpSdk | undefined {
  return loaded;
}

/** The SDK where a live connection proves it is loaded. */
export function mcpSdk(): McpSdk {
  if (loaded === undefined) throw new AgentryError('internal', 'the MCP SDK is used before it was loaded');
  return loaded;
}
