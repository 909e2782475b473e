import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gateway, InMemoryUsageLedger, type ChatMessage, type ChatRequest } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import { startFakeAnthropic, type FakeServer } from '../fixtures/fake-anthropic.js';

const KEY = 'sk-ant-test-key-abcdefghijklmnop';

let fake: FakeServer;
let ledger: InMemoryUsageLedger;
let delays: number[];

beforeEach(async () => {
  fake = await startFakeAnthropic();
  ledger = new InMemoryUsageLedger();
  delays = [];
});

afterEach(async () => {
  await fake.close();
});

function gateway(): Gateway {
  return new Gateway({
    spec: {
      providers: { claude: { type: 'anthropic', base_url: fake.url } },
      models: {
        smart: { targets: [{ provider: 'claude', model: 'claude-test', input_per_mtok: 3, output_per_mtok: 15 }], retry: { max_attempts: 2 } },
      },
    },
    // The default variable of an anthropic provider.
    env: { ANTHROPIC_API_KEY: KEY },
    logger: createLogger({ level: 'silent' }),
    ledger,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const ctx = { tenantId: 't1', runId: 'run_a' };

describe('gateway over the anthropic SDK against a fake Messages API', () => {
  it('runs a tool-calling conversation in Anthropic format and answers in canonical format', async () => {
    const gw = gateway();
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a weather bot.' },
      { role: 'user', content: 'Weather in Paris?' },
    ];
    fake.replies.push({
      content: 'Let me check.',
      tool_calls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      usage: { prompt_tokens: 50, completion_tokens: 20 },
    });
    const first = await gw.chat({ model: 'smart', messages, tools: [weatherTool], tool_choice: 'required', max_tokens: 256 }, ctx);

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.auth).toContain(KEY);
    expect(sent.body).toMatchObject({
      model: 'claude-test',
      max_tokens: 256,
      system: 'You are a weather bot.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] }],
      tools: [{ name: 'get_weather', description: 'Current weather in a city', input_schema: weatherTool.function.parameters }],
      tool_choice: { type: 'any' },
    });
    expect(first.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
    });
    expect(first.usage).toEqual({ prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 });

    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: 'toolu_1', content: '{"temp_c":21}' });
    fake.replies.push({ content: 'It is 21°C in Paris.', usage: { prompt_tokens: 80, completion_tokens: 10 } });
    const second = await gw.chat({ model: 'smart', messages, tools: [weatherTool] }, ctx);

    expect(fake.requests[1]?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp_c":21}' }] },
    ]);
    expect(second.choices[0]).toMatchObject({ message: { content: 'It is 21°C in Paris.' }, finish_reason: 'stop' });
    expect(second.choices[0]?.message.tool_calls).toBeUndefined();
    expect(ledger.records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [50, 20],
      [80, 10],
    ]);
    // 50 × $3/M + 20 × $15/M
    expect(ledger.records[0]?.costUsd).toBeCloseTo(0.00045, 10);
  });

  it('streams text through the anthropic provider and records the usage of message_delta', async () => {
    fake.replies.push({ pieces: ['Bon', 'jour'], content: 'Bonjour', usage: { prompt_tokens: 12, completion_tokens: 3 } });
    const chunks = [];
    for await (const chunk of gateway().stream({ model: 'smart', messages: [{ role: 'user', content: 'Say hello in French' }] }, ctx)) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Bonjour');
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } });
    expect(fake.requests[0]?.body.stream).toBe(true);
    expect(ledger.records).toMatchObject([{ outcome: 'ok', inputTokens: 12, outputTokens: 3 }]);
  });

  it('streams tool calls as canonical tool_call deltas', async () => {
    fake.replies.push({ tool_calls: [{ id: 'toolu_9', name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'Oslo?' }], tools: [weatherTool] };
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of gateway().stream(request, ctx)) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(call.index).toBe(0);
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Oslo' });
    expect(finish).toBe('tool_calls');
  });

  it('retries an overloaded (529) answer', async () => {
    fake.replies.push({ status: 529 }, { content: 'fine now' });
    const res = await gateway().chat({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, ctx);
    expect(res.choices[0]?.message.content).toBe('fine now');
    expect(fake.requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it('gives the same response shape as the openai provider', async () => {
    fake.replies.push({ content: 'shape' });
    const res = await gateway().chat({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, ctx);
    expect(Object.keys(res).sort()).toEqual(['agentry', 'choices', 'created', 'id', 'model', 'object', 'usage']);
    expect(res.object).toBe('chat.completion');
    expect(Object.keys(res.choices[0]!).sort()).toEqual(['finish_reason', 'index', 'message']);
  });
});
