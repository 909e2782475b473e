/**
 * Budgets, enforced before a call is sent. The worst case of the attempt (estimated prompt
 * tokens + the output cap, priced at the target's prices) plus what the ledger holds plus what
 * attempts in flight (in any process) have reserved must stay within every budget that applies:
 * the run's (`ctx.budget`), the workflow's per UTC day and month, and the tenant's per UTC day and
 * month. Checking and reserving is one atomic step of the ledger (`UsageLedger.reserve`); the
 * reservation lives until the attempt is recorded, renewed while the attempt runs, and expires
 * on its own when the process making the call dies.
 */
import { AgentryError } from '../lib/errors.js';
import { utcDay, utcMonth } from '../lib/time.js';
import type { BudgetState, Spend, SpendQuery } from '../types.js';
import { BUDGET_PERIODS, type BudgetLimit, type BudgetPeriod, type ResolvedBudgets, type ResolvedTarget } from './config.js';
import type { UsageLedger } from './ledger.js';
import type { CallContext, ChatRequest, Usage } from './types.js';

/** Deterministic token estimate: characters / 4, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Estimated prompt tokens of a request: its messages and tool definitions as JSON, / 4. */
export function estimatePromptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  return estimateTokens(JSON.stringify(request.messages)) + (request.tools === undefined ? 0 : estimateTokens(JSON.stringify(request.tools)));
}

/**
 * The output a request may produce on a target, for its budget check: its own cap, else the
 * target's configured `max_tokens`, else the output it assumes (`max_output_tokens`); per choice.
 */
export function outputCap(request: ChatRequest, target: ResolvedTarget): number {
  return request.max_completion_tokens ?? request.max_tokens ?? target.maxTokens ?? target.maxOutputTokens;
}

/**
 * What an attempt costs at the target's prices: input tokens served from the provider's prompt
 * cache (`cachedTokens`, part of `inputTokens`) at the cached-input price, the rest at the input
 * price, output (reasoning tokens included) at the output price.
 */
export function costUsd(target: ResolvedTarget, inputTokens: number, outputTokens: number, cachedTokens = 0): number {
  const cached = Math.min(Math.max(0, cachedTokens), inputTokens);
  return ((inputTokens - cached) * target.inputPerMtok + cached * target.cachedInputPerMtok + outputTokens * target.outputPerMtok) / 1_000_000;
}

export type BudgetScope = 'run' | 'workflow' | 'tenant';

export interface BudgetDetails {
  scope: BudgetScope;
  /** The workflow's and the tenant's budgets are per UTC day or month; a run's has none. */
  period?: BudgetPeriod;
  metric: 'usd' | 'tokens';
  limit: number;
  /** What the ledger holds for the scope (recorded attempts). */
  spent: number;
  /** Worst cases of other attempts in flight (in any process). */
  reserved: number;
  /** This attempt's worst case. */
  estimate: number;
}

/** One budget that applies to a call: its scope and period, how to sum it, and its limit. */
export interface BudgetCheck {
  scope: BudgetScope;
  period?: BudgetPeriod;
  query: SpendQuery;
  limit: BudgetLimit;
}

/** Extra time a reservation outlives the attempt's timeout; it is renewed while the attempt runs. */
export const RESERVATION_MARGIN_MS = 30_000;

/** A held reservation: `release()` stops renewing it once the attempt is recorded (or given up). */
export interface BudgetHold {
  /** A budget applies to the attempt (its worst case is reserved). */
  readonly budgeted: boolean;
  release(): void;
}

const NO_HOLD: BudgetHold = { budgeted: false, release: () => undefined };

/** The first budget `estimate` does not fit, given each check's state; undefined when it fits them all. */
export function firstExceeded(checks: readonly BudgetCheck[], states: readonly BudgetState[], estimate: Spend): BudgetDetails | undefined {
  for (const [i, check] of checks.entries()) {
    const { spent, reserved } = states[i]!;
    const where = { scope: check.scope, ...(check.period === undefined ? {} : { period: check.period }) };
    if (check.limit.usd !== undefined && spent.costUsd + reserved.costUsd + estimate.costUsd > check.limit.usd + 1e-12) {
      return {
        ...where,
        metric: 'usd',
        limit: check.limit.usd,
        spent: round(spent.costUsd),
        reserved: round(reserved.costUsd),
        estimate: round(estimate.costUsd),
      };
    }
    if (check.limit.tokens !== undefined && spent.tokens + reserved.tokens + estimate.tokens > check.limit.tokens) {
      return { ...where, metric: 'tokens', limit: check.limit.tokens, spent: spent.tokens, reserved: reserved.tokens, estimate: estimate.tokens };
    }
  }
  return undefined;
}

