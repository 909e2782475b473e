/**
 * Request rate limits and run quotas (docs/security.md#rate-limits-and-quotas).
 *
 * Each authenticated API request takes a token from up to two buckets: its key's (the
 * principal's name in its tenant; the rate from `limits.keys`, else its roles', else none)
 * and then its tenant's (`limits.tenants`). A request refused by its key's bucket leaves its
 * tenant's alone, so one noisy key cannot use up its tenant's budget by being refused. A bucket
 * is a row of `rate_buckets` and a take is one SQL statement (`store/sql/limits.ts`), so API
 * processes on one PostgreSQL database share every bucket; a limit that is null costs nothing.
 *
 * Run quotas are checked by the engine when a run is started (`Engine` `limits`); this
 * service shows them with each tenant's usage.
 */
import { AgentryError } from '../lib/errors.js';
import { keyRate, tenantLimits, type LimitsSettings, type RateLimit } from '../spec/limits.js';
import type { RateTakeResult, TenantRunUsage } from '../store/store.js';
import type { Caller } from './caller.js';
import { quotaUsageDto, rateMapDto, tenantLimitsDto, type QuotasDto } from './dto/limits.js';
import type { ServiceDeps } from './service-deps.js';

/** How often (at most) this process deletes buckets that are full again. */
const PRUNE_EVERY_MS = 60_000;

/**
 * Whether the caller sees every tenant's quotas and usage: system admins, and the CLI's user on
 * its own store unless it narrowed the view with `--tenant`.
 */
function readsEveryTenant(caller: Caller): boolean {
  return caller.tenantId === undefined || caller.systemAdmin === true;
}

/** What the `RateLimit-*` headers say: the bucket closest to refusing. */
export interface RateLimitState {
  /** Requests the bucket holds when full (`RateLimit-Limit`). */
  limit: number;
  /** Whole requests left now (`RateLimit-Remaining`). */
  remaining: number;
  /** Seconds until the bucket is full again (`RateLimit-Reset`). */
  resetSeconds: number;
}

/** The outcome of a request's takes. */
export interface Admission {
  /** Undefined when no limit applies to the request (no headers are sent). */
  state?: RateLimitState;
  /** Set when the request is refused: a `rate_limited` error with its `retryAfterMs`. */
  refused?: AgentryError;
  /** Which bucket refused it (the metric's `reason`). */
  reason?: 'key' | 'tenant';
  tenantId: string;
}

interface Bucket {
  reason: 'key' | 'tenant';
  bucket: string;
  rate: RateLimit;
}

function stateOf(rate: RateLimit, result: RateTakeResult, now: number): RateLimitState {
  return {
    limit: rate.burst,
    remaining: Math.max(0, Math.floor(result.tokens + 1e-9)),
    resetSeconds: Math.max(0, Math.ceil((result.fullAt - now) / 1000)),
  };
}

