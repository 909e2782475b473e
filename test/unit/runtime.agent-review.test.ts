/**
 * People in the agent loop, without an engine: the pure decision rules (agent-review.ts) and the
 * executor driven by hand through suspend → decision → execute again, with the journal kept in
 * memory between executions the way the store keeps it between attempts.
 */
import { describe, expect, it } from 'vitest';
import { approvalOutcome, approvalTask, confidenceReview, decisionFor, refusalResult, type GatedCall } from '../../src/runtime/agent-review.js';
import { createAgentExecutor, hubTools, memoryJournal, type AgentTools, type ApprovalTarget, type ChatClient } from '../../src/runtime/agent.js';
import { createToolHub } from '../../src/tools/hub.js';
import type { ChatRequest, ChatResponse, ToolCall } from '../../src/gateway/types.js';
import type { AgentSpec } from '../../src/spec/schemas.js';
import type { StepResult, TaskDecisionRecord } from '../../src/runtime/types.js';
import type { JournalEntry } from '../../src/types.js';
import { stepContext } from '../helpers/step-context.js';

const call: GatedCall = {
  key: 'tool:2:call_x',
  server: 'crm',
  tool: 'delete_customer',
  args: { id: 'c_42' },
  agent: 'janitor',
  turn: 2,
  onReject: 'fail',
};

describe('tool approval rules', () => {
  it('asks for a decision with a task that shows the tool, its arguments, the agent and the turn', () => {
    const outcome = approvalOutcome(call, undefined);
    expect(outcome).toEqual({ action: 'ask', task: approvalTask(call) });
    expect(approvalTask(call)).toMatchObject({
      kind: 'tool_approval',
      key: 'tool:2:call_x',
      title: 'Approve call to crm.delete_customer',
      context: { server: 'crm', tool: 'delete_customer', arguments: { id: 'c_42' }, agent: 'janitor', turn: 2 },
    });
    expect(approvalTask(call).instructions).toContain('the step fails (tool_rejected)');
    expect(approvalTask({ ...call, onReject: 'recover' }).instructions).toContain('goes on without it');
    expect(approvalTask(call).role).toBeUndefined();
    expect(approvalTask({ ...call, role: 'finance' }).role).toBe('finance');
  });

  it('makes the call only on approve', () => {
    expect(approvalOutcome(call, { decision: 'approve', by: 'ops' })).toEqual({ action: 'call', by: 'ops' });
    // A decision the task does not take is a refusal, never a silent approval.
    expect(approvalOutcome(call, { decision: 'submit', data: {}, by: 'ops' }).action).toBe('fail');
  });

  it('fails tool_rejected, not retryable, naming the reviewer and the comment, when on_reject is fail', () => {
    const outcome = approvalOutcome(call, { decision: 'reject', comment: '  not without a ticket ', by: 'ops' });
    if (outcome.action !== 'fail') throw new Error(`expected fail, got ${outcome.action}`);
    expect(outcome.error.code).toBe('tool_rejected');
    expect(outcome.error.retryable).toBe(false);
    expect(outcome.error.status).toBe(403);
    expect(outcome.error.message).toBe('the call to crm.delete_customer (agent janitor, turn 2) was rejected by ops: not without a ticket');
    expect(outcome.error.details).toEqual({ server: 'crm', tool: 'delete_customer', agent: 'janitor', turn: 2, by: 'ops', comment: 'not without a ticket' });
  });

  it("tells the model about the refusal, with the reviewer's comment, when on_reject is recover", () => {
    const outcome = approvalOutcome({ ...call, onReject: 'recover' }, { decision: 'reject', comment: 'use archive instead', by: 'ops' });
    expect(outcome).toEqual({ action: 'refuse', result: refusalResult(call, 'use archive instead') });
    const told = JSON.parse(refusalResult(call, 'use archive instead')) as { error: string };
    expect(told.error).toMatch(/^\[tool_rejected\] A reviewer refused this call to crm\.delete_customer; it was not made\. /);
    expect(told.error).toContain("The reviewer's comment: use archive instead");
    expect(JSON.parse(refusalResult(call, undefined))).toEqual({ error: expect.stringContaining('No comment was given.') });
  });

  it('reads the decision for a key from the resumed state and ignores anything malformed', () => {
    const record: TaskDecisionRecord = { decision: 'approve', by: 'ops' };
    expect(decisionFor({ awaiting: 'k', decisions: { k: record } }, 'k')).toEqual(record);
    expect(decisionFor({ decisions: { k: record } }, 'other')).toBeUndefined();
    expect(decisionFor(undefined, 'k')).toBeUndefined();
    expect(decisionFor({ decisions: null }, 'k')).toBeUndefined();
    expect(decisionFor({ decisions: { k: { decision: 'maybe', by: 'x' } } }, 'k')).toBeUndefined();
    expect(decisionFor({ decisions: { k: 'approve' } }, 'k')).toBeUndefined();
    expect(decisionFor({ decisions: {} }, 'toString')).toBeUndefined();
  });
});