/** The budgets that apply to a call of `ctx` at `at`. */
export function budgetChecks(budgets: ResolvedBudgets, ctx: Pick<CallContext, 'tenantId' | 'runId' | 'workflow' | 'budget'>, at: number): BudgetCheck[] {
  // The UTC day and month only when a workflow or tenant budget applies (most calls have none).
  let days: Record<BudgetPeriod, { day: string } | { month: string }> | undefined;
  const periods = (): Record<BudgetPeriod, { day: string } | { month: string }> => (days ??= { day: { day: utcDay(at) }, month: { month: utcMonth(at) } });
  const out: BudgetCheck[] = [];
  const run: BudgetLimit = {};
  if (ctx.budget?.maxCostUsd !== undefined) run.usd = ctx.budget.maxCostUsd;
  if (ctx.budget?.maxTokens !== undefined) run.tokens = ctx.budget.maxTokens;
  if (ctx.runId !== undefined && limited(run)) out.push({ scope: 'run', query: { scope: 'run', runId: ctx.runId }, limit: run });
  const workflow = ctx.workflow === undefined ? undefined : budgets.workflow(ctx.workflow);
  const tenant = budgets.tenant(ctx.tenantId);
  for (const period of BUDGET_PERIODS) {
    if (workflow !== undefined && limited(workflow[period])) {
      out.push({
        scope: 'workflow',
        period,
        query: { scope: 'workflow', tenantId: ctx.tenantId, workflow: ctx.workflow!, ...periods()[period] },
        limit: workflow[period],
      });
    }
  }
  for (const period of BUDGET_PERIODS) {
    if (limited(tenant[period]))
      out.push({ scope: 'tenant', period, query: { scope: 'tenant', tenantId: ctx.tenantId, ...periods()[period] }, limit: tenant[period] });
  }
  return out;
}

function limited(limit: BudgetLimit): boolean {
  return limit.usd !== undefined || limit.tokens !== undefined;
}

/** Reserves each attempt's worst case in the ledger, against every budget that applies. */
export class BudgetGuard {
  constructor(
    private readonly ledger: UsageLedger,
    private readonly budgets: ResolvedBudgets,
    private readonly now: () => number,
    private readonly onRenewError: (error: unknown) => void,
  ) {}

  /**
   * Throws `budget_exceeded` when `estimate` does not fit a budget of `ctx`; otherwise reserves
   * it under the attempt's id `id` for `ttlMs` (renewed every third of it until released) and
   * returns the hold. Recording the attempt with that id settles the reservation. `estimate` is
   * worked out only when a budget applies (it serialises the prompt).
   */
  async reserve(id: string, ctx: CallContext, at: number, estimateOf: () => Spend, ttlMs: number): Promise<BudgetHold> {
    const checks = budgetChecks(this.budgets, ctx, at);
    if (checks.length === 0) return NO_HOLD;
    const estimate = estimateOf();
    let refusal: BudgetDetails | undefined;
    const { admitted } = await this.ledger.reserve({ id, scopes: checks.map((c) => c.query), amount: estimate, at, expiresAt: at + ttlMs }, (states) => {
      refusal = firstExceeded(checks, states, estimate);
      return refusal === undefined;
    });
    if (!admitted) throw exceeded(refusal!);
    const timer = setInterval(
      () => {
        this.ledger.renew(id, this.now() + ttlMs).catch(this.onRenewError);
      },
      Math.max(1_000, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return { budgeted: true, release: () => clearInterval(timer) };
  }
}

function exceeded(details: BudgetDetails): AgentryError {
  const unit = details.metric === 'usd' ? ' USD' : ' tokens';
  const what = `${details.scope}${details.period === undefined ? '' : ` ${details.period === 'day' ? 'daily' : 'monthly'}`} budget`;
  const inFlight = details.reserved > 0 ? ` (+ ${details.reserved}${unit} reserved by calls in flight)` : '';
  return new AgentryError(
    'budget_exceeded',
    `${what} of ${details.limit}${unit} would be exceeded: spent ${details.spent}${unit}${inFlight}, this call may use up to ${details.estimate}${unit}; the call was not sent`,
    { details },
  );
}

function round(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/** A call's tokens as the token limits count them before it is sent: the prompt's estimate and the output cap the request sets. */
export function throttleTokens(request: ChatRequest): number {
  return estimatePromptTokens(request) + (request.max_completion_tokens ?? request.max_tokens ?? 0) * (request.n ?? 1);
}

/** A call's usage when the provider reported none (a stream stopped early): estimated from the request and what was received. */
export function estimatedUsage(request: ChatRequest, received: string): Usage {
  const prompt = estimatePromptTokens(request);
  const completion = estimateTokens(received);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