export class LimitsService {
  private lastPrune = 0;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'engine' | 'store'>,
    private readonly now: () => number = Date.now,
  ) {}

  private get limits(): LimitsSettings {
    return this.deps.engine.limits;
  }

  /** The buckets a request of `caller` takes from, in order: its key's, then its tenant's. */
  private bucketsOf(caller: Pick<Caller, 'name' | 'roles' | 'tenantId'>, tenantId: string): Bucket[] {
    const buckets: Bucket[] = [];
    const key = keyRate(this.limits, caller.name, caller.roles);
    if (key) buckets.push({ reason: 'key', bucket: `k/${tenantId}/${caller.name}`, rate: key });
    const tenant = tenantLimits(this.limits, tenantId).rate;
    if (tenant) buckets.push({ reason: 'tenant', bucket: `t/${tenantId}`, rate: tenant });
    return buckets;
  }

  /** Whether a request of `caller` takes rate-limit tokens at all (`admitRequest` need not be called when not). */
  limitsRequests(caller: Pick<Caller, 'name' | 'roles' | 'tenantId'>): boolean {
    return this.bucketsOf(caller, caller.tenantId ?? this.deps.engine.tenant).length > 0;
  }

  /**
   * Takes a token for one API request of `caller` from its key's and its tenant's buckets.
   * Costs one database statement per bucket that has a limit (none when neither has).
   */
  async admitRequest(caller: Pick<Caller, 'name' | 'roles' | 'tenantId'>): Promise<Admission> {
    const tenantId = caller.tenantId ?? this.deps.engine.tenant;
    const buckets = this.bucketsOf(caller, tenantId);
    if (buckets.length === 0) return { tenantId };
    const now = this.now();
    this.pruneNowAndThen(now);
    let state: RateLimitState | undefined;
    for (const { reason, bucket, rate } of buckets) {
      const perMs = rate.requestsPerMinute / 60_000;
      const result = await this.deps.store.takeRateToken({ bucket, capacity: rate.burst, perMs }, now);
      const taken = stateOf(rate, result, now);
      if (!result.allowed) {
        const retryAfterMs = Math.max(1, (1 - result.tokens) / perMs);
        const whose = reason === 'key' ? `key ${caller.name}` : `tenant ${tenantId}`;
        const refused = new AgentryError(
          'rate_limited',
          `${whose} is over its rate limit of ${rate.requestsPerMinute} requests a minute (burst ${rate.burst}); try again in ${Math.ceil(retryAfterMs / 1000)} s`,
          {
            retryable: true,
            retryAfterMs,
            details: { limit: reason, tenant: tenantId, requests_per_minute: rate.requestsPerMinute, burst: rate.burst },
          },
        );
        return { state: { ...taken, remaining: 0 }, refused, reason, tenantId };
      }
      if (state === undefined || taken.remaining < state.remaining) state = taken;
    }
    return { ...(state ? { state } : {}), tenantId };
  }

  /** Deletes full buckets at most once a minute, without holding up the request (a failure waits for the next turn). */
  private pruneNowAndThen(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    this.deps.store.pruneRateBuckets(now).catch(() => undefined);
  }

  /** The limits in force and the run usage of the caller's tenant (of every tenant for a caller that reads every tenant). */
  async quotas(caller: Caller): Promise<QuotasDto> {
    const tenantId = readsEveryTenant(caller) ? undefined : (caller.tenantId ?? this.deps.engine.tenant);
    return quotasDto(this.limits, await this.deps.store.tenantRunUsage(this.now(), tenantId), caller, this.deps.engine.tenant);
  }
}

/**
 * The limits in force with the run usage of the caller's tenant, or of every tenant (those with
 * an entry, with runs, and the deployment's) for a caller that reads every tenant. Another
 * tenant's own entry is not shown to a tenant's caller.
 */
export function quotasDto(limits: LimitsSettings, usage: readonly TenantRunUsage[], caller: Caller, deploymentTenant: string): QuotasDto {
  const every = readsEveryTenant(caller);
  const own = caller.tenantId ?? deploymentTenant;
  const byTenant = new Map(usage.map((u) => [u.tenantId, u]));
  const shown = every ? new Set([deploymentTenant, ...Object.keys(limits.tenants), ...byTenant.keys()]) : new Set([own]);
  const tenants = Object.entries(limits.tenants).filter(([name]) => every || name === own);
  return {
    defaults: tenantLimitsDto(limits.defaults),
    tenants: Object.fromEntries(tenants.map(([name, entry]) => [name, tenantLimitsDto(entry)])),
    roles: rateMapDto(limits.roles),
    keys: rateMapDto(limits.keys),
    usage: [...shown]
      .sort()
      .map((tenantId) => quotaUsageDto(byTenant.get(tenantId) ?? { tenantId, activeRuns: 0, runsLastHour: 0 }, tenantLimits(limits, tenantId))),
  };
}
