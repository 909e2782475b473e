/** The LLM gateway: model groups over providers, with retries, fallbacks, budgets and a usage ledger. */
export { Gateway, type GatewayOptions, type ModelInfo, type TargetFailure } from './gateway.js';
export {
  BudgetGuard,
  InMemoryUsageLedger,
  costUsd,
  estimatePromptTokens,
  estimateTokens,
  type BudgetDetails,
  type BudgetScope,
  type UsageLedger,
} from './budget.js';
export { GATEWAY_DEFAULTS, gatewaySpecProblems, resolveGatewaySpec, type ResolvedGateway } from './config.js';
export { redactSecrets, containsSecret, scrubError } from './redact.js';
export type * from './types.js';