describe('approval rules of the tool servers', () => {
  it("gates the tools require_approval names, with the server's on_reject (default fail), and only tools the agent may call", async () => {
    const hub = createToolHub({
      specs: new Map([
        ['crm', { name: 'crm', command: 'crm-mcp', require_approval: ['delete_customer'], on_reject: 'recover' as const }],
        ['search', { name: 'search', url: 'http://127.0.0.1:1/mcp', require_approval: true }],
        ['docs', { name: 'docs', url: 'http://127.0.0.1:1/mcp' }],
      ]),
    });
    try {
      const tools = hubTools(hub);
      expect(tools.approvalFor?.('crm__delete_customer', ['crm'])).toEqual({ server: 'crm', tool: 'delete_customer', onReject: 'recover' });
      expect(tools.approvalFor?.('crm__find_customer', ['crm'])).toBeUndefined();
      expect(tools.approvalFor?.('search__web', ['search'])).toEqual({ server: 'search', tool: 'web', onReject: 'fail' });
      expect(tools.approvalFor?.('docs__read', ['docs'])).toBeUndefined();
      // Outside the agent's list: the call is refused (tool_not_allowed) without asking anyone.
      expect(tools.approvalFor?.('crm__delete_customer', ['search'])).toBeUndefined();
      expect(hub.approvalRule('crm', 'delete_customer')).toEqual({ onReject: 'recover' });
    } finally {
      await hub.close();
    }
  });
});

describe('confidence review rule', () => {
  const agent = { name: 'triager', confidence_threshold: 0.7 };

  it('routes a valid answer below the threshold with the stripped output and its meta', () => {
    expect(confidenceReview(agent, { severity: 'high', _confidence: 0.42, _rationale: 'unsure', _flags: ['pii'] })).toEqual({
      title: 'Review output of triager (confidence 0.42 < 0.7)',
      instructions: expect.stringContaining('Approve to keep the output'),
      context: { output: { severity: 'high' }, confidence: 0.42, threshold: 0.7, rationale: 'unsure', flags: ['pii'] },
    });
    expect(confidenceReview(agent, { severity: 'high', _confidence: 0 })?.context).toEqual({
      output: { severity: 'high' },
      confidence: 0,
      threshold: 0.7,
      rationale: null,
      flags: [],
    });
  });

  it('does not route an answer at or above the threshold, without _confidence, with a malformed one, or when the agent has no threshold', () => {
    expect(confidenceReview(agent, { severity: 'high', _confidence: 0.7 })).toBeUndefined();
    expect(confidenceReview(agent, { severity: 'high', _confidence: 0.95 })).toBeUndefined();
    expect(confidenceReview(agent, { severity: 'high' })).toBeUndefined();
    expect(confidenceReview(agent, { severity: 'high', _confidence: '0.1' })).toBeUndefined();
    expect(confidenceReview(agent, 'plain text answer')).toBeUndefined();
    expect(confidenceReview({ name: 'triager' }, { severity: 'high', _confidence: 0.1 })).toBeUndefined();
  });
});

// ---- the executor, driven by hand ----

type Reply = { content?: string; calls?: Array<{ id: string; name: string; args: Record<string, unknown> }> };

/** A chat client answering turn N with `replies[N-1]` (turn = 1 + assistant messages), counting the calls per turn. */
function scriptedByTurn(replies: Reply[]): ChatClient & { turns: number[] } {
  const turns: number[] = [];
  return {
    turns,
    chat(request: ChatRequest) {
      const turn = 1 + request.messages.filter((m) => m.role === 'assistant').length;
      turns.push(turn);
      const reply = replies[turn - 1];
      if (!reply) throw new Error(`no reply scripted for turn ${turn}`);
      const toolCalls: ToolCall[] = (reply.calls ?? []).map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: JSON.stringify(c.args) },
      }));
      const response: ChatResponse = {
        id: `r${turn}`,
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.content ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
            finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      };
      return Promise.resolve(response);
    },
  };
}

