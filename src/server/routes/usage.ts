/** LLM usage from the gateway's ledger: tokens, cost and calls by tenant, workflow, model group, model and UTC day. */
import { Type, type Static } from 'typebox';
import { AgentryError } from '../../lib/errors.js';
import type { UsageQuery, UsageRow } from '../../store/store.js';
import type { RouteTable, ServerDeps } from '../route.js';

const DAY = '^\\d{4}-\\d{2}-\\d{2}$';

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

const UsageItemSchema = Type.Object({
  tenant_id: Type.String(),
  workflow: Type.Union([Type.String(), Type.Null()], { description: 'Null for calls made outside a workflow' }),
  model_group: Type.String(),
  model: Type.String({ description: 'The upstream model' }),
  day: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  ...UsageTotalsSchema.properties,
});

/** Sums of usage rows (the run's usage on `GET /v1/runs/{id}`, the totals here). */
export function usageTotals(rows: readonly UsageRow[]): UsageTotals {
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

function day(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) throw new AgentryError('invalid_request', `${name} is not a date (YYYY-MM-DD)`);
  return text;
}

export function usageRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/usage',
    scope: 'usage:read',
    summary: 'LLM tokens, cost and calls by tenant, workflow, model group, model and UTC day',
    tags: ['usage'],
    errors: [],
    schema: {
      querystring: Type.Object({
        workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        run_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        from: Type.Optional(Type.String({ pattern: DAY, description: 'First UTC day (YYYY-MM-DD), inclusive' })),
        to: Type.Optional(Type.String({ pattern: DAY, description: 'Last UTC day (YYYY-MM-DD), inclusive' })),
      }),
      response: { 200: Type.Object({ items: Type.Array(UsageItemSchema), totals: UsageTotalsSchema }) },
    },
    async handler(request, _reply, principal) {
      const q = request.query;
      const fromDay = day(q.from, 'from');
      const toDay = day(q.to, 'to');
      const query: UsageQuery = {
        // A key scoped to a tenant sees that tenant only; the deployment's own keys see every tenant.
        ...(principal.tenantId === undefined ? {} : { tenantId: principal.tenantId }),
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(q.run_id === undefined ? {} : { runId: q.run_id }),
        ...(fromDay === undefined ? {} : { fromDay }),
        ...(toDay === undefined ? {} : { toDay }),
      };
      const rows = await deps.store.usage(query);
      return {
        items: rows.map((r) => ({
          tenant_id: r.tenantId,
          workflow: r.workflow,
          model_group: r.group,
          model: r.model,
          day: r.day,
          calls: r.calls,
          input_tokens: r.inputTokens,
          output_tokens: r.outputTokens,
          cost_usd: r.costUsd,
        })),
        totals: usageTotals(rows),
      };
    },
  });
}
