/** MCP tool servers: the hub, allowlists, function naming and results. See docs/tools.md. */
export { createToolHub, ToolHub } from './hub.js';
export type { ToolServerStatus } from './connection.js';
export { resolveLaunch, serverConfig, toolSpecProblems } from './config.js';
export { agentToolProblems, parseToolPattern } from './allowlist.js';
export { functionName, splitFunctionName } from './names.js';
export { toolOutput, toolText } from './result.js';
