/**
 * A streaming chat completion through the gateway (`Gateway.stream`). Retries and fallbacks
 * happen only before the first chunk; after it, a failure ends the stream with the error. The
 * last chunk always carries `usage` (and `agentry`), as OpenAI sends with
 * `stream_options.include_usage`; a provider that reports none gets the gateway's estimate. A
 * caller that stops reading stops the upstream request, and what was received is recorded.
 */
import { estimatedUsage, estimatePromptTokens, throttleTokens } from './budget.js';
import type { Attempts } from './attempts.js';
import type { ResolvedGroup } from './config.js';
import { withFallback, type FallbackDeps } from './fallback.js';
import type { CallContext, ChatChunk, ChatRequest, FinishReason, Usage } from './types.js';

export async function* streamChat(
  attempts: Attempts,
  fallback: FallbackDeps,
  group: ResolvedGroup,
  request: ChatRequest,
  ctx: CallContext,
): AsyncGenerator<ChatChunk, void, undefined> {
  const opened = await withFallback(fallback, group, ctx, async (target, provider) => {
    const slot = await attempts.slot(group, target, () => throttleTokens(request), ctx);
    const { attempt, sent } = await attempts.begin(group, target, request, ctx);
    try {
      const iterator = provider.stream(target.model, sent, { signal: attempt.controller.signal, timeoutMs: attempt.timeoutMs })[Symbol.asyncIterator]();
      const first = await iterator.next();
      return { attempt, target, sent, iterator, first, slot };
    } catch (error) {
      slot.settle(estimatePromptTokens(request));
      const failure = await attempts.fail(attempt, group, target, error, undefined);
      attempt.close();
      throw failure;
    }
  });
  const { attempt, target, sent, iterator, slot } = opened;
  let usage: Usage | undefined;
  let received = '';
  let last: ChatChunk | undefined;
  const finishReasons: FinishReason[] = [];
  let done = false;
  try {
    let next = opened.first;
    while (next.done !== true) {
      attempt.armTimer();
      const chunk = next.value;
      last = chunk;
      if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
        received += choice.delta.content ?? '';
        for (const call of choice.delta.tool_calls ?? []) received += (call.function?.name ?? '') + (call.function?.arguments ?? '');
      }
      if (chunk.choices.length > 0) yield chunk;
      next = await iterator.next();
    }
    const final = usage ?? estimatedUsage(sent, received);
    attempt.span?.response({ id: last?.id, model: last?.model, finishReasons, message: { role: 'assistant', content: received } });
    const record = await attempts.finish(attempt, group, target, 'ok', final);
    slot.settle(record.inputTokens + record.outputTokens);
    done = true;
    yield {
      id: last?.id ?? record.id,
      object: 'chat.completion.chunk',
      created: last?.created ?? Math.floor(record.at / 1000),
      model: last?.model ?? target.model,
      choices: [],
      usage: final,
      agentry: { call_id: record.id, group: group.name, provider: target.provider, cost_usd: record.costUsd },
    };
  } catch (error) {
    if (!done) {
      done = true;
      const estimated = estimatedUsage(sent, received);
      slot.settle(estimated.total_tokens);
      throw await attempts.fail(attempt, group, target, error, estimated);
    }
    throw error;
  } finally {
    if (!done) {
      // The consumer stopped reading: stop the upstream request and record what was received.
      attempt.controller.abort(new DOMException('stream closed by the caller', 'AbortError'));
      const estimated = estimatedUsage(sent, received);
      slot.settle(estimated.total_tokens);
      await attempts.finish(attempt, group, target, 'cancelled', estimated, 'cancelled');
    }
    attempt.close();
    await iterator.return?.().catch(() => undefined);
  }
}
