/**
 * An agent step's journal as the API shows it: the step's journal (`model:<turn>` and
 * `tool:<turn>:<call id>` entries, stored with secrets masked; see runtime/agent-journal.ts)
 * joined with the usage ledger's records of the step (cost and latency of each model call, and
 * the attempts that failed), its approval tasks, and its attempts (which attempt recorded each
 * entry). The caller has checked the run is visible (`RunService.journal`).
 */
import { AgentryError } from '../lib/errors.js';
import { parseJournalKey, toolCallKey, toolResultError, type ModelTurn } from '../runtime/agent-journal.js';
import { functionName, splitFunctionName } from '../tools/names.js';
import type { ToolCall } from '../gateway/types.js';
import { splitItemStepId, type AttemptRecord, type CallRecord, type RunRecord, type StepRecord, type StoredJournalEntry, type TaskRecord } from '../types.js';
import { iso } from './dto/common.js';
import type { JournalToolCallDto, JournalTurnDto, LedgerCallDto, StepJournalDto, ToolCallStatus } from './dto/journal.js';
import type { ServiceDeps } from './service-deps.js';

/** A page of turns: those after turn `after`, at most `limit`, texts clipped to `maxChars`. */
export interface JournalQuery {
  after: number;
  limit: number;
  maxChars: number;
}

/** The journal's page: turns per page (default and most), characters per text (default). */
export const JOURNAL_PAGE = { limit: 20, maxLimit: 200, maxChars: 4000 } as const;

/** At most this many ledger attempts outside the turns are listed. */
const MAX_OTHER_CALLS = 100;
const TASK_PAGE = 200;

/** The journal of `stepId` (an agent step, or an item `step[i]` of an agent `for_each` step) of `run`. */
export async function stepJournal(deps: ServiceDeps, run: RunRecord, stepId: string, query: JournalQuery): Promise<StepJournalDto> {
  const { engine, store } = deps;
  const item = splitItemStepId(stepId);
  const spec = engine.transitions.workflowOf(run).steps.get(item?.parent ?? stepId);
  if (!spec || (item !== undefined && spec.forEach === undefined)) throw new AgentryError('not_found', `run ${run.id} has no step '${stepId}'`);
  if (spec.kind !== 'agent') {
    throw new AgentryError('invalid_request', `step '${spec.id}' is a ${spec.kind} step; only agent steps keep a journal`, { details: { kind: spec.kind } });
  }
  if (spec.forEach !== undefined && item === undefined) {
    throw new AgentryError('invalid_request', `step '${stepId}' runs for_each: each item keeps its own journal; ask for one, e.g. '${stepId}[0]'`);
  }
  const step = item
    ? (await store.listItems(run.id, item.parent, { offset: item.index, limit: 1 })).find((s) => s.itemIndex === item.index)
    : (await store.getSteps(run.id)).find((s) => s.stepId === stepId);
  if (!step) throw new AgentryError('not_found', `run ${run.id} has no step '${stepId}'`);
  const [entries, calls, attempts, tasks] = await Promise.all([
    store.loadJournal(run.id, stepId),
    store.stepCalls(run.id, stepId),
    store.listAttempts(run.id, stepId),
    approvalTasks(deps, run.id, stepId),
  ]);
  return buildJournal({ step, agent: spec.config, entries, calls, attempts, tasks }, query);
}

/** The `tool_approval` tasks of one step, oldest first. */
async function approvalTasks(deps: ServiceDeps, runId: string, stepId: string): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.listTasks({ runId, kind: 'tool_approval', limit: TASK_PAGE, ...(cursor === undefined ? {} : { cursor }) });
    tasks.push(...page.items.filter((t) => t.stepId === stepId));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return tasks.sort((a, b) => a.createdAt - b.createdAt);
}

interface JournalParts {
  step: StepRecord;
  agent: string;
  entries: readonly StoredJournalEntry[];
  calls: readonly CallRecord[];
  attempts: readonly AttemptRecord[];
  tasks: readonly TaskRecord[];
}

interface Recorded<T> {
  at: number;
  data: T;
}

