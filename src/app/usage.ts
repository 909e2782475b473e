/** LLM usage from the gateway's ledger, by tenant, workflow, model group, model and UTC day; and the budgets' state. */
import { budgetChecks, type BudgetCheck } from '../gateway/budget.js';
import type { ResolvedBudgets } from '../gateway/config.js';
import { AgentryError } from '../lib/errors.js';
import { tenantFilter, type Caller } from './caller.js';
import { usageItemDto, usageReportTotals, type BudgetItemDto, type BudgetReportDto, type UsageReportDto } from './dto/usage.js';
import type { ServiceDeps } from './service-deps.js';

export interface UsageFilter {
  workflow?: string;
  runId?: string;
  /** First UTC day (`YYYY-MM-DD`), inclusive. */
  fromDay?: string;
  /** Last UTC day (`YYYY-MM-DD`), inclusive. */
  toDay?: string;
}

export interface UsageDeps extends Pick<ServiceDeps, 'store' | 'engine'> {
  /** The gateway's budgets (gateway.yaml `budgets:`); undefined without a gateway.yaml. */
  budgets?: ResolvedBudgets | undefined;
}

export class UsageService {
  constructor(private readonly deps: UsageDeps) {}

  /** A caller scoped to a tenant sees that tenant only; the deployment's own keys see every tenant. */
  async report(caller: Caller, filter: UsageFilter): Promise<UsageReportDto> {
    const rows = await this.deps.store.usage({ ...filter, ...tenantFilter(caller) });
    return { items: rows.map(usageItemDto), totals: usageReportTotals(rows) };
  }

  /**
   * The state of every budget of a tenant now: the tenant's per day and month, then each
   * workflow's that has a limit. The caller's own tenant; a caller that reads every tenant (the
   * CLI on its own store) names one.
   */
  async budgets(caller: Caller, tenant: string | undefined, at: number = Date.now()): Promise<BudgetReportDto> {
    const tenantId = caller.tenantId ?? tenant;
    if (tenantId === undefined) throw new AgentryError('invalid_request', 'name the tenant whose budgets to show');
    const budgets = this.deps.budgets;
    if (budgets === undefined) return { tenant_id: tenantId, budgets: [] };
    const checks = budgetChecks(budgets, { tenantId }, at);
    for (const workflow of [...this.deps.engine.workflows.keys()].sort()) {
      checks.push(...budgetChecks(budgets, { tenantId, workflow }, at).filter((c) => c.scope === 'workflow'));
    }
    const items = await Promise.all(checks.map((check) => this.item(check, at)));
    return { tenant_id: tenantId, budgets: items };
  }

  private async item(check: BudgetCheck, at: number): Promise<BudgetItemDto> {
    const { spent, reserved } = await this.deps.store.budgetState(check.query, at);
    const q = check.query;
    if (q.scope === 'run') throw new AgentryError('internal', 'a run budget has no period');
    const now = new Date(at);
    const next =
      q.day !== undefined ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    return {
      scope: q.scope,
      workflow: q.scope === 'workflow' ? q.workflow : null,
      period: q.day !== undefined ? 'day' : 'month',
      window: q.day ?? q.month,
      resets_at: new Date(next).toISOString(),
      limit_usd: check.limit.usd ?? null,
      limit_tokens: check.limit.tokens ?? null,
      spent_usd: round(spent.costUsd),
      spent_tokens: spent.tokens,
      reserved_usd: round(reserved.costUsd),
      reserved_tokens: reserved.tokens,
    };
  }
}

function round(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
