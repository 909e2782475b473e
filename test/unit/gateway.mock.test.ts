import { describe, expect, it } from 'vitest';
import { Gateway, InMemoryUsageLedger, estimatePromptTokens, type ChatMessage } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function gateway(spec: GatewaySpec, ledger = new InMemoryUsageLedger()): Gateway {
  return new Gateway({ spec, env: {}, logger: createLogger({ level: 'silent' }), ledger, now: () => NOW, sleep: () => Promise.resolve() });
}

const agentSpec: GatewaySpec = {
  providers: {
    demo: {
      type: 'mock',
      script: [
        {
          when: { has_tool_results: false, last_user_contains: 'ticket' },
          reply: { tool_calls: [{ name: 'find_customer', arguments: { q: 'acme' } }] },
          usage: { prompt_tokens: 30, completion_tokens: 8 },
        },
        { when: { has_tool_results: true }, reply: { content: { severity: 'high', customer: 'ACME' } } },
      ],
    },
  },
  models: { fast: { targets: [{ provider: 'demo', model: 'mock-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
};

describe('mock provider', () => {
  it('scripts a tool call and then a JSON answer once the tool result is in the conversation', async () => {
    const gw = gateway(agentSpec);
    const messages: ChatMessage[] = [{ role: 'user', content: 'Classify this ticket: ACME is down' }];
    const first = await gw.chat({ model: 'fast', messages }, { tenantId: 't' });
    expect(first.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1_0', type: 'function', function: { name: 'find_customer', arguments: '{"q":"acme"}' } }],
      },
      finish_reason: 'tool_calls',
    });
    expect(first.usage).toEqual({ prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 });

    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: 'call_1_0', content: '{"id":42}' });
    const second = await gw.chat({ model: 'fast', messages }, { tenantId: 't' });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(JSON.parse(second.choices[0]!.message.content!)).toEqual({ severity: 'high', customer: 'ACME' });
  });

  it('answers the same request with the same response', async () => {
    const request = { model: 'fast', messages: [{ role: 'user' as const, content: 'Classify this ticket' }] };
    const a = await gateway(agentSpec).chat(request, { tenantId: 't' });
    const b = await gateway(agentSpec).chat(request, { tenantId: 't' });
    const { agentry: _a, ...restA } = a;
    const { agentry: _b, ...restB } = b;
    expect(restA).toEqual(restB);
    expect(restA.created).toBe(NOW / 1000);
  });

  it('echoes the last user message when no rule matches, estimating tokens as characters / 4', async () => {
    const request = { model: 'fast', messages: [{ role: 'user' as const, content: 'no rule for me' }] };
    const ledger = new InMemoryUsageLedger();
    const res = await gateway(agentSpec, ledger).chat(request, { tenantId: 't' });
    const content = 'mock reply to: no rule for me';
    expect(res.choices[0]?.message.content).toBe(content);
    expect(res.usage.prompt_tokens).toBe(estimatePromptTokens(request));
    expect(res.usage.completion_tokens).toBe(Math.ceil(content.length / 4));
    expect(ledger.records[0]?.costUsd).toBeCloseTo((res.usage.prompt_tokens * 1 + res.usage.completion_tokens * 2) / 1e6, 12);
  });

  it('echoes at most 1,000 characters of a long message, so n choices of a large prompt stay small', async () => {
    const long = 'x'.repeat(200_000);
    const res = await gateway(agentSpec, new InMemoryUsageLedger()).chat(
      { model: 'fast', n: 128, messages: [{ role: 'user', content: long }] },
      { tenantId: 't' },
    );
    expect(res.choices).toHaveLength(128);
    expect(res.choices[0]?.message.content).toBe(`mock reply to: ${'x'.repeat(1_000)}…`);
  });

  it('matches rules on the turn number, so a test can script a loop that never ends', async () => {
    const gw = gateway({
      providers: {
        loop: {
          type: 'mock',
          script: [{ when: { turn: 3 }, reply: { content: 'done' } }, { reply: { tool_calls: [{ name: 'again' }] } }],
        },
      },
      models: { m: { targets: [{ provider: 'loop', model: 'x' }] } },
    });
    const messages: ChatMessage[] = [{ role: 'user', content: 'go' }];
    const replies: string[] = [];
    for (let turn = 1; turn <= 3; turn++) {
      const res = await gw.chat({ model: 'm', messages }, { tenantId: 't' });
      const message = res.choices[0]!.message;
      replies.push(message.content ?? message.tool_calls?.[0]?.function.name ?? '');
      messages.push(message, ...(message.tool_calls ?? []).map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: 'ok' })));
    }
    expect(replies).toEqual(['again', 'again', 'done']);
  });

  it('streams a scripted reply as chunks ending with usage', async () => {
    const gw = gateway(agentSpec);
    const chunks = [];
    for await (const c of gw.stream({ model: 'fast', messages: [{ role: 'user', content: 'hello there' }] }, { tenantId: 't' })) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('mock reply to: hello there');
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('records a stream the caller stops reading as cancelled, with the tokens received so far', async () => {
    const ledger = new InMemoryUsageLedger();
    const gw = gateway(agentSpec, ledger);
    for await (const chunk of gw.stream({ model: 'fast', messages: [{ role: 'user', content: 'one two three four' }] }, { tenantId: 't' })) {
      if (chunk.choices[0]?.delta.content) break;
    }
    expect(ledger.records).toMatchObject([{ outcome: 'cancelled', errorCode: 'cancelled' }]);
    expect(ledger.records[0]?.outputTokens).toBeGreaterThan(0);
  });

  it('fails like an HTTP provider when a rule says so, which moves the call to the next target', async () => {
    const ledger = new InMemoryUsageLedger();
    const gw = gateway(
      {
        providers: {
          down: { type: 'mock', script: [{ error: { status: 503, message: 'overloaded' } }] },
          up: { type: 'mock', script: [{ reply: { content: 'backup' } }] },
        },
        models: {
          m: {
            targets: [
              { provider: 'down', model: 'a' },
              { provider: 'up', model: 'b' },
            ],
            retry: { max_attempts: 2 },
          },
        },
      },
      ledger,
    );
    const res = await gw.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { tenantId: 't' });
    expect(res.choices[0]?.message.content).toBe('backup');
    expect(ledger.records.map((r) => `${r.provider}:${r.outcome}`)).toEqual(['down:error', 'down:error', 'up:ok']);
  });

  it('cancels a delayed reply when the signal fires', async () => {
    const gw = gateway({
      providers: { slow: { type: 'mock', script: [{ delay: '1h', reply: { content: 'late' } }] } },
      models: { m: { targets: [{ provider: 'slow', model: 'a' }] } },
    });
    const controller = new AbortController();
    const call = gw.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { tenantId: 't', signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('lists the model groups', () => {
    expect(gateway(agentSpec).models()).toEqual([
      { id: 'fast', object: 'model', created: 0, owned_by: 'agentry', targets: [{ provider: 'demo', model: 'mock-1' }] },
    ]);
  });
});