/** Tools where `crm__delete` needs approval (with `onReject`) and `crm__find` does not. */
function gatedTools(onReject: ApprovalTarget['onReject']): AgentTools & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    toolsFor: () => Promise.resolve([]),
    call(name, args) {
      calls.push(`${name}(${JSON.stringify(args)})`);
      return Promise.resolve(`${name} done`);
    },
    approvalFor: (name) => (name === 'crm__delete' ? { server: 'crm', tool: 'delete', onReject } : undefined),
  };
}

const agents = new Map<string, AgentSpec>([
  ['janitor', { name: 'janitor', model: 'm', tools: ['crm'], prompt: 'Clean up.', max_turns: 6 }],
  ['rater', { name: 'rater', model: 'm', prompt: 'Rate.', output: { schema: { type: 'object', required: ['ok'] } }, confidence_threshold: 0.5 }],
]);

/** Executes the step until it ends, deciding each task it asks with `decide`, as the engine would. */
async function drive(
  chat: ChatClient,
  tools: AgentTools,
  decide: (task: NonNullable<Extract<StepResult, { kind: 'suspend' }>['task']>) => TaskDecisionRecord,
): Promise<{ result: StepResult | { error: unknown }; tasks: string[]; entries: JournalEntry[] }> {
  const entries: JournalEntry[] = [];
  const executor = createAgentExecutor({ agents, chat, tools });
  const tasks: string[] = [];
  let state: unknown;
  for (;;) {
    let result: StepResult;
    try {
      result = await executor.execute('janitor', stepContext({ journal: memoryJournal(entries), state }));
    } catch (error) {
      return { result: { error }, tasks, entries };
    }
    if (result.kind !== 'suspend' || !result.task) return { result, tasks, entries };
    expect(result.until).toBeNull();
    tasks.push(result.task.key);
    state = { ...(result.state as object), decisions: { [result.task.key]: decide(result.task) } };
  }
}