/** What the API shows of a journal: a page of its turns and what the ledger adds. */
export function buildJournal(parts: JournalParts, query: JournalQuery): StepJournalDto {
  const { step, calls } = parts;
  const models = new Map<number, Recorded<ModelTurn>>();
  const results = new Map<string, Recorded<unknown>>();
  for (const entry of parts.entries) {
    const key = parseJournalKey(entry.key);
    if (key?.kind === 'model' && isModelTurn(entry.data)) models.set(key.turn, { at: entry.at, data: entry.data });
    if (key?.kind === 'tool') results.set(entry.key, { at: entry.at, data: entry.data });
  }
  const numbers = [...models.keys()].sort((a, b) => a - b);
  const attemptAt = attemptFinder(parts.attempts);
  const byId = new Map(calls.map((c) => [c.id, c]));
  const shown = new Set(numbers.flatMap((n) => models.get(n)?.data.response.agentry?.call_id ?? []));

  const page = numbers.filter((n) => n > query.after).slice(0, query.limit);
  const last = page.at(-1);
  const context: TurnContext = { results, tasks: parts.tasks, byId, attemptAt, maxChars: query.maxChars, group: parts.agent };
  const cost = calls.reduce((sum, c) => sum + c.costUsd, 0);
  return {
    run_id: step.runId,
    step_id: step.stepId,
    agent: parts.agent,
    status: step.status,
    attempt: step.attempt,
    turns: page.map((n) => turnDto(n, models.get(n)!, context)),
    next_after: last !== undefined && numbers.some((n) => n > last) ? last : null,
    totals: {
      turns: numbers.length,
      tool_calls: numbers.reduce((sum, n) => sum + toolCallsOf(models.get(n)!.data).length, 0),
      llm_calls: calls.length,
      input_tokens: calls.reduce((sum, c) => sum + c.inputTokens, 0),
      output_tokens: calls.reduce((sum, c) => sum + c.outputTokens, 0),
      cost_usd: Math.round(cost * 1e8) / 1e8,
    },
    other_calls: calls
      .filter((c) => !shown.has(c.id))
      .slice(0, MAX_OTHER_CALLS)
      .map((c) => ledgerCallDto(c, attemptAt(c.at))),
  };
}

interface TurnContext {
  results: ReadonlyMap<string, Recorded<unknown>>;
  tasks: readonly TaskRecord[];
  byId: ReadonlyMap<string, CallRecord>;
  attemptAt: (at: number) => number | null;
  maxChars: number;
  /** The model group the agent asks for (when the response does not say). */
  group: string;
}

function turnDto(turn: number, recorded: Recorded<ModelTurn>, ctx: TurnContext): JournalTurnDto {
  const { response } = recorded.data;
  const choice = response.choices[0];
  const meta = response.agentry;
  const record = meta === undefined ? undefined : ctx.byId.get(meta.call_id);
  const content = typeof choice?.message.content === 'string' ? clip(choice.message.content, ctx.maxChars) : undefined;
  const tasks = ctx.tasks.filter((t) => contextOf(t).turn === turn);
  let previousAt: number | null = recorded.at;
  const toolCalls = toolCallsOf(recorded.data).map((call) => {
    const dto = toolCallDto(turn, call, previousAt, tasks, ctx);
    previousAt = dto.entryAt;
    return dto.call;
  });
  return {
    turn,
    attempt: ctx.attemptAt(recorded.at),
    at: iso(recorded.at),
    model: {
      call_id: meta?.call_id ?? null,
      group: meta?.group ?? record?.group ?? ctx.group,
      provider: meta?.provider ?? record?.provider ?? null,
      model: response.model,
      input_tokens: response.usage.prompt_tokens,
      output_tokens: response.usage.completion_tokens,
      cost_usd: record?.costUsd ?? meta?.cost_usd ?? null,
      latency_ms: record?.latencyMs ?? null,
      finish_reason: choice?.finish_reason ?? null,
    },
    content: content?.text ?? null,
    content_truncated: content?.truncated ?? false,
    tool_calls: toolCalls,
  };
}

/**
 * One tool call: its result from the journal, its approval task (matched by turn and tool, in
 * order: a task does not record the call id), and `entryAt`, when its result was recorded.
 */
