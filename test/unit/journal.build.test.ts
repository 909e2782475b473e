/**
 * How an agent step's journal is shown (`buildJournal`): turns joined with the ledger's records
 * by call id, the attempt that recorded each entry, tool call statuses (ok, error, refused,
 * awaiting approval, not run) with their approval tasks, durations only where they mean
 * something, the ledger attempts no turn shows, and the journal's key format.
 */
import { describe, expect, it } from 'vitest';
import { buildJournal } from '../../src/app/journal.js';
import type { ChatResponse, ToolCall } from '../../src/gateway/types.js';
import { parseJournalKey, toolErrorResult, toolResultError } from '../../src/runtime/agent-journal.js';
import { refusalResult } from '../../src/runtime/agent-review.js';
import type { AttemptRecord, CallRecord, StepRecord, StoredJournalEntry, TaskRecord } from '../../src/types.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const QUERY = { after: 0, limit: 20, maxChars: 4000 };

const step = { runId: 'run_1', stepId: 'ask', status: 'succeeded', attempt: 2 } as StepRecord;

function response(callId: string | null, message: { content?: string | null; tool_calls?: ToolCall[] }, finish: 'stop' | 'tool_calls'): ChatResponse {
  return {
    id: 'x',
    object: 'chat.completion',
    created: 0,
    model: 'mock-1',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: message.content ?? null, ...(message.tool_calls ? { tool_calls: message.tool_calls } : {}) },
        finish_reason: finish,
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    ...(callId === null ? {} : { agentry: { call_id: callId, group: 'smart', provider: 'up', cost_usd: 0.5 } }),
  };
}

const toolCall = (id: string, name: string, args: string): ToolCall => ({ id, type: 'function', function: { name, arguments: args } });

function ledger(id: string, at: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    id,
    tenantId: 'default',
    runId: 'run_1',
    stepId: 'ask',
    workflow: 'wf',
    group: 'smart',
    provider: 'up',
    model: 'mock-1',
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.001,
    latencyMs: 40,
    outcome: 'ok',
    at,
    ...over,
  };
}

const attempt = (n: number, startedAt: number) => ({ runId: 'run_1', stepId: 'ask', attempt: n, startedAt }) as AttemptRecord;

function approvalTask(id: string, turn: number, tool: string, over: Partial<TaskRecord>): TaskRecord {
  return {
    id,
    runId: 'run_1',
    stepId: 'ask',
    kind: 'tool_approval',
    context: { server: 'crm', tool, turn, arguments: {} },
    createdAt: T0,
    ...over,
  } as TaskRecord;
}

/**
 * Attempt 1 makes turn 1 (two tool calls: one answered, one failing), then dies; attempt 2
 * replays turn 1, makes turn 2 (a call approved by alice, a call refused by bob, a call still
 * waiting for approval, a call with unparsable arguments that never ran).
 */
function journal(): { entries: StoredJournalEntry[]; calls: CallRecord[]; attempts: AttemptRecord[]; tasks: TaskRecord[] } {
  const turn1 = response(
    'call_a',
    { content: 'Looking it up.', tool_calls: [toolCall('c1', 'crm__find', '{"q":"acme"}'), toolCall('c2', 'crm__fail', '{}')] },
    'tool_calls',
  );
  const turn2 = response(
    'call_c',
    {
      tool_calls: [
        toolCall('c3', 'crm__delete', '{"id":7}'),
        toolCall('c4', 'crm__delete', '{"id":8}'),
        toolCall('c5', 'crm__delete', '{"id":9}'),
        toolCall('c6', 'crm__find', 'not json'),
      ],
    },
    'tool_calls',
  );
  return {
    entries: [
      { key: 'model:1', data: { request_hash: 'h1', response: turn1 }, at: T0 + 100 },
      { key: 'tool:1:c1', data: 'found acme', at: T0 + 130 },
      { key: 'tool:1:c2', data: toolErrorResult('[tool_error] the CRM is down'), at: T0 + 5_000 },
      { key: 'model:2', data: { request_hash: 'h2', response: turn2 }, at: T0 + 6_000 },
      { key: 'tool:2:c3', data: 'deleted 7', at: T0 + 60_000 },
      { key: 'tool:2:c4', data: refusalResult({ server: 'crm', tool: 'delete' }, 'not that one'), at: T0 + 70_000 },
      { key: 'other:thing', data: 1, at: T0 + 70_001 },
      { key: 'model:9', data: { not: 'a turn' }, at: T0 + 70_002 },
    ],
    calls: [
      ledger('call_a', T0 + 50, { latencyMs: 45, costUsd: 0.002 }),
      ledger('call_b', T0 + 5_100, { outcome: 'error', errorCode: 'provider_unavailable', inputTokens: 0, outputTokens: 0, costUsd: 0 }),
      ledger('call_c', T0 + 5_900, { latencyMs: 80, costUsd: 0.003 }),
    ],
    attempts: [attempt(2, T0 + 4_000), attempt(1, T0)],
    tasks: [
      approvalTask('task_c3', 2, 'delete', { status: 'completed', decision: 'approve', decidedBy: 'alice', comment: null, decidedAt: T0 + 59_000 }),
      approvalTask('task_c4', 2, 'delete', { status: 'completed', decision: 'reject', decidedBy: 'bob', comment: 'not that one', decidedAt: T0 + 69_000 }),
      approvalTask('task_c5', 2, 'delete', { status: 'open', decision: null, decidedBy: null, comment: null, decidedAt: null }),
    ],
  };
}

