/**
 * Tool-call approval in agent steps, end to end on every store: a tool server with
 * `require_approval` (the fixture MCP server over streamable HTTP, whose `count` tool counts its
 * real calls), the scripted `mock` model through the gateway, and a person deciding the
 * `tool_approval` task through the engine. The model's requests are recorded, so each test also
 * shows that the turns before a suspension are replayed from the journal, not sent again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSpec, ToolSpec } from '../../src/spec/schemas.js';
import type { TaskDecision } from '../../src/types.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';
import { ADMIN, mockGateway, startAgentEngine, type AgentEngine } from '../helpers/agent-engine.js';
import { openTask } from '../helpers/engine.js';
import { storeFactories, type StoreFactory } from '../helpers/store.js';

let t: AgentEngine | undefined;
let mcp: HttpMcpServer | undefined;

afterEach(async () => {
  await t?.cleanup();
  await mcp?.close();
  t = mcp = undefined;
});

const NOTE_SCHEMA = { type: 'object', required: ['note'], additionalProperties: false, properties: { note: { type: 'string' } } };

const clerk: AgentSpec = { name: 'clerk', model: 'mock', prompt: 'Count the visitors.', tools: ['web.count'], max_turns: 4, output: { schema: NOTE_SCHEMA } };
const workflow = { name: 'tally', steps: { work: { agent: 'clerk' } }, output: '{{ steps.work.output }}' };

/** An engine whose model asks for `calls` count calls on turn 1 and answers on turn 2. */
async function open(factory: StoreFactory, onReject: 'fail' | 'recover', calls = ['call_count']): Promise<AgentEngine> {
  mcp = await startHttpMcpServer();
  const web: ToolSpec = { name: 'web', url: mcp.url, require_approval: ['count'], on_reject: onReject };
  t = await startAgentEngine(factory, {
    gateway: mockGateway([
      { when: { has_tool_results: false }, reply: { tool_calls: calls.map((id) => ({ id, name: 'web__count', arguments: {} })) } },
      { when: { has_tool_results: true }, reply: { content: { note: 'counted' } } },
    ]),
    agents: [clerk],
    tools: [web],
    workflows: [workflow],
  });
  return t;
}

async function decide(e: AgentEngine, taskId: string, decision: TaskDecision, comment?: string): Promise<void> {
  await e.engine.completeTask(taskId, { decision, ...(comment === undefined ? {} : { comment }) }, ADMIN);
}

/** The step's journal keys, sorted (entries written in the same millisecond load in either order). */
const journalKeys = async (e: AgentEngine, runId: string) => (await e.store.loadJournal(runId, 'work')).map((x) => x.key).sort();

const ended = (e: AgentEngine, runId: string) => e.engine.waitForRun(runId, { timeoutMs: 30_000, pollMs: 50 });

describe.each(storeFactories)('agent tool approval ($name)', { timeout: 60_000 }, (factory) => {
  it('parks the step with a tool_approval task showing the call, then on approve makes the call once and the run succeeds', async () => {
    const e = await open(factory, 'fail');
    const run = await e.engine.startRun('tally', {});

    const task = await openTask(e.engine, run.id);
    expect(task).toMatchObject({
      kind: 'tool_approval',
      status: 'open',
      stepId: 'work',
      title: 'Approve call to web.count',
      // The engine keeps the task's key (the call's journal key) beside what the agent asked to show.
      context: { server: 'web', tool: 'count', arguments: {}, agent: 'clerk', turn: 1 },
    });
    expect(task.instructions).toContain('Approve to make the call');
    // Nothing ran yet and no worker holds the step.
    expect(mcp!.state.count).toBe(0);
    expect((await e.engine.getRun(run.id)).status).toBe('waiting');
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'work')).toMatchObject({ status: 'waiting', leaseOwner: null });

    await decide(e, task.id, 'approve');
    const done = await ended(e, run.id);

    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ note: 'counted' });
    expect(mcp!.state.count).toBe(1);
    // Turn 1 reached the model once: the re-execution replayed it from the journal.
    expect(e.turns()).toEqual([1, 2]);
    expect(e.requests[1]?.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_count', content: '1' });
    expect(await journalKeys(e, run.id)).toEqual(['model:1', 'model:2', 'tool:1:call_count']);
  });

  it('with on_reject recover, never calls the tool, tells the model the call was refused with the comment, and the run succeeds', async () => {
    const e = await open(factory, 'recover');
    const run = await e.engine.startRun('tally', {});

    const task = await openTask(e.engine, run.id);
    expect(task.instructions).toContain('goes on without it');
    await decide(e, task.id, 'reject', 'not during business hours');
    const done = await ended(e, run.id);

    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ note: 'counted' });
    expect(mcp!.state.count).toBe(0);
    expect(e.turns()).toEqual([1, 2]);
    const told = e.requests[1]?.messages.at(-1);
    expect(told).toMatchObject({ role: 'tool', tool_call_id: 'call_count' });
    const error = (JSON.parse(told?.content as string) as { error: string }).error;
    expect(error).toMatch(/^\[tool_rejected\] A reviewer refused this call to web\.count; it was not made\./);
    expect(error).toContain('not during business hours');
  });

  it('with on_reject fail, fails the step and the run tool_rejected without calling the tool or the model again', async () => {
    const e = await open(factory, 'fail');
    const run = await e.engine.startRun('tally', {});

    const task = await openTask(e.engine, run.id);
    await decide(e, task.id, 'reject', 'no');
    const done = await ended(e, run.id);

    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'tool_rejected', message: expect.stringContaining('web.count') });
    expect(done.error?.retryable).toBeFalsy();
    const step = (await e.store.getSteps(run.id)).find((s) => s.stepId === 'work');
    expect(step).toMatchObject({ status: 'failed', error: { code: 'tool_rejected', details: { server: 'web', tool: 'count', by: 't', comment: 'no' } } });
    expect(mcp!.state.count).toBe(0);
    expect(e.turns()).toEqual([1]);
  });

  it('asks about several calls of one turn one at a time, in order, each after the one before it ran', async () => {
    const e = await open(factory, 'fail', ['call_a', 'call_b']);
    const run = await e.engine.startRun('tally', {});

    const first = await openTask(e.engine, run.id);
    expect(first.context).toMatchObject({ tool: 'count', turn: 1 });
    expect((await e.engine.listTasks({ status: ['open'], runId: run.id, limit: 10 })).items).toHaveLength(1);
    await decide(e, first.id, 'approve');

    const second = await openTask(e.engine, run.id);
    expect(second.context).toMatchObject({ tool: 'count', turn: 1 });
    expect(second.id).not.toBe(first.id);
    expect(mcp!.state.count).toBe(1);
    await decide(e, second.id, 'approve');
    const done = await ended(e, run.id);

    expect(done.status).toBe('succeeded');
    expect(mcp!.state.count).toBe(2);
    expect(e.turns()).toEqual([1, 2]);
    expect(await journalKeys(e, run.id)).toEqual(['model:1', 'model:2', 'tool:1:call_a', 'tool:1:call_b']);
  });
});
