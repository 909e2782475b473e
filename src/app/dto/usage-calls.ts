/** What `GET /v1/usage/calls` returns: the ledger's call records (one per attempt), newest first, a page at a time. */
import { Type, type Static, type TSchema } from 'typebox';
import { CALL_OUTCOMES, type CallRecord } from '../../types.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const UsageCallSchema = Type.Object(
  {
    id: Type.String({ description: "The attempt's id (its trace span and log lines carry it as call_id)" }),
    tenant_id: Type.String(),
    run_id: Nullable(Type.String({ description: 'Null for calls through the OpenAI/Anthropic-compatible routes' })),
    step_id: Nullable(Type.String()),
    workflow: Nullable(Type.String()),
    model_group: Type.String(),
    provider: Type.String(),
    model: Type.String({ description: 'The upstream model' }),
    status: Type.Enum([...CALL_OUTCOMES], { description: 'ok, error, budget_exceeded (refused, never sent) or cancelled' }),
    error_code: Nullable(Type.String({ description: 'The stable error code of a failed attempt (rate_limited, timeout, provider_error, …)' })),
    latency_ms: Type.Integer(),
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cached_input_tokens: Type.Integer({ description: "Of input_tokens, those read from the provider's prompt cache" }),
    reasoning_tokens: Type.Integer({ description: 'Of output_tokens, those spent reasoning' }),
    cost_usd: Type.Number(),
    cache_hit: Type.Boolean({ description: "Answered from the gateway's response cache: no upstream call, cost 0" }),
    at: Type.String({ format: 'date-time', description: 'When the attempt started' }),
  },
  { title: 'UsageCall' },
);
export type UsageCallDto = Static<typeof UsageCallSchema>;

export const UsageCallPageSchema = Type.Object({ items: Type.Array(UsageCallSchema), next_cursor: Nullable(Type.String()) }, { title: 'UsageCallPage' });
export type UsageCallPageDto = Static<typeof UsageCallPageSchema>;

export function usageCallDto(r: CallRecord): UsageCallDto {
  return {
    id: r.id,
    tenant_id: r.tenantId,
    run_id: r.runId,
    step_id: r.stepId,
    workflow: r.workflow,
    model_group: r.group,
    provider: r.provider,
    model: r.model,
    status: r.outcome,
    error_code: r.errorCode ?? null,
    latency_ms: r.latencyMs,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedTokens ?? 0,
    reasoning_tokens: r.reasoningTokens ?? 0,
    cost_usd: r.costUsd,
    cache_hit: r.cacheHit === true,
    at: new Date(r.at).toISOString(),
  };
}
