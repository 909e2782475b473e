/** What `GET /v1/admin/quotas` and `agentry limits show` return: the limits in force and each tenant's run usage. */
import { Type, type Static } from 'typebox';
import type { LimitsSettings, RateLimit, TenantLimits } from '../../spec/limits.js';
import type { TenantRunUsage } from '../../store/store.js';

const Limit = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description: `${description}; null: no limit` });

export const RateLimitSchema = Type.Union(
  [Type.Object({ requests_per_minute: Type.Integer(), burst: Type.Integer() }, { additionalProperties: false }), Type.Null()],
  { title: 'RateLimit', description: 'A token bucket of `burst` requests refilled at `requests_per_minute`; null: no limit' },
);
export type RateLimitDto = Static<typeof RateLimitSchema>;

export const TenantLimitsSchema = Type.Object(
  {
    requests_per_minute: Limit('Requests a minute the tenant’s bucket refills with'),
    burst: Limit('Requests the tenant’s bucket holds'),
    max_concurrent_runs: Limit('Runs not yet ended (queued, running, waiting)'),
    max_runs_per_hour: Limit('Runs started in any rolling hour'),
  },
  { title: 'TenantLimits', additionalProperties: false },
);
export type TenantLimitsDto = Static<typeof TenantLimitsSchema>;

export const TenantQuotaUsageSchema = Type.Object(
  {
    tenant_id: Type.String(),
    limits: TenantLimitsSchema,
    concurrent_runs: Type.Integer({ description: 'Runs of the tenant not yet ended' }),
    runs_last_hour: Type.Integer({ description: 'Runs of the tenant started in the last 60 minutes (child runs included)' }),
  },
  { title: 'TenantQuotaUsage' },
);
export type TenantQuotaUsageDto = Static<typeof TenantQuotaUsageSchema>;

export const QuotasSchema = Type.Object(
  {
    defaults: TenantLimitsSchema,
    tenants: Type.Record(Type.String(), TenantLimitsSchema, { description: 'Tenants with their own `limits.tenants` entry (effective values)' }),
    roles: Type.Record(Type.String(), RateLimitSchema, { description: 'Request rate of a key by role (`limits.roles`)' }),
    keys: Type.Record(Type.String(), RateLimitSchema, { description: 'Request rate of a key by name (`limits.keys`)' }),
    usage: Type.Array(TenantQuotaUsageSchema, { description: "The caller's tenant, or every tenant for a caller that reads every tenant" }),
  },
  { title: 'Quotas' },
);
export type QuotasDto = Static<typeof QuotasSchema>;

export function rateLimitDto(rate: RateLimit | null): RateLimitDto {
  return rate === null ? null : { requests_per_minute: rate.requestsPerMinute, burst: rate.burst };
}

export function tenantLimitsDto(limits: TenantLimits): TenantLimitsDto {
  return {
    requests_per_minute: limits.rate?.requestsPerMinute ?? null,
    burst: limits.rate?.burst ?? null,
    max_concurrent_runs: limits.maxConcurrentRuns,
    max_runs_per_hour: limits.maxRunsPerHour,
  };
}

export function rateMapDto(rates: LimitsSettings['roles']): Record<string, RateLimitDto> {
  return Object.fromEntries(Object.entries(rates).map(([name, rate]) => [name, rateLimitDto(rate ?? null)]));
}

export function quotaUsageDto(usage: TenantRunUsage, limits: TenantLimits): TenantQuotaUsageDto {
  return { tenant_id: usage.tenantId, limits: tenantLimitsDto(limits), concurrent_runs: usage.activeRuns, runs_last_hour: usage.runsLastHour };
}
