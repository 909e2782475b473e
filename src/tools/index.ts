/** MCP tool servers: the hub, allowlists, function naming and results. See docs/tools.md. */
export { createToolHub, ToolHub, type ApprovalRule, type ResolvedTool, type ToolHubOptions } from './hub.js';
export { SERVER_STATES, type CallOptions, type ServerState, type ToolServerStatus } from './connection.js';
export { ON_REJECT, resolveLaunch, serverConfig, TOOL_DEFAULTS, toolSpecProblems, TRANSPORTS, type OnReject, type RestartPolicy, type ServerConfig, type ToolTransport } from './config.js';
export { agentToolProblems, parseToolPattern, patternAllows, type ToolPattern } from './allowlist.js';
export { functionName, splitFunctionName } from './names.js';
export { toolOutput, toolText, type FunctionTool, type ToolCallResult, type ToolContent, type ToolDefinition } from './result.js';
