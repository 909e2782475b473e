/** What the API returns for LLM usage (`/v1/usage`, and a run's usage), and the ledger rows → DTO mapping. */
import { Type, type Static, type TSchema } from 'typebox';
import type { UsageRow } from '../../store/store.js';

export const UsageTotalsSchema = Type.Object(
  {
    calls: Type.Integer({ description: 'Attempts recorded (ok, error, cancelled and refused by a budget)' }),
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cost_usd: Type.Number(),
  },
  { title: 'UsageTotals' },
);
export type UsageTotals = Static<typeof UsageTotalsSchema>;

/** The token details of `/v1/usage`: parts of the input and output tokens the provider reported. */
const TokenDetails = {
  cached_input_tokens: Type.Integer({ description: "Of input_tokens, those read from the provider's prompt cache (priced cached_input_per_mtok)" }),
  reasoning_tokens: Type.Integer({ description: 'Of output_tokens, those spent reasoning' }),
};

export const UsageReportTotalsSchema = Type.Object({ ...UsageTotalsSchema.properties, ...TokenDetails }, { title: 'UsageReportTotals' });
export type UsageReportTotals = Static<typeof UsageReportTotalsSchema>;

export const UsageItemSchema = Type.Object({
  tenant_id: Type.String(),
  workflow: Type.Union([Type.String(), Type.Null()], { description: 'Null for calls made outside a workflow' }),
  model_group: Type.String(),
  model: Type.String({ description: 'The upstream model' }),
  day: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  ...UsageReportTotalsSchema.properties,
});
export type UsageItemDto = Static<typeof UsageItemSchema>;

export const UsageReportSchema = Type.Object({ items: Type.Array(UsageItemSchema), totals: UsageReportTotalsSchema });
export type UsageReportDto = Static<typeof UsageReportSchema>;

/** Sums of usage rows (the run's usage on `GET /v1/runs/{id}`, the totals of `/v1/usage`). */
export function usageTotals(rows: readonly Pick<UsageRow, 'calls' | 'inputTokens' | 'outputTokens' | 'costUsd'>[]): UsageTotals {
  const totals: UsageTotals = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const row of rows) {
    totals.calls += row.calls;
    totals.input_tokens += row.inputTokens;
    totals.output_tokens += row.outputTokens;
    totals.cost_usd += row.costUsd;
  }
  totals.cost_usd = Math.round(totals.cost_usd * 1e8) / 1e8;
  return totals;
}

/** Sums of usage rows with their token details (the totals of `/v1/usage`). */
export function usageReportTotals(rows: readonly UsageRow[]): UsageReportTotals {
  const totals: UsageReportTotals = { ...usageTotals(rows), cached_input_tokens: 0, reasoning_tokens: 0 };
  for (const row of rows) {
    totals.cached_input_tokens += row.cachedTokens;
    totals.reasoning_tokens += row.reasoningTokens;
  }
  return totals;
}

export function usageItemDto(row: UsageRow): UsageItemDto {
  return {
    tenant_id: row.tenantId,
    workflow: row.workflow,
    model_group: row.group,
    model: row.model,
    day: row.day,
    calls: row.calls,
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    cost_usd: row.costUsd,
    cached_input_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
  };
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const BudgetItemSchema = Type.Object(
  {
    scope: Type.Union([Type.Literal('tenant'), Type.Literal('workflow')]),
    workflow: Nullable(Type.String({ description: 'The workflow of a workflow budget' })),
    period: Type.Union([Type.Literal('day'), Type.Literal('month')]),
    window: Type.String({ description: 'The current period: UTC day YYYY-MM-DD, or UTC month YYYY-MM' }),
    resets_at: Type.String({ description: 'When the next period starts (ISO 8601, UTC)' }),
    limit_usd: Nullable(Type.Number({ description: 'Null: no USD limit' })),
    limit_tokens: Nullable(Type.Integer({ description: 'Null: no token limit' })),
    spent_usd: Type.Number({ description: 'Recorded calls in the period' }),
    spent_tokens: Type.Integer(),
    reserved_usd: Type.Number({ description: 'Worst cases of calls in flight (any process)' }),
    reserved_tokens: Type.Integer(),
  },
  { title: 'BudgetItem' },
);
export type BudgetItemDto = Static<typeof BudgetItemSchema>;

export const BudgetReportSchema = Type.Object(
  { tenant_id: Type.String(), budgets: Type.Array(BudgetItemSchema, { description: "The tenant's budgets, then its workflows' (only those with a limit)" }) },
  { title: 'BudgetReport' },
);
export type BudgetReportDto = Static<typeof BudgetReportSchema>;
