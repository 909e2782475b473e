/** The LLM gateway: model groups over providers, with retries, fallbacks, budgets and a usage ledger. */
export { Gateway } from './gateway.js';
export { estimatePromptTokens } from './budget.js';
export { InMemoryUsageLedger } from './ledger.js';
export { resolveGatewaySpec } from './config.js';
export { redactSecrets } from './redact.js';
export type * from './types.js';
