/**
 * Agent steps with real MCP tool servers: the fixture server over stdio (a child process the
 * hub starts) and over streamable HTTP, a model behind the `openai-compatible` provider (a
 * local fake), and the project opened as the CLI opens it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import { fakeGateway, openProject, runToEnd, stdioFixtureTool, toolMessages, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { startFakeOpenAI, type FakeServer, type Json } from '../fixtures/fake-openai.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';

let fake: FakeServer | undefined;
let mcp: HttpMcpServer | undefined;
let agentry: Agentry | undefined;
let project: TempProject | undefined;

afterEach(async () => {
  await agentry?.close();
  await mcp?.close();
  await fake?.close();
  project?.remove();
  agentry = mcp = fake = project = undefined;
});

const ANSWER_SCHEMA = {
  type: 'object',
  required: ['echoed', 'sum'],
  additionalProperties: false,
  properties: { echoed: { type: 'string' }, sum: { type: 'number' } },
};

describe('agent steps with MCP tools', { timeout: 60_000 }, () => {
  it('calls a tool over stdio and a tool over streamable HTTP, feeds their real results back to the model, and outputs the validated JSON', async () => {
    fake = await startFakeOpenAI();
    mcp = await startHttpMcpServer();
    // Turn 1: call both tools. Turn 2: answer with what the tools returned.
    fake.respond = (req) => {
      const results = toolMessages(req);
      if (results.length === 0) {
        return {
          tool_calls: [
            { id: 'call_echo', name: 'fx__echo', arguments: { text: 'hello over stdio' } },
            { id: 'call_add', name: 'web__add', arguments: { a: 2, b: 40 } },
          ],
        };
      }
      const echoed = results.find((m) => m.tool_call_id === 'call_echo')?.content;
      const sum = Number(results.find((m) => m.tool_call_id === 'call_add')?.content);
      return { content: JSON.stringify({ echoed, sum }) };
    };
    project = writeProject({
      gateway: fakeGateway(fake.url),
      tools: [stdioFixtureTool('fx'), { name: 'web', url: mcp.url }],
      agents: [
        {
          name: 'researcher',
          model: 'fake',
          system: 'You look things up with tools.',
          prompt: 'Echo {{ input.word }} and add two numbers.',
          tools: ['fx.echo', 'web.add'],
          max_turns: 4,
          output: { schema: ANSWER_SCHEMA },
        },
      ],
      workflows: [{ name: 'lookup', steps: { ask: { agent: 'researcher', input: { word: '{{ input.word }}' } } }, output: '{{ steps.ask.output }}' }],
    });
    agentry = await openProject(project);

    const run = await runToEnd(agentry, 'lookup', { word: 'hello' });

    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ echoed: 'hello over stdio', sum: 42 });
    const step = (await agentry.store.getSteps(run.id)).find((s) => s.stepId === 'ask');
    expect(step).toMatchObject({ status: 'succeeded', output: { echoed: 'hello over stdio', sum: 42 } });

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    // The model was offered exactly the allowed tools, under their function names, with the servers' input schemas.
    const offered = (first?.body.tools as Json[]).map((t: Json) => t.function.name as string).sort();
    expect(offered).toEqual(['fx__echo', 'web__add']);
    expect((first?.body.tools as Json[]).find((t: Json) => t.function.name === 'web__add').function.parameters).toMatchObject({
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    });
    expect(first?.messages.map((m: Json) => String(m.role))).toEqual(['system', 'user']);
    expect(first?.messages[1].content).toContain('Echo hello and add two numbers.');
    // The second request carries the tool calls and the MCP servers' real answers (2 + 40 computed by the HTTP server).
    expect(second?.messages.map((m: Json) => String(m.role))).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
    expect(toolMessages(second!)).toEqual([
      { role: 'tool', tool_call_id: 'call_echo', content: 'hello over stdio' },
      { role: 'tool', tool_call_id: 'call_add', content: '42' },
    ]);

    // Each model response and each tool result was journaled under its turn.
    const journal = await agentry.store.loadJournal(run.id, 'ask');
    expect(journal.map((e) => e.key)).toEqual(['model:1', 'tool:1:call_echo', 'tool:1:call_add', 'model:2']);
    expect(journal.find((e) => e.key === 'tool:1:call_add')?.data).toBe('42');
    // Both servers really served: the stdio one is a child process of the hub, the HTTP one counted a session.
    expect(agentry.tools?.status().map((s) => [s.name, s.transport, s.state])).toEqual([
      ['fx', 'stdio', 'connected'],
      ['web', 'http', 'connected'],
    ]);
  });

  it('tells the model when a tool fails, and the agent goes on to answer', async () => {
    fake = await startFakeOpenAI();
    fake.respond = (req) =>
      toolMessages(req).length === 0
        ? { tool_calls: [{ id: 'call_fail', name: 'fx__fail', arguments: { message: 'the order does not exist' } }] }
        : { content: JSON.stringify({ echoed: toolMessages(req)[0]?.content ?? '', sum: 0 }) };
    project = writeProject({
      gateway: fakeGateway(fake.url),
      tools: [stdioFixtureTool('fx')],
      agents: [{ name: 'researcher', model: 'fake', prompt: 'Try the tool.', tools: ['fx'], output: { schema: ANSWER_SCHEMA } }],
      workflows: [{ name: 'lookup', steps: { ask: { agent: 'researcher' } }, output: '{{ steps.ask.output }}' }],
    });
    agentry = await openProject(project);

    const run = await runToEnd(agentry, 'lookup');

    expect(run.status).toBe('succeeded');
    const told = (run.output as { echoed: string }).echoed;
    expect(JSON.parse(told)).toEqual({ error: expect.stringMatching(/^\[tool_error\] .*the order does not exist/) });
  });
});
