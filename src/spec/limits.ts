/**
 * `limits:` of `agentry.yaml`: request rate limits per tenant, role and key, and run quotas per
 * tenant (docs/security.md#rate-limits-and-quotas). The schema is part of `ProjectSchema`; the
 * resolver merges the built-in defaults, the file and the selected profile, field by field, and
 * reports what the schema cannot say (a `burst` without a rate) as problems at their path.
 *
 *   limits:
 *     tenants:
 *       defaults: { requests_per_minute: 600, burst: 120, max_concurrent_runs: 100, max_runs_per_hour: 2000 }
 *       acme: { requests_per_minute: 60, max_concurrent_runs: 5 }
 *     roles: { service: { requests_per_minute: 300 } }
 *     keys: { ci: { requests_per_minute: 30 } }
 *
 * A limit that is `null` (or absent everywhere) is unlimited.
 */
import { Type, type Static } from 'typebox';
import type { PathSegment, Problem } from './diagnostics.js';

const closed = { additionalProperties: false } as const;
const opt = Type.Optional;

/** The built-in roles a `roles:` entry may name (the server's `ROLES`; a unit test keeps them in step). */
export const LIMIT_ROLES = ['admin', 'operator', 'service', 'reviewer', 'viewer'] as const;

/** The entry of `tenants:` that holds every tenant's defaults (so no tenant can be named `defaults`). */
export const TENANT_DEFAULTS_KEY = 'defaults';

const TENANT_PATTERN = '^[A-Za-z0-9_.@-]{1,64}$';
const KEY_NAME_PATTERN = '^[A-Za-z0-9_.@:-]{1,128}$';

function limit(minimum: number, description: string) {
  return opt(
    Type.Union([Type.Integer({ minimum }), Type.Null()], {
      description,
      errorMessage: `must be a whole number of at least ${minimum}, or null for no limit`,
    }),
  );
}

const rateFields = {
  requests_per_minute: limit(1, 'Requests a minute the bucket refills with (its steady rate); null: no limit.'),
  burst: limit(1, 'Requests the bucket holds (sent at once after a quiet spell). Default: requests_per_minute.'),
};

const RateLimitSpec = Type.Object(rateFields, closed);
const TenantLimitsSpec = Type.Object(
  {
    ...rateFields,
    max_concurrent_runs: limit(0, 'Runs of the tenant that have not ended (queued, running, waiting); 0 stops new runs; null: no limit.'),
    max_runs_per_hour: limit(0, 'Runs the tenant may start in any rolling hour (60 minutes back from now); null: no limit.'),
  },
  closed,
);

export const LimitsSchema = Type.Object(
  {
    tenants: opt(
      Type.Record(Type.String({ pattern: TENANT_PATTERN, errorMessage: 'must be a tenant id: 1–64 letters, digits or _.@-' }), TenantLimitsSpec, {
        ...closed,
        description: '`defaults` applies to every tenant; an entry named after a tenant overrides the fields it sets.',
      }),
    ),
    roles: opt(
      Type.Object(Object.fromEntries(LIMIT_ROLES.map((role) => [role, opt(RateLimitSpec)])), {
        ...closed,
        description: 'Request rate of a key by its role (a key with several roles gets the most generous).',
      }),
    ),
    keys: opt(
      Type.Record(Type.String({ pattern: KEY_NAME_PATTERN, errorMessage: 'must be a key name: 1–128 letters, digits or _.@:-' }), RateLimitSpec, {
        ...closed,
        description: 'Request rate of the key (principal) of this name, in each tenant; wins over its role.',
      }),
    ),
  },
  { ...closed, description: 'Request rate limits and run quotas (docs/security.md#rate-limits-and-quotas).' },
);
export type LimitsSpec = Static<typeof LimitsSchema>;

/** A token bucket: `burst` requests at once, refilled at `requestsPerMinute`. */
export interface RateLimit {
  requestsPerMinute: number;
  burst: number;
}

/** A tenant's effective limits; null: unlimited. */
export interface TenantLimits {
  rate: RateLimit | null;
  maxConcurrentRuns: number | null;
  maxRunsPerHour: number | null;
}

export interface LimitsSettings {
  /** What a tenant without an entry gets. */
  defaults: TenantLimits;
  /** Tenants with an entry, with the defaults filled in. */
  tenants: Readonly<Record<string, TenantLimits>>;
  /** By role; null: that role is explicitly unlimited. */
  roles: Readonly<Record<string, RateLimit | null>>;
  /** By key (principal) name; null: that key is explicitly unlimited. */
  keys: Readonly<Record<string, RateLimit | null>>;
}

type RawRate = { requests_per_minute?: number | null; burst?: number | null };
type RawTenant = RawRate & { max_concurrent_runs?: number | null; max_runs_per_hour?: number | null };

/**
 * The built-in defaults: no request rate limit (each limited request costs a database write,
 * so it is opt-in), and run quotas high enough never to stop a sane workload while still
 * bounding a runaway one.
 */