describe('buildJournal', () => {
  it('joins each turn with its ledger record and tells which attempt recorded each entry', () => {
    const out = buildJournal({ step, agent: 'helper', ...journal() }, QUERY);
    expect(out.turns.map((t) => [t.turn, t.attempt, t.model.call_id, t.model.cost_usd, t.model.latency_ms, t.model.finish_reason])).toEqual([
      [1, 1, 'call_a', 0.002, 45, 'tool_calls'],
      [2, 2, 'call_c', 0.003, 80, 'tool_calls'],
    ]);
    expect(out.turns[0]).toMatchObject({
      content: 'Looking it up.',
      model: { group: 'smart', provider: 'up', model: 'mock-1', input_tokens: 10, output_tokens: 5 },
    });
    // The failed attempt before turn 2 is shown apart; the totals count every ledger record.
    expect(out.other_calls).toEqual([expect.objectContaining({ call_id: 'call_b', attempt: 2, outcome: 'error', error_code: 'provider_unavailable' })]);
    expect(out.totals).toEqual({ turns: 2, tool_calls: 6, llm_calls: 3, input_tokens: 20, output_tokens: 10, cost_usd: 0.005 });
  });

  it('gives every tool call its status, result or error, approval and (only where it means something) duration', () => {
    const [turn1, turn2] = buildJournal({ step, agent: 'helper', ...journal() }, QUERY).turns;
    const brief = (c: NonNullable<typeof turn1>['tool_calls'][number]) => [
      c.id,
      c.status,
      c.result,
      c.error,
      c.attempt,
      c.duration_ms,
      c.approval?.decision ?? null,
    ];
    expect(turn1?.tool_calls.map(brief)).toEqual([
      ['c1', 'ok', 'found acme', null, 1, 30, null],
      // Recorded by attempt 2 after attempt 1 died: no duration across attempts.
      ['c2', 'error', null, '[tool_error] the CRM is down', 2, null, null],
    ]);
    expect(turn2?.tool_calls.map(brief)).toEqual([
      ['c3', 'ok', 'deleted 7', null, 2, null, 'approve'],
      ['c4', 'refused', null, expect.stringContaining('[tool_rejected] A reviewer refused this call to crm.delete'), 2, null, 'reject'],
      ['c5', 'awaiting_approval', null, null, null, null, null],
      ['c6', 'not_run', null, null, null, null, null],
    ]);
    expect(turn2?.tool_calls[0]).toMatchObject({
      server: 'crm',
      tool: 'delete',
      arguments: { id: 7 },
      approval: { task_id: 'task_c3', status: 'completed', by: 'alice' },
    });
    expect(turn2?.tool_calls[2]?.approval).toMatchObject({ task_id: 'task_c5', status: 'open', decided_at: null });
    expect(turn2?.tool_calls[3]?.arguments).toBe('not json');
  });

  it('pages by turn and clips long texts with a marker', () => {
    const parts = journal();
    const first = buildJournal({ step, agent: 'helper', ...parts }, { ...QUERY, limit: 1 });
    expect([first.turns.map((t) => t.turn), first.next_after]).toEqual([[1], 1]);
    const second = buildJournal({ step, agent: 'helper', ...parts }, { ...QUERY, after: 1, limit: 1 });
    expect([second.turns.map((t) => t.turn), second.next_after]).toEqual([[2], null]);
    expect(buildJournal({ step, agent: 'helper', ...parts }, { ...QUERY, after: 2 }).turns).toEqual([]);

    const clipped = buildJournal({ step, agent: 'helper', ...parts }, { ...QUERY, maxChars: 5 }).turns[0]!;
    expect([clipped.content, clipped.content_truncated]).toEqual(['Looki… [9 more characters]', true]);
    expect(clipped.tool_calls[0]).toMatchObject({ arguments: '{"q":… [7 more characters]', result: 'found… [5 more characters]', truncated: true });
  });

  it('shows a turn whose response names no ledger record with the group the agent asked for and no cost or latency', () => {
    const entries: StoredJournalEntry[] = [{ key: 'model:1', data: { request_hash: 'h', response: response(null, { content: 'hi' }, 'stop') }, at: T0 }];
    const out = buildJournal({ step, agent: 'helper', entries, calls: [], attempts: [], tasks: [] }, QUERY);
    expect(out.turns[0]?.model).toEqual({
      call_id: null,
      group: 'helper',
      provider: null,
      model: 'mock-1',
      input_tokens: 10,
      output_tokens: 5,
      cost_usd: null,
      latency_ms: null,
      finish_reason: 'stop',
    });
    expect(out.turns[0]?.attempt).toBeNull();
  });
});

describe('the agent journal format', () => {
  it('parses the keys the loop writes, and nothing else', () => {
    expect(parseJournalKey('model:12')).toEqual({ kind: 'model', turn: 12 });
    expect(parseJournalKey('tool:3:call:with:colons')).toEqual({ kind: 'tool', turn: 3, callId: 'call:with:colons' });
    expect(parseJournalKey('model:x')).toBeUndefined();
    expect(parseJournalKey('tool:3')).toBeUndefined();
  });

  it("reads an error result the loop wrote, and not a tool's own answer", () => {
    expect(toolResultError(toolErrorResult('[tool_timeout] slow'))).toBe('[tool_timeout] slow');
    expect(toolResultError('{"error":"x","code":1}')).toBeUndefined();
    expect(toolResultError('{"error":')).toBeUndefined();
    expect(toolResultError('all good')).toBeUndefined();
  });
});
