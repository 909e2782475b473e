/**
 * The gateway client: a chat request names a model group; the gateway tries the group's
 * targets in order. Each target gets up to `retry.max_attempts` attempts for retryable
 * failures (429, 5xx, timeout, lost connection), with exponential backoff and jitter and
 * `Retry-After` as a floor; then the next target serves. Other 4xx fail at once, a cancelled
 * signal stops everything, and a call that would break a budget is never sent. Every attempt
 * is written to the usage ledger. The retry loop is `fallback.ts`, an attempt in flight
 * `attempt.ts`, and its record in the ledger `call-recorder.ts`.
 *
 * ```ts
 * const gateway = new Gateway({ spec: project.gateway!, env: process.env, logger, ledger });
 * const res = await gateway.chat({ model: 'smart', messages: [{ role: 'user', content: 'Hi' }] }, { tenantId: 'default' });
 * for await (const chunk of gateway.stream({ model: 'smart', messages }, { tenantId, signal })) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * ```
 */
import { inspect } from 'node:util';
import { sleep } from '../lib/sleep.js';
import { AgentryError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../obs/logger.js';
import type { GatewaySpec } from '../spec/schemas.js';
import { Attempts } from './attempts.js';
import { BudgetGuard, costUsd, estimatePromptTokens, estimateTokens, throttleTokens } from './budget.js';
import { CallRecorder, type GatewayObserver } from './call-recorder.js';
import { classifyProviderError } from './classify.js';
import { resolveGatewaySpec, type ProviderType, type ResolvedBudgets, type ResolvedGateway, type ResolvedGroup } from './config.js';
import { withFallback, type FallbackDeps } from './fallback.js';
import { checkParams } from './params.js';
import type { UsageLedger } from './ledger.js';
import { createProvider } from './providers/index.js';
import { redactSecrets } from './redact.js';
import { UpstreamThrottle, type ThrottleLanes } from './throttle.js';
import { cachedChat, cacheable, type CachedChatDeps, type ResponseCache } from './cache.js';
import { callFields } from './attempt.js';
import { streamChat } from './gateway-stream.js';
import type { CallContext, ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo, Provider, UpstreamInfo } from './types.js';

export type { ModelInfo, UpstreamInfo } from './types.js';

export interface GatewayOptions {
  spec: GatewaySpec;
  /** Where `{{ env.NAME }}` references and default key variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  ledger: UsageLedger;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** Backoff sleep; injectable so tests see the delays without waiting. Must reject when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Told about every attempt and budget refusal (the process's metrics). */
  observer?: GatewayObserver;
  /** Where the model groups with `cache:` keep their answers (the store); without it, no group caches. */
  cache?: ResponseCache;
  /** Where the upstream limits' lanes are kept (`storeLanes`: shared by every process on the store); default this process's memory. */
  lanes?: ThrottleLanes;
}

export class Gateway {
  readonly #config: ResolvedGateway;
  readonly #providers = new Map<string, Provider>();
  readonly #logger: Logger;
  readonly #fallback: FallbackDeps;
  readonly #recorder: CallRecorder;
  readonly #cache: ResponseCache | undefined;
  readonly #attempts: Attempts;
  readonly now: () => number;

  constructor(options: GatewayOptions) {
    this.#config = resolveGatewaySpec(options.spec, options.env ?? process.env);
    this.#logger = options.logger.child({ component: 'gateway' });
    this.now = options.now ?? Date.now;
    const budget = new BudgetGuard(options.ledger, this.#config.budgets, this.now, (error) =>
      this.#logger.warn(
        { err: { message: this.redact(error instanceof Error ? error.message : String(error)) } },
        'gateway could not renew a budget reservation',
      ),
    );
    this.#fallback = {
      providers: this.#providers,
      logger: this.#logger,
      sleep: options.sleep ?? sleep,
      random: options.random ?? Math.random,
      classify: (error, target, ctx) => classifyProviderError(error, this.#attempts.errorInfo(target, ctx, false, 0)),
    };
    this.#recorder = new CallRecorder({
      ledger: options.ledger,
      logger: this.#logger,
      observer: options.observer,
      now: this.now,
      redact: (text) => this.redact(text),
    });
    for (const [name, provider] of this.#config.providers) this.#providers.set(name, createProvider(provider, { now: this.now }));
    this.#cache = options.cache;
    const observer = options.observer;
    const throttle = new UpstreamThrottle({
      now: this.now,
      sleep: this.#fallback.sleep,
      lanes: options.lanes,
      onError: (error) =>
        this.#logger.warn(
          { err: { message: this.redact(error instanceof Error ? error.message : String(error)) } },
          'gateway could not correct an upstream limit (the slot stays taken)',
        ),
      observer: {
        queueChanged: (provider, delta) => observer?.upstreamQueueChanged?.(provider, delta),
        queued: (provider, group, seconds) => observer?.upstreamQueued?.(provider, group, seconds),
        throttled: (provider, group) => observer?.upstreamThrottled?.(provider, group),
      },
    });
    this.#attempts = new Attempts({ config: this.#config, budget, recorder: this.#recorder, throttle, now: this.now });
  }

  /** The model groups, in OpenAI's `GET /v1/models` item shape (plus the targets). */
  models(): ModelInfo[] {
    return [...this.#config.groups.values()].map((group) => ({
      id: group.name,
      object: 'model' as const,
      created: 0,
      owned_by: 'agentry' as const,
      ...(group.description === undefined ? {} : { description: group.description }),
      targets: group.targets.map((t) => ({ provider: t.provider, model: t.model })),
    }));
  }

  /**
   * Each provider with what readiness needs to judge it (never a key): its type, base URL
   * (redacted), the key variable it needs and whether that is unset, and the model groups
   * that route to it.
   */
  upstreams(): UpstreamInfo[] {
    return [...this.#config.providers.values()].map((p) => ({
      name: p.name,
      type: p.type,
      baseUrl: p.baseUrl === undefined ? undefined : this.redact(p.baseUrl),
      baseUrlConfigured: p.baseUrlConfigured,
      apiKeyEnv: p.apiKeyEnv,
      keyMissing: p.apiKeyEnv !== undefined && p.apiKey === undefined,
      groups: [...this.#config.groups.values()].filter((g) => g.targets.some((t) => t.provider === p.name)).map((g) => g.name),
    }));
  }

  /** The budgets of gateway.yaml (`budgets:`), per workflow and per tenant. */
  get budgets(): ResolvedBudgets {
    return this.#config.budgets;
  }

  /** The provider keys and secret env values it was configured with (for the process's redactor). */
  get secretValues(): readonly string[] {
    return this.#config.secrets;
  }

  /** Scrubs every configured key (and key-shaped strings) from `text`. */
  redact(text: string): string {
    return redactSecrets(text, this.#config.secrets);
  }

  /**
   * The parameters of `request` some target of its group will not be sent (the group drops what
   * a provider cannot honour); throws `unsupported_parameter` when the group does not drop them,
   * and `not_found` for an unknown group.
   */
  droppedParams(request: ChatRequest): string[] {
    return checkParams(this.#group(request), request, (provider) => this.#providerType(provider));
  }

  /** A non-streaming chat completion; `request.model` is a model group. With the group's `cache:`, through the response cache (`cache.ts`). */
  async chat(request: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const group = this.#group(request);
    this.droppedParams(request);
    const cache = this.#cache;
    if (cache === undefined || group.cache === undefined || !cacheable(group, request)) return this.#chat(group, request, ctx);
    const deps: CachedChatDeps = {
      cache,
      ttlMs: group.cache.ttlMs,
      now: this.now,
      warn: (error, operation) =>
        this.#logger.warn(
          {
            event: 'llm.cache_failed',
            ...callFields(ctx),
            group: group.name,
            operation,
            err: { message: this.redact(String((error as Error)?.message ?? error)) },
          },
          'gateway response cache failed: the call goes to the upstream',
        ),
      upstream: () => this.#chat(group, request, ctx),
      recordHit: (hit, at) => {
        const provider = hit.agentry?.provider;
        const target = group.targets.find((t) => t.provider === provider) ?? group.targets[0]!;
        return this.#recorder.cacheHit(newId('call', at), at, ctx, group, target);
      },
    };
    return cachedChat(deps, ctx.tenantId, request, group.name);
  }

  #chat(group: ResolvedGroup, request: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    return withFallback(this.#fallback, group, ctx, async (target, provider) => {
      const slot = await this.#attempts.slot(group, target, () => throttleTokens(request), ctx);
      const { attempt, sent } = await this.#attempts.begin(group, target, request, ctx);
      try {
        const response = await provider.chat(target.model, sent, { signal: attempt.controller.signal, timeoutMs: attempt.timeoutMs });
        attempt.span?.response({
          id: response.id,
          model: response.model,
          finishReasons: response.choices.map((c) => c.finish_reason),
          ...(response.choices[0] ? { message: response.choices[0].message } : {}),
        });
        const record = await this.#attempts.finish(attempt, group, target, 'ok', response.usage);
        slot.settle(record.inputTokens + record.outputTokens);
        return { ...response, agentry: { call_id: record.id, group: group.name, provider: target.provider, cost_usd: record.costUsd } };
      } catch (error) {
        // A failed call is counted at its prompt, not at the output it asked for and did not get.
        slot.settle(estimatePromptTokens(request));
        throw await this.#attempts.fail(attempt, group, target, error, undefined);
      } finally {
        attempt.close();
      }
    });
  }

  /** A streaming chat completion (`gateway-stream.ts`); `request.model` is a model group. */
  async *stream(request: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk, void, undefined> {
    const group = this.#group(request);
    this.droppedParams(request);
    yield* streamChat(this.#attempts, this.#fallback, group, request, ctx);
  }

  /**
   * Embeddings (`POST /v1/embeddings`): `request.model` is a model group whose targets all make
   * embeddings (`openai`, `openai-compatible`, `mock`). Retries, fallbacks, budgets (input
   * tokens, estimated as characters / 4) and the ledger work as for chat.
   */
  async embed(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const group = this.#groupNamed(request.model);
    const unable = group.targets.find((t) => this.#providers.get(t.provider)?.embed === undefined);
    if (unable !== undefined) {
      throw new AgentryError(
        'invalid_request',
        `model group '${group.name}' cannot make embeddings: its target ${unable.provider}/${unable.model} is a ${this.#providerType(unable.provider)} provider (openai, openai-compatible and mock ones can)`,
        { details: { group: group.name, provider: unable.provider } },
      );
    }
    const prompt = estimateTokens(JSON.stringify(request.input));
    return withFallback(this.#fallback, group, ctx, async (target, provider) => {
      const slot = await this.#attempts.slot(group, target, () => prompt, ctx);
      const { attempt } = await this.#attempts.reserve(group, target, ctx, () => ({ tokens: prompt, costUsd: costUsd(target, prompt, 0) }));
      try {
        const response = await provider.embed!(target.model, request, { signal: attempt.controller.signal, timeoutMs: attempt.timeoutMs });
        const used = response.usage.prompt_tokens;
        const record = await this.#attempts.finish(attempt, group, target, 'ok', { prompt_tokens: used, completion_tokens: 0, total_tokens: used });
        slot.settle(used);
        return { ...response, agentry: { call_id: record.id, group: group.name, provider: target.provider, cost_usd: record.costUsd } };
      } catch (error) {
        throw await this.#attempts.fail(attempt, group, target, error, undefined);
      } finally {
        attempt.close();
      }
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      providers: [...this.#config.providers.values()].map((p) => ({
        name: p.name,
        type: p.type,
        base_url: p.baseUrl === undefined ? undefined : this.redact(p.baseUrl),
        api_key_env: p.apiKeyEnv,
      })),
      models: this.models().map((m) => ({ id: m.id, targets: m.targets })),
    };
  }

  [inspect.custom](): string {
    return `Gateway ${JSON.stringify(this.toJSON())}`;
  }

  #group(request: ChatRequest): ResolvedGroup {
    if (request === null || typeof request !== 'object' || !Array.isArray(request.messages) || request.messages.length === 0) {
      throw new AgentryError('invalid_request', 'a chat request needs a non-empty messages array');
    }
    return this.#groupNamed(request.model);
  }

  #groupNamed(name: string): ResolvedGroup {
    const group = this.#config.groups.get(name);
    if (group === undefined) {
      throw new AgentryError('not_found', `unknown model group '${String(name)}'`, { details: { available: [...this.#config.groups.keys()] } });
    }
    return group;
  }

  #providerType(provider: string): ProviderType {
    return this.#attempts.providerType(provider);
  }
}