export const LIMITS_DEFAULTS: RawTenant = {
  requests_per_minute: null,
  burst: null,
  max_concurrent_runs: 1_000,
  max_runs_per_hour: 10_000,
};

/** Entries of one layer merged into `into`, field by field (a later layer's `null` clears a limit). */
function mergeEntries<T extends object>(
  into: Map<string, { value: T; path: PathSegment[] }>,
  entries: Record<string, T | undefined> | undefined,
  path: PathSegment[],
): void {
  for (const [name, value] of Object.entries(entries ?? {})) {
    if (value === undefined) continue;
    const prior = into.get(name)?.value;
    into.set(name, { value: { ...prior, ...value }, path: [...path, name] });
  }
}

/** The bucket of an entry; `own` is the entry as written (a burst inherited from the defaults is no mistake). */
function rateOf(raw: RawRate, path: PathSegment[], problems: Problem[], own: RawRate = raw): RateLimit | null {
  const rpm = raw.requests_per_minute ?? null;
  const burst = raw.burst ?? null;
  if (rpm === null) {
    if (own.burst != null) problems.push({ path: [...path, 'burst'], message: 'burst needs requests_per_minute (the rate that refills it)' });
    return null;
  }
  return { requestsPerMinute: rpm, burst: burst ?? rpm };
}

function tenantOf(raw: RawTenant, path: PathSegment[], problems: Problem[], own: RawTenant = raw): TenantLimits {
  return {
    rate: rateOf(raw, path, problems, own),
    maxConcurrentRuns: raw.max_concurrent_runs ?? null,
    maxRunsPerHour: raw.max_runs_per_hour ?? null,
  };
}

/** The effective limits of the layers (the file, then the profile), over the built-in defaults. */
export function resolveLimits(layers: ReadonlyArray<{ limits: LimitsSpec | undefined; path: PathSegment[] }>, problems: Problem[]): LimitsSettings {
  const tenants = new Map<string, { value: RawTenant; path: PathSegment[] }>([[TENANT_DEFAULTS_KEY, { value: LIMITS_DEFAULTS, path: [] }]]);
  const roles = new Map<string, { value: RawRate; path: PathSegment[] }>();
  const keys = new Map<string, { value: RawRate; path: PathSegment[] }>();
  for (const { limits, path } of layers) {
    mergeEntries(tenants, limits?.tenants, [...path, 'limits', 'tenants']);
    mergeEntries(roles, limits?.roles, [...path, 'limits', 'roles']);
    mergeEntries(keys, limits?.keys, [...path, 'limits', 'keys']);
  }
  const { value: defaultsRaw, path: defaultsPath } = tenants.get(TENANT_DEFAULTS_KEY)!;
  const defaults = tenantOf(defaultsRaw, defaultsPath, problems);
  const byTenant: Record<string, TenantLimits> = {};
  for (const [name, { value, path }] of tenants) {
    if (name === TENANT_DEFAULTS_KEY) continue;
    if (name === 'system') {
      problems.push({ path, atKey: true, message: "'system' is reserved and holds no data; it has no limits" });
      continue;
    }
    byTenant[name] = Object.freeze(tenantOf({ ...defaultsRaw, ...value }, path, problems, value));
  }
  const rates = (entries: Map<string, { value: RawRate; path: PathSegment[] }>) =>
    Object.freeze(Object.fromEntries([...entries].map(([name, { value, path }]) => [name, rateOf(value, path, problems)])));
  return Object.freeze({ defaults: Object.freeze(defaults), tenants: Object.freeze(byTenant), roles: rates(roles), keys: rates(keys) });
}

/** The limits of a project without `limits:`. */
export const DEFAULT_LIMITS: LimitsSettings = resolveLimits([], []);

/** The limits of `tenantId`: its entry, else the defaults. */
export function tenantLimits(limits: LimitsSettings, tenantId: string): TenantLimits {
  return limits.tenants[tenantId] ?? limits.defaults;
}

/**
 * The request rate of a key: its `keys:` entry, else the most generous of its roles' entries
 * (an unlimited role wins), else none. `grants` are the key's roles and scopes as configured.
 */
export function keyRate(limits: LimitsSettings, name: string, grants: readonly string[]): RateLimit | null {
  if (Object.hasOwn(limits.keys, name)) return limits.keys[name] ?? null;
  let best: RateLimit | null | undefined;
  for (const grant of grants) {
    if (!Object.hasOwn(limits.roles, grant)) continue;
    const rate = limits.roles[grant] ?? null;
    if (rate === null) return null;
    if (
      best === undefined ||
      best === null ||
      rate.requestsPerMinute > best.requestsPerMinute ||
      (rate.requestsPerMinute === best.requestsPerMinute && rate.burst > best.burst)
    ) {
      best = rate;
    }
  }
  return best ?? null;
}
