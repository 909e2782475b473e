/**
 * What the API returns for an agent step's journal (`GET /v1/runs/{id}/steps/{step}/journal`):
 * its turns in order, each with the model call (from the journal and the usage ledger) and the
 * tool calls the model asked for, with their arguments, results and approvals. Every text is as
 * the store keeps it: secrets masked.
 */
import { Type, type Static } from 'typebox';
import { CALL_OUTCOMES, STEP_STATUSES, TASK_STATUSES } from '../../types.js';
import { Nullable, Time } from './common.js';

export const TOOL_CALL_STATUSES = ['ok', 'error', 'refused', 'awaiting_approval', 'not_run'] as const;
export type ToolCallStatus = (typeof TOOL_CALL_STATUSES)[number];

export const JournalModelCallSchema = Type.Object(
  {
    call_id: Nullable(Type.String({ description: "The call's record in the usage ledger (null when the response named none)" })),
    group: Type.String({ description: 'The model group the agent asked for' }),
    provider: Nullable(Type.String({ description: 'The provider that answered' })),
    model: Type.String({ description: 'The upstream model that answered' }),
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cost_usd: Nullable(Type.Number({ description: 'From the ledger (null when the call has no record)' })),
    latency_ms: Nullable(Type.Integer({ description: "The answering attempt's latency, from the ledger (null when the call has no record)" })),
    finish_reason: Nullable(Type.String({ description: 'stop, length, tool_calls or content_filter' })),
  },
  { title: 'JournalModelCall' },
);

export const ToolApprovalSchema = Type.Object(
  {
    task_id: Type.String({ description: 'The tool_approval task' }),
    status: Type.Enum([...TASK_STATUSES]),
    decision: Nullable(Type.String({ description: 'approve, reject, or timed_out; null while the task is open' })),
    by: Nullable(Type.String()),
    comment: Nullable(Type.String()),
    decided_at: Nullable(Time),
  },
  { title: 'ToolApproval' },
);

export const JournalToolCallSchema = Type.Object(
  {
    id: Type.String({ description: "The model's id of the call" }),
    function: Type.String({ description: 'The function name the model called (`<server>__<tool>`)' }),
    server: Nullable(Type.String()),
    tool: Nullable(Type.String({ description: 'The MCP tool (null when the function name names no tool server)' })),
    arguments: Type.Unknown({ description: 'The arguments as JSON; their raw text when they are not JSON or longer than max_chars (then clipped)' }),
    status: Type.Enum([...TOOL_CALL_STATUSES], {
      description:
        'ok: the tool answered; error: the model was told the call failed; refused: a reviewer rejected it; awaiting_approval: its task is open; not_run: no result was recorded (the attempt ended first)',
    }),
    result: Nullable(Type.String({ description: 'What the tool answered, as the model read it (status ok)' })),
    error: Nullable(Type.String({ description: 'The error the model was told (status error or refused)' })),
    truncated: Type.Boolean({ description: 'The arguments, result or error were longer than max_chars and are clipped (ending with a marker)' }),
    at: Nullable(Type.String({ format: 'date-time', description: 'When its result was recorded' })),
    attempt: Nullable(Type.Integer({ description: 'The step attempt that recorded the result' })),
    duration_ms: Nullable(
      Type.Integer({
        description: 'Approximate: the time from the entry before it in the journal to its result; null when it waited for approval or spans attempts',
      }),
    ),
    approval: Nullable(ToolApprovalSchema),
  },
  { title: 'JournalToolCall' },
);
export type JournalToolCallDto = Static<typeof JournalToolCallSchema>;

export const JournalTurnSchema = Type.Object(
  {
    turn: Type.Integer({ description: 'From 1' }),
    attempt: Nullable(Type.Integer({ description: 'The step attempt that made the model call (later attempts replay it from the journal)' })),
    at: Time,
    model: JournalModelCallSchema,
    content: Nullable(Type.String({ description: "The assistant's text (clipped to max_chars)" })),
    content_truncated: Type.Boolean(),
    tool_calls: Type.Array(JournalToolCallSchema, { description: 'The calls the model asked for, in its order' }),
  },
  { title: 'JournalTurn' },
);
export type JournalTurnDto = Static<typeof JournalTurnSchema>;

export const LedgerCallSchema = Type.Object(
  {
    call_id: Type.String(),
    attempt: Nullable(Type.Integer({ description: 'The step attempt that made it' })),
    at: Time,
    group: Type.String(),
    provider: Type.String(),
    model: Type.String(),
    outcome: Type.Enum([...CALL_OUTCOMES]),
    error_code: Nullable(Type.String()),
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cost_usd: Type.Number(),
    latency_ms: Type.Integer(),
  },
  { title: 'LedgerCall' },
);
export type LedgerCallDto = Static<typeof LedgerCallSchema>;

export const StepJournalSchema = Type.Object(
  {
    run_id: Type.String(),
    step_id: Type.String(),
    agent: Type.String(),
    status: Type.Enum([...STEP_STATUSES], { description: "The step's status" }),
    attempt: Type.Integer({ description: "The step's latest attempt (0 before the first)" }),
    turns: Type.Array(JournalTurnSchema, { description: 'A page of turns, oldest first' }),
    next_after: Nullable(Type.Integer({ description: 'Pass as ?after= for the next page of turns; null on the last' })),
    totals: Type.Object(
      {
        turns: Type.Integer(),
        tool_calls: Type.Integer(),
        llm_calls: Type.Integer({ description: 'Attempts in the usage ledger (failed ones too)' }),
        input_tokens: Type.Integer(),
        output_tokens: Type.Integer(),
        cost_usd: Type.Number(),
      },
      { description: 'The whole step, every page: turns and tool calls from the journal, calls, tokens and cost from the ledger' },
    ),
    other_calls: Type.Array(LedgerCallSchema, {
      description:
        'Ledger attempts no turn shows (oldest first, at most 100): failed attempts (provider errors, retries, fallbacks, budget refusals, cancellations) and answers the step never recorded',
    }),
  },
  { title: 'StepJournal' },
);
export type StepJournalDto = Static<typeof StepJournalSchema>;
