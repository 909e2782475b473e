/**
 * How each attempt of a call to a target begins and ends, for every kind of call (chat, stream,
 * embeddings): its upstream slot (`throttle.ts`), its budget reservation (`budget.ts`, a refusal
 * recorded), its timer and abort wiring (`Attempt`), its span, and its record in the ledger
 * (`call-recorder.ts`), a failure classified first (`classify.ts`).
 */
import { AgentryError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { CallOutcome, CallRecord, Spend } from '../types.js';
import { Attempt } from './attempt.js';
import { costUsd, estimatePromptTokens, outputCap, RESERVATION_MARGIN_MS, type BudgetGuard, type BudgetHold } from './budget.js';
import type { CallRecorder } from './call-recorder.js';
import { classifyProviderError, type AttemptInfo } from './classify.js';
import type { ProviderType, ResolvedGateway, ResolvedGroup, ResolvedTarget } from './config.js';
import { withoutUnsupported } from './params.js';
import type { ThrottleSlot, UpstreamThrottle } from './throttle.js';
import { LlmSpan } from './tracing.js';
import type { CallContext, ChatRequest, Usage } from './types.js';

/** The slot of a call to a target without upstream limits. */
const UNTHROTTLED: ThrottleSlot = { waitedMs: 0, settle: () => undefined };

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export interface AttemptsDeps {
  config: ResolvedGateway;
  budget: BudgetGuard;
  recorder: CallRecorder;
  throttle: UpstreamThrottle;
  /** Clock (epoch ms). */
  now: () => number;
}

export class Attempts {
  constructor(private readonly deps: AttemptsDeps) {}

  /**
   * Waits for the target's upstream slot (`throttle.ts`) within the caller's deadline, or the
   * call's own timeout when it gives none. Without upstream limits there is nothing to wait for,
   * and the call's tokens are not estimated.
   */
  slot(group: ResolvedGroup, target: ResolvedTarget, tokens: () => number, ctx: CallContext): Promise<ThrottleSlot> {
    const limits = this.deps.config.providers.get(target.provider)?.limits;
    if (limits === undefined && target.limits === undefined) return Promise.resolve(UNTHROTTLED);
    const deadline = ctx.deadline ?? this.deps.now() + this.timeoutMs(group, target);
    return this.deps.throttle.acquire(group.name, target, limits, tokens(), deadline, ctx.signal);
  }

  /** A chat attempt: budget check (records and throws `budget_exceeded`), the request as this target is sent it, its timer, abort wiring and span. */
  async begin(group: ResolvedGroup, target: ResolvedTarget, request: ChatRequest, ctx: CallContext): Promise<{ attempt: Attempt; sent: ChatRequest }> {
    const cap = outputCap(request, target);
    const { attempt, budgeted } = await this.reserve(group, target, ctx, () => {
      const prompt = estimatePromptTokens(request);
      const output = cap * (request.n ?? 1);
      return { tokens: prompt + output, costUsd: costUsd(target, prompt, output) };
    });
    let sent = group.dropParams ? withoutUnsupported(this.providerType(target.provider), request) : request;
    if (request.max_tokens === undefined && request.max_completion_tokens === undefined) {
      // No cap unless the model has one configured, or a budget's worst case must hold.
      const send = target.maxTokens ?? (budgeted ? cap : undefined);
      if (send !== undefined) sent = { ...sent, max_tokens: send };
    }
    attempt.span = LlmSpan.start(group, target, this.deps.config.providers.get(target.provider)?.type ?? target.provider, sent);
    return { attempt, sent };
  }

  /** Budget check of an attempt's worst case (records and throws `budget_exceeded`), then its timer and abort wiring. */
  async reserve(group: ResolvedGroup, target: ResolvedTarget, ctx: CallContext, estimate: () => Spend): Promise<{ attempt: Attempt; budgeted: boolean }> {
    const beganAt = performance.now();
    const at = this.deps.now();
    const id = newId('call', at);
    const timeoutMs = this.timeoutMs(group, target);
    let hold: BudgetHold;
    try {
      hold = await this.deps.budget.reserve(id, ctx, at, estimate, timeoutMs + RESERVATION_MARGIN_MS);
    } catch (error) {
      if (error instanceof AgentryError && error.code === 'budget_exceeded') {
        await this.deps.recorder.refused(id, at, ctx, group, target, error);
      }
      throw error;
    }
    return { attempt: new Attempt(id, at, beganAt, ctx, timeoutMs, hold), budgeted: hold.budgeted };
  }

  /** Records an attempt that ended (`ok`, or a stream the caller stopped reading: `cancelled`). */
  finish(attempt: Attempt, group: ResolvedGroup, target: ResolvedTarget, outcome: CallOutcome, usage: Usage, errorCode?: string): Promise<CallRecord> {
    return this.deps.recorder.record(attempt, group, target, outcome, usage, errorCode);
  }

  /** Classifies and records a failed attempt; returns the error to throw. */
  async fail(attempt: Attempt, group: ResolvedGroup, target: ResolvedTarget, error: unknown, usage: Usage | undefined): Promise<AgentryError> {
    const e = classifyProviderError(error, this.errorInfo(target, attempt.ctx, attempt.timedOut, attempt.timeoutMs));
    const outcome: CallOutcome = e.code === 'cancelled' ? 'cancelled' : 'error';
    await this.deps.recorder.record(attempt, group, target, outcome, usage ?? NO_USAGE, e.code);
    return e;
  }

  timeoutMs(group: ResolvedGroup, target: ResolvedTarget): number {
    return group.timeoutMs ?? this.deps.config.providers.get(target.provider)?.timeoutMs ?? this.deps.config.defaultTimeoutMs;
  }

  providerType(provider: string): ProviderType {
    return this.deps.config.providers.get(provider)!.type;
  }

  /** What classifying a provider's error needs to know of the attempt. */
  errorInfo(target: ResolvedTarget, ctx: CallContext, timedOut: boolean, timeoutMs: number): AttemptInfo {
    return {
      provider: target.provider,
      model: target.model,
      secrets: this.deps.config.secrets,
      cancelled: ctx.signal?.aborted === true,
      timedOut,
      timeoutMs,
      now: this.deps.now(),
    };
  }
}
