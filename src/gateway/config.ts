/**
 * gateway.yaml (already schema-checked) → the resolved settings the gateway runs with:
 * `{{ env.NAME }}` references read from the environment, durations in milliseconds,
 * defaults filled in. Cross-field problems are reported all at once.
 */
import { AgentryError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import type { Problem } from '../spec/diagnostics.js';
import type { RetryPolicy } from '../spec/model.js';
import type { DurationValue, GatewayBudgetsSpec, GatewayRetrySpec, GatewaySpec, MockRuleSpec, UpstreamLimitsSpec } from '../spec/schemas.js';

export const GATEWAY_DEFAULTS = {
  timeoutMs: 60_000,
  retry: { maxAttempts: 3, backoff: 'exponential', initialMs: 500, maxMs: 30_000, jitter: true },
  maxOutputTokens: 4096,
} as const satisfies { timeoutMs: number; retry: RetryPolicy; maxOutputTokens: number };

export const PROVIDER_TYPES = ['openai', 'anthropic', 'openai-compatible', 'mock'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const DEFAULT_KEY_ENV: Partial<Record<ProviderType, string>> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };
const DEFAULT_BASE_URL: Partial<Record<ProviderType, string>> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

export interface ResolvedProvider {
  name: string;
  type: ProviderType;
  baseUrl: string | undefined;
  /** `base_url` was set in gateway.yaml (not the provider's public default). */
  baseUrlConfigured: boolean;
  /** The key itself: never log, serialise or return it. */
  apiKey: string | undefined;
  /** The variable the key was read from (safe to show). */
  apiKeyEnv: string | undefined;
  timeoutMs: number | undefined;
  script: MockRuleSpec[];
  /** Upstream throttling of every call to this provider (`throttle.ts`). */
  limits: UpstreamLimits | undefined;
}

/** gateway.yaml `limits:` of a provider or a target. */
export interface UpstreamLimits {
  requestsPerMinute: number | undefined;
  tokensPerMinute: number | undefined;
  burst: number;
}

export interface ResolvedTarget {
  provider: string;
  model: string;
  inputPerMtok: number;
  outputPerMtok: number;
  /** Price of input tokens served from the provider's prompt cache (default: `inputPerMtok`). */
  cachedInputPerMtok: number;
  /** Output cap sent when a request sets none (gateway.yaml `max_tokens`); undefined: none is sent. */
  maxTokens: number | undefined;
  /** Output a budget check assumes when neither the request nor `maxTokens` caps it. */
  maxOutputTokens: number;
  /** Upstream throttling of this provider/model (`throttle.ts`). */
  limits: UpstreamLimits | undefined;
}

export interface ResolvedGroup {
  name: string;
  description: string | undefined;
  targets: ResolvedTarget[];
  retry: RetryPolicy;
  timeoutMs: number | undefined;
  /** Drop the parameters a target cannot honour instead of refusing the request (`params.ts`). */
  dropParams: boolean;
  /** The exact-match response cache (`cache.ts`); undefined: off. */
  cache: { ttlMs: number; toolsSafe: boolean } | undefined;
}

/** A limit on one period's spend; an unset metric is unlimited. */
export interface BudgetLimit {
  usd?: number;
  tokens?: number;
}

export const BUDGET_PERIODS = ['day', 'month'] as const;
/** A UTC day or a UTC calendar month. */
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export type PeriodLimits = Record<BudgetPeriod, BudgetLimit>;

export interface ResolvedBudgets {
  workflow: (name: string) => PeriodLimits;
  tenant: (id: string) => PeriodLimits;
}

export interface ResolvedGateway {
  providers: Map<string, ResolvedProvider>;
  groups: Map<string, ResolvedGroup>;
  budgets: ResolvedBudgets;
  defaultTimeoutMs: number;
  /** Every secret value in use, for redaction. */
  secrets: string[];
}

const ENV_REF = /\{\{\s*env\.([A-Z_][A-Z0-9_]*)\s*\}\}/g;

/** Cross-field problems of a schema-valid gateway spec (the loader can report these too). */
export function gatewaySpecProblems(spec: GatewaySpec): Problem[] {
  const problems: Problem[] = [];
  const providers = Object.keys(spec.providers);
  for (const [name, p] of Object.entries(spec.providers)) {
    const at = ['providers', name];
    if (p.type !== 'mock' && p.script !== undefined)
      problems.push({ path: [...at, 'script'], message: `script is only for type mock (this provider is ${p.type})` });
    if (p.type === 'mock' && (p.api_key !== undefined || p.base_url !== undefined)) {
      problems.push({ path: at, message: 'a mock provider takes no api_key or base_url' });
    }
    if (p.limits !== undefined && p.limits.requests_per_minute === undefined && p.limits.tokens_per_minute === undefined)
      problems.push({ path: [...at, 'limits'], message: 'limits needs requests_per_minute or tokens_per_minute', atKey: true });
    if (p.type === 'openai-compatible' && p.base_url === undefined)
      problems.push({ path: at, message: 'an openai-compatible provider needs base_url', atKey: true });
    for (const ref of [p.api_key, p.base_url]) {
      for (const m of (ref ?? '').matchAll(ENV_REF)) {
        const variable = m[1]!;
        if (spec.env !== undefined && spec.env[variable] === undefined && variable !== DEFAULT_KEY_ENV[p.type]) {
          problems.push({ path: at, message: `env.${variable} is not declared under env:`, severity: 'warning' });
        }
      }
    }
  }
  for (const [group, model] of Object.entries(spec.models)) {
    model.targets.forEach((target, i) => {
      if (!providers.includes(target.provider))
        problems.push({ path: ['models', group, 'targets', i, 'provider'], message: `unknown provider '${target.provider}'` });
      if (target.limits !== undefined && target.limits.requests_per_minute === undefined && target.limits.tokens_per_minute === undefined)
        problems.push({ path: ['models', group, 'targets', i, 'limits'], message: 'limits needs requests_per_minute or tokens_per_minute', atKey: true });
    });
  }
  return problems;
}

/**
 * Resolves the spec against `env`. Throws `spec_invalid` for cross-field errors and
 * `secret_missing` (naming the variable, never a value) for a provider key that is not set.
 */
export function resolveGatewaySpec(spec: GatewaySpec, env: Readonly<Record<string, string | undefined>>): ResolvedGateway {
  const errors = gatewaySpecProblems(spec).filter((p) => p.severity !== 'warning');
  if (errors.length > 0) {
    throw new AgentryError('spec_invalid', `gateway.yaml: ${errors.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, {
      details: { problems: errors },
    });
  }
  const missing = Object.entries(spec.env ?? {})
    .filter(([name, v]) => v.required === true && v.default === undefined && !env[name])
    .map(([name]) => name);
  if (missing.length > 0)
    throw new AgentryError('secret_missing', `gateway.yaml needs ${missing.map((n) => `env.${n}`).join(', ')}, which is not set`, {
      details: { variables: missing },
    });
  const read = (name: string): string | undefined => env[name] || spec.env?.[name]?.default || undefined;
  const secrets: string[] = Object.entries(spec.env ?? {})
    .filter(([, v]) => v.secret === true)
    .flatMap(([name]) => (read(name) === undefined ? [] : [read(name)!]));

  const providers = new Map<string, ResolvedProvider>();
  for (const [name, p] of Object.entries(spec.providers)) {
    const keyEnv = p.api_key === undefined ? DEFAULT_KEY_ENV[p.type] : /env\.([A-Z_][A-Z0-9_]*)/.exec(p.api_key)?.[1];
    const apiKey = keyEnv === undefined ? undefined : read(keyEnv);
    if (apiKey === undefined && (p.type === 'openai' || p.type === 'anthropic')) {
      throw new AgentryError('secret_missing', `gateway provider '${name}' (${p.type}) needs env.${keyEnv ?? '?'}, which is not set`, {
        details: { provider: name, variable: keyEnv },
      });
    }
    if (apiKey !== undefined) secrets.push(apiKey);
    const baseUrl = p.base_url === undefined ? DEFAULT_BASE_URL[p.type] : p.base_url.replace(ENV_REF, (_m, v: string) => read(v) ?? '');
    providers.set(name, {
      name,
      type: p.type,
      baseUrl,
      baseUrlConfigured: p.base_url !== undefined,
      apiKey,
      apiKeyEnv: keyEnv,
      timeoutMs: ms(p.timeout),
      script: p.script ?? [],
      limits: upstreamLimits(p.limits),
    });
  }

  const defaultRetry = retryPolicy(spec.defaults?.retry, GATEWAY_DEFAULTS.retry);
  const maxOutput = spec.defaults?.max_output_tokens ?? GATEWAY_DEFAULTS.maxOutputTokens;
  const groups = new Map<string, ResolvedGroup>();
  for (const [name, g] of Object.entries(spec.models)) {
    groups.set(name, {
      name,
      description: g.description,
      retry: retryPolicy(g.retry, defaultRetry),
      timeoutMs: ms(g.timeout),
      dropParams: g.drop_params ?? false,
      cache: g.cache === undefined ? undefined : { ttlMs: ms(g.cache.ttl)!, toolsSafe: g.cache.tools_safe ?? false },
      targets: g.targets.map((t) => ({
        provider: t.provider,
        model: t.model,
        inputPerMtok: t.input_per_mtok ?? 0,
        outputPerMtok: t.output_per_mtok ?? 0,
        cachedInputPerMtok: t.cached_input_per_mtok ?? t.input_per_mtok ?? 0,
        maxTokens: t.max_tokens ?? g.max_tokens,
        maxOutputTokens: t.max_output_tokens ?? maxOutput,
        limits: upstreamLimits(t.limits),
      })),
    });
  }

  return { providers, groups, budgets: resolveBudgets(spec.budgets), defaultTimeoutMs: ms(spec.defaults?.timeout) ?? GATEWAY_DEFAULTS.timeoutMs, secrets };
}

type BudgetLimitsSpec = NonNullable<GatewayBudgetsSpec['per_tenant']>[string];

/**
 * gateway.yaml `budgets:` → the limits of a workflow and of a tenant, per day and per month. A
 * named entry (`per_workflow.<name>`, `per_tenant.<id>`) that sets a period's fields replaces
 * the defaults of that period; the periods it does not mention keep the defaults.
 */
export function resolveBudgets(b: GatewayBudgetsSpec = {}): ResolvedBudgets {
  const workflowDefaults: BudgetLimitsSpec = {
    ...opt('daily_usd', b.workflow_daily_usd),
    ...opt('daily_tokens', b.workflow_daily_tokens),
    ...opt('monthly_usd', b.workflow_monthly_usd),
    ...opt('monthly_tokens', b.workflow_monthly_tokens),
  };
  const tenantDefaults: BudgetLimitsSpec = {
    ...opt('daily_usd', b.tenant_daily_usd),
    ...opt('daily_tokens', b.tenant_daily_tokens),
    ...opt('monthly_usd', b.tenant_monthly_usd),
    ...opt('monthly_tokens', b.tenant_monthly_tokens),
  };
  return {
    workflow: (w) => periodLimits(b.per_workflow?.[w], workflowDefaults),
    tenant: (t) => periodLimits(b.per_tenant?.[t], tenantDefaults),
  };
}

function opt<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function periodLimits(named: BudgetLimitsSpec | undefined, defaults: BudgetLimitsSpec): PeriodLimits {
  const daily = named !== undefined && (named.daily_usd !== undefined || named.daily_tokens !== undefined) ? named : defaults;
  const monthly = named !== undefined && (named.monthly_usd !== undefined || named.monthly_tokens !== undefined) ? named : defaults;
  return {
    day: { ...opt('usd', daily.daily_usd), ...opt('tokens', daily.daily_tokens) },
    month: { ...opt('usd', monthly.monthly_usd), ...opt('tokens', monthly.monthly_tokens) },
  };
}

function upstreamLimits(spec: UpstreamLimitsSpec | undefined): UpstreamLimits | undefined {
  if (spec === undefined || (spec.requests_per_minute === undefined && spec.tokens_per_minute === undefined)) return undefined;
  return { requestsPerMinute: spec.requests_per_minute, tokensPerMinute: spec.tokens_per_minute, burst: spec.burst ?? 1 };
}

function retryPolicy(spec: GatewayRetrySpec | undefined, base: RetryPolicy): RetryPolicy {
  return {
    maxAttempts: spec?.max_attempts ?? base.maxAttempts,
    backoff: 'exponential',
    initialMs: ms(spec?.initial) ?? base.initialMs,
    maxMs: ms(spec?.max) ?? base.maxMs,
    jitter: spec?.jitter ?? base.jitter,
  };
}

export function ms(value: DurationValue | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}