function toolCallDto(
  turn: number,
  call: ToolCall,
  previousAt: number | null,
  tasks: TaskRecord[],
  ctx: TurnContext,
): { call: JournalToolCallDto; entryAt: number | null } {
  const name = call.function.name;
  const split = splitFunctionName(name);
  const taskIndex = tasks.findIndex((t) => {
    const c = contextOf(t);
    return c.server !== undefined && c.tool !== undefined && functionName(c.server, c.tool) === name;
  });
  const task = taskIndex < 0 ? undefined : tasks.splice(taskIndex, 1)[0];
  const entry = ctx.results.get(toolCallKey(turn, call.id));
  const text = entry === undefined ? undefined : typeof entry.data === 'string' ? entry.data : JSON.stringify(entry.data);
  const error = text === undefined ? undefined : toolResultError(text);
  const shown = text === undefined ? undefined : clip(error ?? text, ctx.maxChars);
  const args = argumentsOf(call.function.arguments, ctx.maxChars);
  const sameAttempt = entry !== undefined && previousAt !== null && ctx.attemptAt(previousAt) === ctx.attemptAt(entry.at);
  return {
    entryAt: entry?.at ?? null,
    call: {
      id: call.id,
      function: name,
      server: split?.server ?? null,
      tool: contextOf(task).tool ?? split?.rest ?? null,
      arguments: args.value,
      status: toolStatus(text, error, task),
      result: shown !== undefined && error === undefined ? shown.text : null,
      error: shown !== undefined && error !== undefined ? shown.text : null,
      truncated: args.truncated || (shown?.truncated ?? false),
      at: entry === undefined ? null : iso(entry.at),
      attempt: entry === undefined ? null : ctx.attemptAt(entry.at),
      duration_ms: sameAttempt && task === undefined ? entry.at - previousAt : null,
      approval:
        task === undefined
          ? null
          : {
              task_id: task.id,
              status: task.status,
              decision: task.decision,
              by: task.decidedBy,
              comment: task.comment,
              decided_at: iso(task.decidedAt),
            },
    },
  };
}

function toolStatus(text: string | undefined, error: string | undefined, task: TaskRecord | undefined): ToolCallStatus {
  if (text !== undefined) return error === undefined ? 'ok' : error.startsWith('[tool_rejected]') ? 'refused' : 'error';
  if (task?.status === 'open') return 'awaiting_approval';
  if (task?.decision === 'reject') return 'refused';
  return 'not_run';
}

function ledgerCallDto(c: CallRecord, attempt: number | null): LedgerCallDto {
  return {
    call_id: c.id,
    attempt,
    at: iso(c.at),
    group: c.group,
    provider: c.provider,
    model: c.model,
    outcome: c.outcome,
    error_code: c.errorCode ?? null,
    input_tokens: c.inputTokens,
    output_tokens: c.outputTokens,
    cost_usd: c.costUsd,
    latency_ms: c.latencyMs,
  };
}

/** The attempt that was running at a time: the latest one started by then (null before the first). */
function attemptFinder(attempts: readonly AttemptRecord[]): (at: number) => number | null {
  const sorted = [...attempts].sort((a, b) => a.startedAt - b.startedAt || a.attempt - b.attempt);
  return (at) => sorted.findLast((a) => a.startedAt <= at)?.attempt ?? null;
}

/** Text cut to `max` characters, with a marker saying how much was left out. */
function clip(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  return { text: `${text.slice(0, max)}… [${text.length - max} more characters]`, truncated: true };
}

/** The arguments as JSON when they parse and fit; otherwise their text, clipped. */
function argumentsOf(raw: string, max: number): { value: unknown; truncated: boolean } {
  if (raw.length <= max) {
    try {
      return { value: raw.trim() === '' ? {} : (JSON.parse(raw) as unknown), truncated: false };
    } catch {
      return { value: raw, truncated: false };
    }
  }
  const clipped = clip(raw, max);
  return { value: clipped.text, truncated: true };
}

/** What a `tool_approval` task's context says about its call. */
function contextOf(task: TaskRecord | undefined): { server?: string; tool?: string; turn?: number } {
  const c = task?.context;
  if (c === null || typeof c !== 'object') return {};
  const { server, tool, turn } = c as Record<string, unknown>;
  return {
    ...(typeof server === 'string' ? { server } : {}),
    ...(typeof tool === 'string' ? { tool } : {}),
    ...(typeof turn === 'number' ? { turn } : {}),
  };
}

function isModelTurn(data: unknown): data is ModelTurn {
  const response = (data as { response?: { choices?: unknown; usage?: unknown; model?: unknown } } | null)?.response;
  return (
    typeof response === 'object' &&
    response !== null &&
    Array.isArray(response.choices) &&
    typeof response.usage === 'object' &&
    typeof response.model === 'string'
  );
}

function toolCallsOf(turn: ModelTurn): ToolCall[] {
  return turn.response.choices[0]?.message.tool_calls ?? [];
}
