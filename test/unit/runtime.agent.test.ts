import { describe, expect, it } from 'vitest';
import { createAgentExecutor, memoryJournal, type AgentTools, type ChatClient } from '../../src/runtime/agent.js';
import type { ChatRequest, ChatResponse } from '../../src/gateway/types.js';
import type { AgentSpec } from '../../src/spec/schemas.js';
import type { StepContext, StepJournal } from '../../src/runtime/types.js';
import { stepContext } from '../helpers/step-context.js';

type Reply = { content?: string; tool?: { name: string; args: Record<string, unknown> } };

/** A chat client answering from a script, recording every request it receives. */
function scripted(replies: Reply[]): ChatClient & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    requests,
    chat(request) {
      const reply = replies[requests.length];
      requests.push(structuredClone(request));
      if (!reply) throw new Error('script exhausted');
      const response: ChatResponse = {
        id: `r${requests.length}`,
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: reply.content ?? null,
              ...(reply.tool
                ? {
                    tool_calls: [
                      {
                        id: `call_${requests.length}`,
                        type: 'function' as const,
                        function: { name: reply.tool.name, arguments: JSON.stringify(reply.tool.args) },
                      },
                    ],
                  }
                : {}),
            },
            finish_reason: reply.tool ? 'tool_calls' : 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      };
      return Promise.resolve(response);
    },
  };
}

const tools: AgentTools & { calls: string[] } = {
  calls: [],
  toolsFor: () => Promise.resolve([{ type: 'function', function: { name: 'crm__lookup', parameters: { type: 'object' } } }]),
  call(name, args) {
    tools.calls.push(`${name}(${JSON.stringify(args)})`);
    return Promise.resolve(JSON.stringify({ tier: 'gold' }));
  },
};

const schema = { type: 'object', required: ['tier'], properties: { tier: { type: 'string' } } };
const agents = new Map<string, AgentSpec>([
  [
    'support',
    { name: 'support', model: 'smart', system: 'You help.', prompt: 'Customer {{ input.name }}', tools: ['crm'], output: { schema, repair_attempts: 1 } },
  ],
  ['looper', { name: 'looper', model: 'smart', tools: ['crm'], max_turns: 3 }],
]);

function context(journal: StepJournal): StepContext {
  return stepContext({ stepId: 'triage', input: { name: 'Ada' }, journal });
}

describe('agent executor', () => {
  it('calls a tool, returns validated JSON, and renders its prompt from the step input', async () => {
    tools.calls.length = 0;
    const chat = scripted([{ tool: { name: 'crm__lookup', args: { q: 'Ada' } } }, { content: '{"tier":"gold","_confidence":0.9}' }]);
    const result = await createAgentExecutor({ agents, chat, tools }).execute('support', context(memoryJournal()));
    expect(result).toEqual({ kind: 'output', output: { tier: 'gold', _confidence: 0.9 } });
    expect(tools.calls).toEqual(['crm__lookup({"q":"Ada"})']);
    expect(chat.requests[0]?.messages[0]).toEqual({ role: 'system', content: 'You help.' });
    expect(chat.requests[0]?.messages[1]?.content as string).toContain('Customer Ada');
    expect(chat.requests[1]?.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '{"tier":"gold"}' });
  });

  it('replays journaled turns after a crash and only calls the model for the turns still to do', async () => {
    const entries: { key: string; data: unknown }[] = [];
    const first = scripted([{ tool: { name: 'crm__lookup', args: { q: 1 } } }, { tool: { name: 'crm__lookup', args: { q: 2 } } }]);
    // The first attempt dies after its 2nd model call (the script runs out on the 3rd).
    await expect(createAgentExecutor({ agents, chat: first, tools }).execute('support', context(memoryJournal(entries)))).rejects.toThrow('script exhausted');
    expect(entries.map((e) => e.key)).toEqual(['model:1', 'tool:1:call_1', 'model:2', 'tool:2:call_2']);
    tools.calls.length = 0;
    const second = scripted([{ content: '{"tier":"silver"}' }]);
    const result = await createAgentExecutor({ agents, chat: second, tools }).execute('support', context(memoryJournal(entries)));
    expect(result).toEqual({ kind: 'output', output: { tier: 'silver' } });
    expect(second.requests).toHaveLength(1);
    expect(tools.calls).toEqual([]);
    // The resumed request carries the whole conversation so far.
    expect(second.requests[0]?.messages.filter((m) => m.role === 'tool')).toHaveLength(2);
  });

  it('sends an invalid answer back with the errors and accepts the repaired one', async () => {
    const chat = scripted([{ content: '{"level":"x"}' }, { content: '```json\n{"tier":"bronze"}\n```' }]);
    const result = await createAgentExecutor({ agents, chat, tools }).execute('support', context(memoryJournal()));
    expect(result).toEqual({ kind: 'output', output: { tier: 'bronze' } });
    const repair = chat.requests[1]?.messages.at(-1);
    expect(repair?.role).toBe('user');
    expect(repair?.content as string).toMatch(/rejected: .*tier/);
  });

  it('fails output_invalid when the answer stays invalid after its repair attempts', async () => {
    const chat = scripted([{ content: 'not json' }, { content: '{"level":1}' }]);
    await expect(createAgentExecutor({ agents, chat, tools }).execute('support', context(memoryJournal()))).rejects.toMatchObject({ code: 'output_invalid' });
    expect(chat.requests).toHaveLength(2);
  });

  it('stops an agent that keeps calling tools at max_turns', async () => {
    const chat = scripted(Array.from({ length: 5 }, () => ({ tool: { name: 'crm__lookup', args: {} } })));
    await expect(createAgentExecutor({ agents, chat, tools }).execute('looper', context(memoryJournal()))).rejects.toMatchObject({
      code: 'max_turns_exceeded',
    });
    expect(chat.requests).toHaveLength(3);
  });
});

describe('agent executor and the step deadline', () => {
  it("passes the step's deadline to every model call, so an upstream limit waits no longer than the step may run", async () => {
    const deadlines: Array<number | undefined> = [];
    const inner = scripted([{ content: '{"tier":"gold"}' }]);
    const chat: ChatClient = {
      chat(request, ctx) {
        deadlines.push(ctx.deadline);
        return inner.chat(request, ctx);
      },
    };
    const deadline = Date.now() + 30_000;
    await createAgentExecutor({ agents, chat, tools }).execute('support', { ...context(memoryJournal()), deadline });
    expect(deadlines).toEqual([deadline]);
  });
});
