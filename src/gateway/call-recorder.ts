/**
 * The record of every attempt of an LLM call: written to the usage ledger (a ledger failure is
 * logged, never thrown: the call happened), closing the attempt's span, and told to the
 * process's observer (its metrics) with how long the attempt took.
 */
import type { AgentryError } from '../lib/errors.js';
import type { Logger } from '../obs/logger.js';
import type { CallOutcome, CallRecord } from '../types.js';
import { callFields, type Attempt } from './attempt.js';
import { costUsd } from './budget.js';
import type { ResolvedGroup, ResolvedTarget } from './config.js';
import type { UsageLedger } from './ledger.js';
import type { CallContext, Usage } from './types.js';

/** How long one attempt took, in seconds: at the provider, and in the gateway around it (budget check, ledger write). */
export interface AttemptTiming {
  providerSeconds: number;
  gatewaySeconds: number;
}

/** Told about each attempt of a call once it is in the ledger (the process's metrics). Its methods must not throw. */
export interface GatewayObserver {
  /** An attempt as the ledger recorded it (`outcome` ok, error, cancelled or budget_exceeded); no timing when it was never sent. */
  llmCall(record: CallRecord, timing: AttemptTiming | undefined): void;
  /** A call refused before it was sent because it would break a budget of `scope` (run, workflow, tenant). */
  budgetRefused(scope: string): void;
  /** Upstream throttling (`throttle.ts`): calls waiting for a slot of `provider`, one more (+1) or fewer (-1). */
  upstreamQueueChanged?(provider: string, delta: 1 | -1): void;
  /** A call got its upstream slot after `seconds` of waiting. */
  upstreamQueued?(provider: string, group: string, seconds: number): void;
  /** A call refused `upstream_throttled`: its slot would come after its deadline. */
  upstreamThrottled?(provider: string, group: string): void;
}

interface CallRecorderOptions {
  ledger: UsageLedger;
  logger: Logger;
  observer: GatewayObserver | undefined;
  /** Clock (epoch ms). */
  now: () => number;
  /** Scrubs the gateway's secrets from a message. */
  redact: (text: string) => string;
}

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export class CallRecorder {
  constructor(private readonly options: CallRecorderOptions) {}

  /** An attempt refused because it would break a budget: recorded as `budget_exceeded`, observed and logged. */
  async refused(id: string, at: number, ctx: CallContext, group: ResolvedGroup, target: ResolvedTarget, error: AgentryError): Promise<void> {
    const record = newRecord(id, at, ctx, group, target, 'budget_exceeded', NO_USAGE, 'budget_exceeded');
    await this.#write(record);
    this.#observe(record, undefined, (error.details as { scope?: string } | undefined)?.scope ?? 'unknown');
    this.options.logger.warn(
      {
        event: 'budget.refused',
        ...callFields(ctx),
        group: group.name,
        provider: target.provider,
        model: target.model,
        code: error.code,
        message: error.message,
        ...(error.details as object),
      },
      'model call refused: budget exceeded',
    );
  }

  /** An answer the response cache served: recorded at cost 0 with `cacheHit`, no tokens (nothing was sent). */
  async cacheHit(id: string, at: number, ctx: CallContext, group: ResolvedGroup, target: ResolvedTarget): Promise<CallRecord> {
    const record: CallRecord = { ...newRecord(id, at, ctx, group, target, 'ok', NO_USAGE, undefined), costUsd: 0, cacheHit: true };
    record.latencyMs = Math.max(0, this.options.now() - at);
    await this.#write(record);
    this.#observe(record, undefined);
    return record;
  }

  /** Records an attempt that was sent: ends its span, writes it to the ledger and tells the observer. */
  async record(
    attempt: Attempt,
    group: ResolvedGroup,
    target: ResolvedTarget,
    outcome: CallOutcome,
    usage: Usage,
    errorCode: string | undefined,
  ): Promise<CallRecord> {
    const answeredAt = performance.now();
    const record = newRecord(attempt.id, attempt.at, attempt.ctx, group, target, outcome, usage, errorCode);
    record.latencyMs = Math.max(0, this.options.now() - attempt.at);
    attempt.span?.end({ outcome, usage, costUsd: record.costUsd, callId: record.id, errorCode });
    await this.#write(record);
    const around = attempt.sentAt - attempt.beganAt + (performance.now() - answeredAt);
    this.#observe(record, { providerSeconds: (answeredAt - attempt.sentAt) / 1000, gatewaySeconds: around / 1000 });
    return record;
  }

  /** Tells the observer about a recorded attempt (and a budget refusal's scope); its failure is logged, never thrown. */
  #observe(record: CallRecord, timing: AttemptTiming | undefined, refusedScope?: string): void {
    const observer = this.options.observer;
    if (!observer) return;
    try {
      observer.llmCall(record, timing);
      if (refusedScope !== undefined) observer.budgetRefused(refusedScope);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'a gateway observer failed');
    }
  }

  async #write(record: CallRecord): Promise<void> {
    this.options.logger.debug({ call: record }, 'gateway call');
    try {
      await this.options.ledger.record(record);
    } catch (error) {
      // The call happened; losing the response over the ledger would make the caller pay twice.
      this.options.logger.error(
        { call_id: record.id, err: { message: this.options.redact(error instanceof Error ? error.message : String(error)) } },
        'gateway could not record a call',
      );
    }
  }
}

function newRecord(
  id: string,
  at: number,
  ctx: CallContext,
  group: ResolvedGroup,
  target: ResolvedTarget,
  outcome: CallOutcome,
  usage: Usage,
  errorCode: string | undefined,
): CallRecord {
  const cached = usage.prompt_tokens_details?.['cached_tokens'] ?? 0;
  const reasoning = usage.completion_tokens_details?.['reasoning_tokens'] ?? 0;
  return {
    id,
    tenantId: ctx.tenantId,
    runId: ctx.runId ?? null,
    stepId: ctx.stepId ?? null,
    workflow: ctx.workflow ?? null,
    group: group.name,
    provider: target.provider,
    model: target.model,
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    ...(cached > 0 ? { cachedTokens: cached } : {}),
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
    costUsd: costUsd(target, usage.prompt_tokens, usage.completion_tokens, cached),
    latencyMs: 0,
    outcome,
    ...(errorCode === undefined ? {} : { errorCode }),
    at,
  };
}
