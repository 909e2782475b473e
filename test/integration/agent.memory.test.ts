/**
 * Conversation memory of agents, end to end on every store: an agent with `memory:`, the scripted
 * `mock` model, and the model requests the test's chat client records — a second run on the same
 * thread carries the first's exchange, another tenant's run on the same thread carries nothing,
 * a thread keeps only its newest `max_messages`, and a cleared thread starts over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/gateway/types.js';
import type { AgentSpec } from '../../src/spec/schemas.js';
import { mockGateway, startAgentEngine, type AgentEngine } from '../helpers/agent-engine.js';
import { storeFactories, type StoreFactory } from '../helpers/store.js';

let t: AgentEngine | undefined;

afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

function helper(maxMessages?: number): AgentSpec {
  return {
    name: 'helper',
    model: 'mock',
    system: 'You help customers.',
    prompt: 'Customer says: {{ input.text }}',
    memory: { thread: '{{ input.customer }}', ...(maxMessages === undefined ? {} : { max_messages: maxMessages }) },
  };
}

async function open(factory: StoreFactory, agent: AgentSpec): Promise<AgentEngine> {
  t = await startAgentEngine(factory, {
    gateway: mockGateway([{ reply: { content: 'Noted.' } }]),
    agents: [agent],
    workflows: [{ name: 'chat', steps: { reply: { agent: 'helper', input: '{{ input }}' } }, output: '{{ steps.reply.output }}' }],
  });
  return t;
}

async function say(e: AgentEngine, customer: string, text: string, tenantId?: string): Promise<ChatMessage[]> {
  const before = e.requests.length;
  const run = await e.engine.startRun('chat', { customer, text }, tenantId === undefined ? undefined : { tenantId });
  const done = await e.engine.waitForRun(run.id, { timeoutMs: 30_000, pollMs: 50 });
  expect(done.status).toBe('succeeded');
  expect(e.requests.length).toBe(before + 1);
  return e.requests[before]?.messages ?? [];
}

const contents = (messages: ChatMessage[]) => messages.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`);

describe.each(storeFactories)('agent memory ($name)', { timeout: 60_000 }, (factory) => {
  it("the second run on a thread sees the first run's prompt and answer; another thread sees nothing", async () => {
    const e = await open(factory, helper());

    expect(contents(await say(e, 'ada', 'my order is late'))).toEqual(['system: You help customers.', 'user: Customer says: my order is late']);
    expect(contents(await say(e, 'ada', 'any news?'))).toEqual([
      'system: You help customers.',
      'user: Customer says: my order is late',
      'assistant: Noted.',
      'user: Customer says: any news?',
    ]);
    expect(contents(await say(e, 'bob', 'hello'))).toEqual(['system: You help customers.', 'user: Customer says: hello']);
    expect(await e.store.loadMemory('default', 'helper', 'ada', 50)).toEqual([
      { role: 'user', content: 'Customer says: my order is late' },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: 'Customer says: any news?' },
      { role: 'assistant', content: 'Noted.' },
    ]);
  });

  it('another tenant with the same thread sees nothing of it, and keeps its own', async () => {
    const e = await open(factory, helper());
    await say(e, 'ada', 'secret of tenant a', 'acme');

    expect(contents(await say(e, 'ada', 'hi', 'globex'))).toEqual(['system: You help customers.', 'user: Customer says: hi']);
    expect(await e.store.loadMemory('globex', 'helper', 'ada', 50)).toEqual([
      { role: 'user', content: 'Customer says: hi' },
      { role: 'assistant', content: 'Noted.' },
    ]);
    const page = await e.store.listMemoryThreads({ tenantId: 'acme', agent: 'helper', limit: 10 });
    expect(page.items.map((i) => [i.thread, i.messages])).toEqual([['ada', 2]]);
  });

  it('keeps only the newest max_messages of a thread, and the model sees only those', async () => {
    const e = await open(factory, helper(3));
    await say(e, 'ada', 'one');
    await say(e, 'ada', 'two');

    expect(contents(await say(e, 'ada', 'three'))).toEqual([
      'system: You help customers.',
      'assistant: Noted.',
      'user: Customer says: two',
      'assistant: Noted.',
      'user: Customer says: three',
    ]);
    expect((await e.store.loadMemory('default', 'helper', 'ada', 1000)).map((m) => m.content)).toEqual(['Noted.', 'Customer says: three', 'Noted.']);
  });

  it('lists threads a page at a time, and a cleared thread starts over', async () => {
    const e = await open(factory, helper());
    for (const customer of ['c1', 'c2', 'c3']) await say(e, customer, 'hi');

    const first = await e.store.listMemoryThreads({ tenantId: 'default', agent: 'helper', limit: 2 });
    expect(first.items.map((i) => i.thread)).toEqual(['c1', 'c2']);
    expect(first.nextCursor).not.toBeNull();
    const second = await e.store.listMemoryThreads({ tenantId: 'default', agent: 'helper', limit: 2, cursor: first.nextCursor ?? '' });
    expect(second).toMatchObject({ items: [{ thread: 'c3', messages: 2 }], nextCursor: null });

    expect(await e.store.clearMemory('other-tenant', 'helper', 'c2')).toBe(0);
    expect(await e.store.clearMemory('default', 'helper', 'c2')).toBe(2);
    expect(contents(await say(e, 'c2', 'again'))).toEqual(['system: You help customers.', 'user: Customer says: again']);
    expect(await e.store.loadMemory('default', 'helper', 'c1', 50)).toHaveLength(2);
  });
});
