/**
 * Budgets, enforced before a call is sent. The worst case of the call (estimated prompt
 * tokens + the output cap, priced at the target's prices) plus what the ledger says was spent
 * (plus calls of this process still in flight) must stay within every budget that applies:
 * the run's (`ctx.budget`), the workflow's per UTC day and the tenant's per UTC day.
 */
import { AgentryError } from '../lib/errors.js';
import type { DailyLimit, ResolvedBudgets, ResolvedTarget } from './config.js';
import { utcDay } from '../lib/time.js';
import type { CallRecord, Spend, SpendQuery } from '../types.js';
import type { CallContext, ChatRequest } from './types.js';

/** Where call records go and where spend is summed from (the lead backs it with the store). */
export interface UsageLedger {
  record(record: CallRecord): Promise<void>;
  /** Tokens (input + output) and cost of every record in the scope; `day` is UTC `YYYY-MM-DD` of `at`. */
  spent(query: SpendQuery): Promise<Spend>;
}

/** A ledger in memory, for tests and single-process embedding. */
export class InMemoryUsageLedger implements UsageLedger {
  readonly records: CallRecord[] = [];

  record(record: CallRecord): Promise<void> {
    this.records.push({ ...record });
    return Promise.resolve();
  }

  spent(query: SpendQuery): Promise<Spend> {
    let tokens = 0;
    let costUsd = 0;
    for (const r of this.records) {
      const match =
        query.scope === 'run'
          ? r.runId === query.runId
          : r.tenantId === query.tenantId && utcDay(r.at) === query.day && (query.scope === 'tenant' || r.workflow === query.workflow);
      if (!match) continue;
      tokens += r.inputTokens + r.outputTokens;
      costUsd += r.costUsd;
    }
    return Promise.resolve({ tokens, costUsd });
  }
}

/** Deterministic token estimate: characters / 4, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Estimated prompt tokens of a request: its messages and tool definitions as JSON, / 4. */
export function estimatePromptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  return estimateTokens(JSON.stringify(request.messages)) + (request.tools === undefined ? 0 : estimateTokens(JSON.stringify(request.tools)));
}

/** The output cap of a request on a target: its own `max_tokens`, else the target's default. */
export function outputCap(request: ChatRequest, target: ResolvedTarget): number {
  return request.max_completion_tokens ?? request.max_tokens ?? target.maxOutputTokens;
}

export function costUsd(target: ResolvedTarget, inputTokens: number, outputTokens: number): number {
  return (inputTokens * target.inputPerMtok + outputTokens * target.outputPerMtok) / 1_000_000;
}

export type BudgetScope = 'run' | 'workflow' | 'tenant';

export interface BudgetDetails {
  scope: BudgetScope;
  metric: 'usd' | 'tokens';
  limit: number;
  spent: number;
  estimate: number;
}

interface Check {
  key: string;
  scope: BudgetScope;
  query: SpendQuery;
  limit: DailyLimit;
}

/** Reserves in-flight worst cases per scope so concurrent calls of one process cannot overshoot together. */
export class BudgetGuard {
  private readonly inFlight = new Map<string, Spend>();
  private releases = 0;

  constructor(
    private readonly ledger: UsageLedger,
    private readonly budgets: ResolvedBudgets,
  ) {}

  /**
   * Throws `budget_exceeded` when `estimate` does not fit a budget of `ctx`; otherwise reserves
   * it and returns the release function (call it once the attempt is recorded).
   */
  async reserve(ctx: CallContext, at: number, estimate: Spend): Promise<() => void> {
    const checks = this.checks(ctx, at);
    // A call that was recorded and released while we read the ledger may be missing from both
    // what we read and the in-flight set: read again until no release happened meanwhile.
    let spends: Spend[] = [];
    for (let round = 0; round < 5; round++) {
      const epoch = this.releases;
      spends = await Promise.all(checks.map((check) => this.ledger.spent(check.query)));
      if (epoch === this.releases) break;
    }
    // From here to the reservation nothing awaits, so concurrent calls of this process see each other.
    checks.forEach((check, i) => {
      const spent = spends[i]!;
      const pending = this.inFlight.get(check.key) ?? { tokens: 0, costUsd: 0 };
      const usd = spent.costUsd + pending.costUsd;
      const tokens = spent.tokens + pending.tokens;
      if (check.limit.usd !== undefined && usd + estimate.costUsd > check.limit.usd + 1e-12) {
        throw exceeded({ scope: check.scope, metric: 'usd', limit: check.limit.usd, spent: round(usd), estimate: round(estimate.costUsd) });
      }
      if (check.limit.tokens !== undefined && tokens + estimate.tokens > check.limit.tokens) {
        throw exceeded({ scope: check.scope, metric: 'tokens', limit: check.limit.tokens, spent: tokens, estimate: estimate.tokens });
      }
    });
    for (const check of checks) this.add(check.key, estimate, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.releases++;
      for (const check of checks) this.add(check.key, estimate, -1);
    };
  }

  private checks(ctx: CallContext, at: number): Check[] {
    const day = utcDay(at);
    const out: Check[] = [];
    const run: DailyLimit = {};
    if (ctx.budget?.maxCostUsd !== undefined) run.usd = ctx.budget.maxCostUsd;
    if (ctx.budget?.maxTokens !== undefined) run.tokens = ctx.budget.maxTokens;
    if (ctx.runId !== undefined && (run.usd !== undefined || run.tokens !== undefined)) {
      out.push({ key: `run:${ctx.runId}`, scope: 'run', query: { scope: 'run', runId: ctx.runId }, limit: run });
    }
    if (ctx.workflow !== undefined) {
      const limit = this.budgets.workflow(ctx.workflow);
      if (limit.usd !== undefined || limit.tokens !== undefined) {
        out.push({
          key: `workflow:${ctx.tenantId}:${ctx.workflow}:${day}`,
          scope: 'workflow',
          query: { scope: 'workflow', tenantId: ctx.tenantId, workflow: ctx.workflow, day },
          limit,
        });
      }
    }
    const tenant = this.budgets.tenant(ctx.tenantId);
    if (tenant.usd !== undefined || tenant.tokens !== undefined) {
      out.push({ key: `tenant:${ctx.tenantId}:${day}`, scope: 'tenant', query: { scope: 'tenant', tenantId: ctx.tenantId, day }, limit: tenant });
    }
    return out;
  }

  private add(key: string, amount: Spend, sign: 1 | -1): void {
    const current = this.inFlight.get(key) ?? { tokens: 0, costUsd: 0 };
    const next = { tokens: current.tokens + sign * amount.tokens, costUsd: current.costUsd + sign * amount.costUsd };
    if (next.tokens <= 0 && next.costUsd <= 1e-12) this.inFlight.delete(key);
    else this.inFlight.set(key, next);
  }
}

function exceeded(details: BudgetDetails): AgentryError {
  const unit = details.metric === 'usd' ? ' USD' : ' tokens';
  return new AgentryError(
    'budget_exceeded',
    `${details.scope} budget of ${details.limit}${unit} would be exceeded: spent ${details.spent}${unit}, this call may use up to ${details.estimate}${unit}; the call was not sent`,
    { details },
  );
}

function round(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