describe('agent executor with approvals', () => {
  it('runs the calls before a gated one, suspends, and after approval makes it and finishes, calling the model once per turn', async () => {
    const chat = scriptedByTurn([
      {
        calls: [
          { id: 'a', name: 'crm__find', args: { q: 1 } },
          { id: 'b', name: 'crm__delete', args: { id: 7 } },
        ],
      },
      { content: 'all clean' },
    ]);
    const tools = gatedTools('fail');
    const asked: Array<{ task: unknown; callsSoFar: string[] }> = [];
    const run = await drive(chat, tools, (task) => {
      asked.push({ task, callsSoFar: [...tools.calls] });
      return { decision: 'approve', by: 'ops' };
    });
    expect(asked).toEqual([
      {
        task: expect.objectContaining({
          kind: 'tool_approval',
          key: 'tool:1:b',
          context: { server: 'crm', tool: 'delete', arguments: { id: 7 }, agent: 'janitor', turn: 1 },
        }),
        // The ungated call before it had run; the gated one had not.
        callsSoFar: ['crm__find({"q":1})'],
      },
    ]);
    expect(tools.calls).toEqual(['crm__find({"q":1})', 'crm__delete({"id":7})']);
    expect(run.result).toEqual({ kind: 'output', output: 'all clean' });
    expect(chat.turns).toEqual([1, 2]);
  });

  it('replays the turns before the suspension from the journal and never asks the model for them again', async () => {
    const chat = scriptedByTurn([{ calls: [{ id: 'b', name: 'crm__delete', args: { id: 7 } }] }, { content: 'done' }]);
    const tools = gatedTools('fail');
    const run = await drive(chat, tools, () => ({ decision: 'approve', by: 'ops' }));
    expect(run.result).toEqual({ kind: 'output', output: 'done' });
    expect(chat.turns).toEqual([1, 2]);
    expect(tools.calls).toEqual(['crm__delete({"id":7})']);
    expect(run.entries.map((e) => e.key)).toEqual(['model:1', 'tool:1:b', 'model:2']);
  });

  it('asks for several gated calls of one turn one at a time, in order, and makes each only after its own approval', async () => {
    const chat = scriptedByTurn([
      {
        calls: [
          { id: 'b1', name: 'crm__delete', args: { id: 1 } },
          { id: 'f', name: 'crm__find', args: {} },
          { id: 'b2', name: 'crm__delete', args: { id: 2 } },
        ],
      },
      { content: 'two gone' },
    ]);
    const tools = gatedTools('fail');
    const seen: string[][] = [];
    const run = await drive(chat, tools, () => {
      seen.push([...tools.calls]);
      return { decision: 'approve', by: 'ops' };
    });
    expect(run.tasks).toEqual(['tool:1:b1', 'tool:1:b2']);
    // When the second task was asked, the first call and the ungated one in between had run.
    expect(seen).toEqual([[], ['crm__delete({"id":1})', 'crm__find({})']]);
    expect(tools.calls).toEqual(['crm__delete({"id":1})', 'crm__find({})', 'crm__delete({"id":2})']);
    expect(run.result).toEqual({ kind: 'output', output: 'two gone' });
    expect(chat.turns).toEqual([1, 2]);
  });

  it('with on_reject recover, gives the model the refusal as the tool result and lets it finish without the tool', async () => {
    const chat = scriptedByTurn([{ calls: [{ id: 'b', name: 'crm__delete', args: { id: 7 } }] }, { content: 'left it alone' }]);
    const tools = gatedTools('recover');
    const requests: ChatRequest[] = [];
    const recording: ChatClient = { chat: (req, c) => (requests.push(structuredClone(req)), chat.chat(req, c)) };
    const run = await drive(recording, tools, () => ({ decision: 'reject', comment: 'keep it', by: 'ops' }));
    expect(run.result).toEqual({ kind: 'output', output: 'left it alone' });
    expect(tools.calls).toEqual([]);
    expect(requests.at(-1)?.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'b', content: refusalResult({ server: 'crm', tool: 'delete' }, 'keep it') });
    // The refusal is journaled like a result, so a later replay does not ask again.
    expect(run.entries.find((e) => e.key === 'tool:1:b')?.data).toBe(refusalResult({ server: 'crm', tool: 'delete' }, 'keep it'));
  });

  it('with on_reject fail, fails the step tool_rejected without making the call or asking the model again', async () => {
    const chat = scriptedByTurn([{ calls: [{ id: 'b', name: 'crm__delete', args: { id: 7 } }] }, { content: 'never' }]);
    const tools = gatedTools('fail');
    const run = await drive(chat, tools, () => ({ decision: 'reject', by: 'ops' }));
    expect(run.result).toEqual({ error: expect.objectContaining({ code: 'tool_rejected', retryable: false }) });
    expect(tools.calls).toEqual([]);
    expect(chat.turns).toEqual([1]);
  });

  it('does not ask about a call with invalid arguments: the model is told, as for any tool', async () => {
    const chat: ChatClient & { turns: number[] } = scriptedByTurn([{ calls: [{ id: 'b', name: 'crm__delete', args: {} }] }, { content: 'ok' }]);
    const broken: ChatClient = {
      async chat(req, c) {
        const res = await chat.chat(req, c);
        const tc = res.choices[0]?.message.tool_calls?.[0];
        if (tc) tc.function.arguments = '[1,2]';
        return res;
      },
    };
    const tools = gatedTools('fail');
    const run = await drive(broken, tools, () => {
      throw new Error('no task expected');
    });
    expect(run.tasks).toEqual([]);
    expect(run.result).toEqual({ kind: 'output', output: 'ok' });
    expect(run.entries.find((e) => e.key === 'tool:1:b')?.data).toBe(
      JSON.stringify({ error: 'invalid arguments for crm__delete: arguments must be a JSON object' }),
    );
  });
});

describe('agent executor with a confidence threshold', () => {
  it('returns a low-confidence valid answer with a review, and a confident one without', async () => {
    const low = scriptedByTurn([{ content: '{"ok":true,"_confidence":0.2}' }]);
    const result = await createAgentExecutor({ agents, chat: low, tools: undefined }).execute('rater', stepContext({ journal: memoryJournal([]) }));
    expect(result).toEqual({
      kind: 'output',
      output: { ok: true, _confidence: 0.2 },
      review: {
        title: 'Review output of rater (confidence 0.2 < 0.5)',
        instructions: expect.any(String),
        context: { output: { ok: true }, confidence: 0.2, threshold: 0.5, rationale: null, flags: [] },
      },
    });
    const high = scriptedByTurn([{ content: '{"ok":true,"_confidence":0.9}' }]);
    expect(await createAgentExecutor({ agents, chat: high, tools: undefined }).execute('rater', stepContext({ journal: memoryJournal([]) }))).toEqual({
      kind: 'output',
      output: { ok: true, _confidence: 0.9 },
    });
  });

  it('repairs an invalid answer first and reviews only the valid one', async () => {
    const chat = scriptedByTurn([{ content: '{"_confidence":0.1}' }, { content: '{"ok":false,"_confidence":0.3}' }]);
    const result = await createAgentExecutor({ agents, chat, tools: undefined }).execute('rater', stepContext({ journal: memoryJournal([]) }));
    expect(chat.turns).toEqual([1, 2]);
    expect(result).toMatchObject({ kind: 'output', review: { context: { output: { ok: false }, confidence: 0.3 } } });
  });
});
