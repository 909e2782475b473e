/**
 * Retries and fallbacks over a model group's targets: each target gets up to
 * `retry.max_attempts` attempts for retryable failures, with backoff and jitter and
 * `Retry-After` as a floor; then the next target serves. A non-retryable error ends the call at
 * once; when every target failed, the call fails `provider_unavailable` listing each one.
 */
import { retryDelayMs } from '../lib/backoff.js';
import { AgentryError } from '../lib/errors.js';
import type { Logger } from '../obs/logger.js';
import { callFields } from './attempt.js';
import type { ResolvedGroup, ResolvedTarget } from './config.js';
import type { CallContext, Provider } from './types.js';

/** One failed target, as listed in `provider_unavailable` details. */
export interface TargetFailure {
  provider: string;
  model: string;
  code: string;
  status?: number;
  attempts: number;
}

/** What the retry loop needs from its gateway. */
export interface FallbackDeps {
  providers: ReadonlyMap<string, Provider>;
  logger: Logger;
  /** Backoff sleep; rejects when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Jitter source in [0, 1). */
  random: () => number;
  /** Turns an error an attempt threw (other than an `AgentryError`) into one. */
  classify: (error: unknown, target: ResolvedTarget, ctx: CallContext) => AgentryError;
}

/** Runs `attemptOn` on the group's targets in order, retrying and falling back as configured; returns the first success. */
export async function withFallback<T>(
  deps: FallbackDeps,
  group: ResolvedGroup,
  ctx: CallContext,
  attemptOn: (target: ResolvedTarget, provider: Provider) => Promise<T>,
): Promise<T> {
  if (ctx.signal?.aborted === true) throw new AgentryError('cancelled', `call to model group '${group.name}' cancelled before it started`);
  const failures: TargetFailure[] = [];
  let lastError: AgentryError | undefined;
  for (const [index, target] of group.targets.entries()) {
    const provider = deps.providers.get(target.provider)!;
    let attempts = 0;
    for (let attempt = 1; attempt <= group.retry.maxAttempts; attempt++) {
      attempts = attempt;
      try {
        return await attemptOn(target, provider);
      } catch (error) {
        const e = error instanceof AgentryError ? error : deps.classify(error, target, ctx);
        if (!e.retryable) throw e;
        lastError = e;
        // No room under the target's upstream limits before the deadline: retrying it cannot help, the next target may.
        if (e.code === 'upstream_throttled') break;
        if (attempt === group.retry.maxAttempts) break;
        if (e.retryAfterMs !== undefined && e.retryAfterMs > group.retry.maxMs) break;
        const delay = retryDelayMs(group.retry, attempt, e.retryAfterMs, deps.random);
        deps.logger.warn(
          {
            event: 'llm.retry',
            ...callFields(ctx),
            group: group.name,
            provider: target.provider,
            model: target.model,
            attempt,
            delay_ms: delay,
            code: e.code,
          },
          `gateway retrying: ${e.message}`,
        );
        try {
          await deps.sleep(delay, ctx.signal);
        } catch (cause) {
          throw new AgentryError('cancelled', `call to model group '${group.name}' cancelled`, { cause });
        }
      }
    }
    const status = (lastError?.details as { status?: number } | undefined)?.status;
    failures.push({
      provider: target.provider,
      model: target.model,
      code: lastError?.code ?? 'internal',
      attempts,
      ...(status === undefined ? {} : { status }),
    });
    const next = group.targets[index + 1];
    if (next !== undefined) {
      deps.logger.warn(
        { event: 'llm.fallback', ...callFields(ctx), group: group.name, from: `${target.provider}/${target.model}`, to: `${next.provider}/${next.model}` },
        'gateway falling back to the next target',
      );
    }
  }
  if (failures.every((f) => f.code === 'upstream_throttled')) throw throttled(group.name, failures, lastError);
  throw new AgentryError(
    'provider_unavailable',
    `model group '${group.name}': every target failed (${failures.map((f) => `${f.provider}/${f.model}: ${f.code}${f.status === undefined ? '' : ` ${f.status}`}`).join(', ')})`,
    {
      retryable: true,
      ...(lastError?.retryAfterMs === undefined ? {} : { retryAfterMs: lastError.retryAfterMs }),
      cause: lastError,
      details: { group: group.name, attempts: failures },
    },
  );
}

/** Every target was held back by its upstream limits past the deadline: `upstream_throttled`, with when the last target tried has room. */
function throttled(group: string, failures: TargetFailure[], last: AgentryError | undefined): AgentryError {
  return new AgentryError('upstream_throttled', `model group '${group}': ${last?.message ?? 'every target is throttled'}`, {
    retryable: true,
    ...(last?.retryAfterMs === undefined ? {} : { retryAfterMs: last.retryAfterMs }),
    cause: last,
    details: { group, attempts: failures },
  });
}
