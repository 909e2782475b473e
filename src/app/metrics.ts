/**
 * Connects a process's `Metrics` to what it runs: the engine's committed events and quota
 * refusals, its worker pool, the store (the deployment-wide gauges), its tool servers and,
 * where the gateway runs, the configured LLM budgets. The store, gateway, tool hub and
 * scheduler report to the metrics themselves, through the observer each was opened with
 * (`openAgentry` passes the same `Metrics` to all of them).
 */
import { budgetChecks } from '../gateway/budget.js';
import type { ResolvedBudgets } from '../gateway/config.js';
import type { Engine } from '../engine/engine.js';
import { Metrics, type BudgetUsage } from '../obs/metrics.js';
import { VERSION } from '../lib/version.js';
import type { GatewayBudgetsSpec } from '../spec/schemas.js';
import type { Store } from '../store/store.js';
import type { ToolHub } from '../tools/hub.js';

/** The LLM budgets the gateway of this process enforces, for `agentry_llm_budget_used_ratio`. */
export interface BudgetSource {
  budgets: ResolvedBudgets;
  /** gateway.yaml `budgets:` as written: which tenants have budgets of their own. */
  spec: GatewayBudgetsSpec | undefined;
  /** The deployment's tenant: its tenant budget and its workflows' budgets are shown. */
  tenant: string;
}

export interface InstrumentedParts {
  engine: Engine;
  store: Store;
  tools?: ToolHub | undefined;
  budgets?: BudgetSource | undefined;
}

/** Attaches the metrics to the engine and to what the gauges read; returns the function that detaches the engine's listeners. */
export function instrument(metrics: Metrics, parts: InstrumentedParts): () => void {
  const { engine, store, tools, budgets } = parts;
  metrics.use({
    attemptsInFlight: () => engine.attemptsByWorkflow(),
    workflows: () => engine.workflows.keys(),
    workerSlots: () => engine.workerSlots,
    deployment: { store, workerTtlMs: engine.settings.leaseTtlMs * 3 },
    ...(tools ? { toolServers: () => tools.status().map((s) => ({ name: s.name, state: s.state, restarts: s.restarts })) } : {}),
    ...(budgets ? { budgets: () => budgetUsage(store, budgets, [...engine.workflows.keys()]) } : {}),
  });
  const offEvents = engine.onCommitted((events) => metrics.observeEvents(events));
  const offQuota = engine.onQuotaExceeded(({ tenantId, quota }) => metrics.quotaExceeded(tenantId, quota));
  return () => {
    offEvents();
    offQuota();
  };
}

/**
 * Each configured budget's spend over its limit now: the deployment tenant's and each tenant's
 * named in `per_tenant`, and the deployment tenant's budget of each workflow that has one
 * (the larger of its USD and token ratios). One ledger sum per budget.
 */
async function budgetUsage(store: Store, source: BudgetSource, workflows: readonly string[]): Promise<BudgetUsage[]> {
  const at = Date.now();
  const tenants = [...new Set([source.tenant, ...Object.keys(source.spec?.per_tenant ?? {})])];
  const checks = [
    ...tenants.flatMap((tenantId) => budgetChecks(source.budgets, { tenantId }, at)),
    ...workflows.flatMap((workflow) => budgetChecks(source.budgets, { tenantId: source.tenant, workflow }, at).filter((c) => c.scope === 'workflow')),
  ];
  return Promise.all(
    checks.map(async ({ scope, period, query, limit }) => {
      const { spent } = await store.budgetState(query, at);
      const ratios = [limit.usd === undefined ? 0 : spent.costUsd / limit.usd, limit.tokens === undefined ? 0 : spent.tokens / limit.tokens];
      const budget = query.scope === 'workflow' ? query.workflow : query.scope === 'tenant' ? query.tenantId : query.runId;
      return { scope, budget, period: period ?? 'run', ratio: Math.max(...ratios.map((r) => (Number.isFinite(r) ? r : 1))) };
    }),
  );
}

/**
 * The deployment-wide part of `/metrics` read from `store` alone (queue depth, runs by status,
 * open tasks, workers, maintenance, the build): what a process without a server of its own can
 * show, such as `agentry support-bundle` without `--url`.
 */
export async function storeMetricsText(store: Store, workerTtlMs: number): Promise<string> {
  const metrics = new Metrics({ version: VERSION, processMetrics: false });
  try {
    metrics.use({ deployment: { store, workerTtlMs } });
    return await metrics.text();
  } finally {
    metrics.close();
  }
}
