/**
 * The `agent` step: a model-and-tools loop, journaled turn by turn. Each model response and
 * each tool result is recorded in the step's journal before the loop goes on, so an attempt
 * resumed after a crash replays what was done and makes no model call twice.
 *
 * Output: the final answer (JSON when the agent declares `output.schema`) is checked against
 * the schema with reserved fields (`_rationale`, `_flags`, `_confidence`) set aside; a failing
 * answer goes back to the model with the errors for up to `repair_attempts` more turns.
 *
 * People in the loop (agent-review.ts): a tool call that needs approval suspends the step with a
 * `tool_approval` task and is made (or refused) when the step runs again with the decision; the
 * journal replays the turns before it. A valid answer below `confidence_threshold` is returned
 * with a `review`, and the engine holds it for a person.
 */
import { createHash } from 'node:crypto';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { assertMatches, splitReserved } from '../spec/output.js';
import type { CallContext, ChatMessage, ChatRequest, ChatResponse, ToolDefinition } from '../gateway/types.js';
import { renderTemplate } from '../spec/index.js';
import type { AgentSpec } from '../spec/schemas.js';
import type { ToolHub } from '../tools/hub.js';
import type { OnReject } from '../tools/config.js';
import { toolText } from '../tools/result.js';
import { ARTIFACT_TOOL, ARTIFACT_TOOL_DEFINITION, callArtifactTool, offersArtifactTool } from './agent-artifacts.js';
import { guardrailKey, judgeKey, modelTurnKey, toolCallKey, toolErrorResult, type ModelTurn } from './agent-journal.js';
import { applyGuardrails, journaledJudge, type GuardrailPhase, type GuardrailTrigger } from './agent-guardrails.js';
import { loadHistory, memoryThread, saveExchange, type AgentMemoryStore } from './agent-memory.js';
import { approvalOutcome, confidenceReview, decisionFor, type GatedCall } from './agent-review.js';
import type { StepContext, StepExecutor, StepJournal, StepResult } from './types.js';

/** What the loop needs of the gateway (the in-process `Gateway`, or a client of a remote one). */
export interface ChatClient {
  chat(request: ChatRequest, ctx: CallContext): Promise<ChatResponse>;
}

/** What the loop needs of the tool servers (the `ToolHub`). */
export interface AgentTools {
  toolsFor(allow: readonly string[], options: { signal?: AbortSignal }): Promise<ToolDefinition[]>;
  /** Calls the tool behind a function name; `tool_not_allowed` outside `allow`. Returns text for the model. */
  call(functionName: string, args: Record<string, unknown>, allow: readonly string[], options: ToolCallOptions): Promise<string>;
  /**
   * The tool behind a function name when its server's `require_approval` covers it; undefined
   * when its calls need no approval, or when it names no allowed tool (the call then fails on its
   * own). Without this method no call needs approval.
   */
  approvalFor?(functionName: string, allow: readonly string[]): ApprovalTarget | undefined;
}

/** What a tool call carries besides its arguments: its cancellation and the run it is made for (plugin tools see them as `ctx.runId`, `ctx.tenantId`). */
export interface ToolCallOptions {
  signal?: AbortSignal;
  runId?: string;
  tenantId?: string | undefined;
}

/** A tool whose calls need a person's approval, and what a refusal does (the server's `on_reject`). */
export interface ApprovalTarget {
  server: string;
  tool: string;
  onReject: OnReject;
  /** The server's `approval_role`: who may decide. */
  role?: string;
}

/** Told about each guardrail trigger (the process's metrics). */
export interface GuardrailObserver {
  guardrailTriggered(agent: string, check: string, action: string): void;
}

export interface AgentExecutorOptions {
  agents: ReadonlyMap<string, AgentSpec>;
  chat: ChatClient;
  tools: AgentTools | undefined;
  observer?: GuardrailObserver | undefined;
  /** Where agents with `memory:` keep their threads; without it, `memory:` is ignored. */
  memory?: AgentMemoryStore | undefined;
}

export const AGENT_DEFAULTS = { maxTurns: 10, repairAttempts: 2 } as const;

/** In-memory journal for an executor run without a store (tests, one-off calls). */
export function memoryJournal(entries: { key: string; data: unknown }[] = []): StepJournal {
  return {
    load: () => Promise.resolve([...entries]),
    append: (entry) => {
      if (!entries.some((e) => e.key === entry.key)) entries.push(entry);
      return Promise.resolve();
    },
  };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function textOf(content: ChatResponse['choices'][number]['message']['content']): string {
  return content ?? '';
}

/** Parses the final answer: JSON (optionally in a ``` fence) when a schema is declared. */
function parseAnswer(text: string, wantsJson: boolean): { value: unknown; error?: string } {
  if (!wantsJson) return { value: text };
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  try {
    return { value: JSON.parse(fenced?.[1] ?? text) as unknown };
  } catch (error) {
    return { value: undefined, error: `the answer is not valid JSON (${(error as Error).message})` };
  }
}

export function createAgentExecutor(options: AgentExecutorOptions): StepExecutor {
  return {
    kind: 'agent',
    async execute(config: unknown, ctx: StepContext): Promise<StepResult> {
      if (typeof config !== 'string') throw new AgentryError('invalid_request', 'agent: must name an agent');
      const agent = options.agents.get(config);
      if (!agent) throw new AgentryError('invalid_request', `agent '${config}' is not defined in agents/`);
      return runAgent(agent, ctx, options);
    },
  };
}

async function runAgent(agent: AgentSpec, ctx: StepContext, options: AgentExecutorOptions): Promise<StepResult> {
  const journal = ctx.journal ?? memoryJournal();
  const recorded = new Map((await journal.load()).map((e) => [e.key, e.data]));
  const scope = { input: ctx.input ?? null, steps: {}, run: { id: ctx.runId, workflow: ctx.workflow }, env: {} };
  const render = (text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    const value = renderTemplate(text, scope);
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const allow = agent.tools ?? [];
  const served = allow.length > 0 && options.tools ? await options.tools.toolsFor(allow, { signal: ctx.signal }) : [];
  const tools = offersArtifactTool(ctx) ? [...served, ARTIFACT_TOOL_DEFINITION] : served;
  const schema = agent.output?.schema;
  const repairs = agent.output?.repair_attempts ?? AGENT_DEFAULTS.repairAttempts;
  const maxTurns = agent.max_turns ?? AGENT_DEFAULTS.maxTurns;

  const call: CallContext = {
    tenantId: ctx.tenantId ?? 'default',
    runId: ctx.runId,
    stepId: ctx.stepId,
    workflow: ctx.workflow,
    signal: ctx.signal,
    ...(ctx.deadline === undefined ? {} : { deadline: ctx.deadline }),
    ...(ctx.budget ? { budget: ctx.budget } : {}),
  };
  const messages: ChatMessage[] = [];
  const system = render(agent.system);
  if (system) messages.push({ role: 'system', content: system });
  const guard = async (phase: GuardrailPhase, turn: number, value: unknown) => {
    const judge = journaledJudge(options.chat, call, { recorded, journal }, judgeKey(phase, turn));
    const outcome = await applyGuardrails(agent.name, agent.guardrails, phase, value, judge);
    if (outcome.triggers.length > 0)
      await recordTriggers(outcome.triggers, guardrailKey(phase, turn), { recorded, journal, ctx, agent: agent.name, observer: options.observer });
    if (outcome.blocked) throw outcome.blocked;
    return outcome;
  };
  const thread = memoryThread(agent, ctx.tenantId ?? 'default', render, options.memory);
  if (thread && options.memory) messages.push(...(await loadHistory(options.memory, thread, recorded, journal)));
  const prompt = (await guard('input', 0, render(agent.prompt) ?? JSON.stringify(ctx.input ?? {}))).value as string;
  messages.push({ role: 'user', content: schema ? `${prompt}\n\nAnswer with JSON only, matching this JSON Schema:\n${JSON.stringify(schema)}` : prompt });

  let repairsUsed = 0;
  for (let turn = 1; turn <= maxTurns; turn++) {
    const request: ChatRequest = { model: ctx.model ?? agent.model, messages, ...(tools.length > 0 ? { tools } : {}) };
    const key = modelTurnKey(turn);
    const requestHash = hashOf(request);
    const journaled = recorded.get(key) as ModelTurn | undefined;
    let response: ChatResponse;
    if (journaled === undefined) {
      response = await options.chat.chat(request, call);
      await journal.append({ key, data: { request_hash: requestHash, response } satisfies ModelTurn });
      ctx.logger.debug({ turn, request_hash: requestHash, usage: response.usage }, 'agent model call');
    } else {
      response = journaled.response;
      // The run's spec is a snapshot, so a replayed request is the same unless a template reads
      // something that changes (e.g. the time); the recorded answer is used either way.
      if (journaled.request_hash !== requestHash) ctx.logger.warn({ turn }, 'agent turn replayed from the journal although its request differs now');
    }
    const message = response.choices[0]?.message;
    if (!message) throw new AgentryError('step_failed', `model returned no choice on turn ${turn}`);
    messages.push({ role: 'assistant', content: message.content, ...(message.tool_calls?.length ? { tool_calls: message.tool_calls } : {}) });

    if (message.tool_calls?.length) {
      // In order, one at a time: a call that waits for approval parks the step, and the calls
      // after it wait with it (each gets its own task when its turn comes).
      for (const toolCall of message.tool_calls) {
        const toolKey = toolCallKey(turn, toolCall.id);
        let result = recorded.get(toolKey) as string | undefined;
        if (result === undefined) {
          const done = await runToolCall(
            options.tools,
            { key: toolKey, turn, agent: agent.name, name: toolCall.function.name, rawArgs: toolCall.function.arguments, allow },
            ctx,
          );
          if (done.kind === 'suspend') return done;
          result = done.result;
          await journal.append({ key: toolKey, data: result });
        }
        messages.push({ role: 'tool', tool_call_id: toolCall.id, content: result });
      }
      continue;
    }

    const answer = parseAnswer(textOf(message.content), schema !== undefined);
    const problem = answer.error ?? (schema ? schemaProblem(schema, answer.value) : undefined);
    if (problem === undefined) {
      const guarded = await guard('output', turn, answer.value);
      const output = guarded.value;
      // The thread keeps what the run answered, after the guardrails (a redacted answer stays redacted).
      const remembered = guarded.triggers.length === 0 ? textOf(message.content) : typeof output === 'string' ? output : JSON.stringify(output);
      if (thread && options.memory) await saveExchange(options.memory, thread, { prompt, answer: remembered }, recorded, journal);
      const review = guarded.review ? guardrailReview(agent.name, output, guarded.triggers) : confidenceReview(agent, output);
      if (review === undefined) return { kind: 'output', output };
      ctx.logger.info({ turn, title: review.title }, 'agent output held for review');
      return { kind: 'output', output, review };
    }
    if (repairsUsed >= repairs) {
      throw new AgentryError('output_invalid', `agent ${agent.name}: ${problem} (after ${repairsUsed} repair turn${repairsUsed === 1 ? '' : 's'})`, {
        details: { answer: textOf(message.content).slice(0, 2000) },
      });
    }
    repairsUsed++;
    messages.push({ role: 'user', content: `Your answer was rejected: ${problem}. Reply again with corrected JSON only.` });
  }
  throw new AgentryError('max_turns_exceeded', `agent ${agent.name} did not finish within ${maxTurns} turns`);
}

/**
 * Journals the triggers of one guardrail pass (`guardrail:<phase>:<turn>`), logs them, counts
 * them and appends a `step.guardrail` event each — once: a pass replayed from the journal after
 * a crash is not counted again.
 */
async function recordTriggers(
  triggers: GuardrailTrigger[],
  key: string,
  parts: { recorded: ReadonlyMap<string, unknown>; journal: StepJournal; ctx: StepContext; agent: string; observer: GuardrailObserver | undefined },
): Promise<void> {
  if (parts.recorded.has(key)) return;
  await parts.journal.append({ key, data: triggers });
  for (const t of triggers) {
    parts.ctx.logger.info({ guardrail: `${t.phase}[${t.index}]`, check: t.check, action: t.action, detail: t.detail }, 'agent guardrail triggered');
    parts.observer?.guardrailTriggered(parts.agent, t.check, t.action);
    // The run's history says which check fired and what it did, never what it matched.
    await parts.ctx.recordEvent?.('step.guardrail', { agent: parts.agent, phase: t.phase, index: t.index, check: t.check, action: t.action });
  }
}

/** The review task of an answer a guardrail with `action: review` held. */
function guardrailReview(agent: string, output: unknown, triggers: GuardrailTrigger[]): Extract<StepResult, { kind: 'output' }>['review'] {
  const checks = triggers.filter((t) => t.action === 'review').map((t) => `${t.phase}[${t.index}] ${t.check}`);
  return {
    title: `Review output of ${agent} (guardrail: ${checks.join(', ')})`,
    instructions:
      'A guardrail with action review fired on the agent\'s answer. Approve to keep the output, submit {"output": …} to replace it, or reject to fail the step.',
    context: { output, guardrails: triggers },
  };
}

function schemaProblem(schema: Record<string, unknown>, value: unknown): string | undefined {
  try {
    assertMatches(schema, splitReserved(value).output, 'output_invalid', 'the answer');
    return undefined;
  } catch (error) {
    return toAgentryError(error).message;
  }
}

/** A tool call the model asked for, where it stands in the loop. */
interface PendingCall {
  /** Its journal key, `tool:<turn>:<call id>`. */
  key: string;
  turn: number;
  agent: string;
  /** The function name (`<server>__<tool>`). */
  name: string;
  rawArgs: string;
  allow: readonly string[];
}

/**
 * Runs one tool call: its result for the model, or — when the call needs approval and no
 * decision is recorded for it yet — the suspension that asks for one. A reviewer's refusal is
 * told to the model (`on_reject: recover`) or fails the step `tool_rejected` (`fail`).
 */
async function runToolCall(
  tools: AgentTools | undefined,
  call: PendingCall,
  ctx: StepContext,
): Promise<{ kind: 'result'; result: string } | Extract<StepResult, { kind: 'suspend' }>> {
  if (call.name === ARTIFACT_TOOL && offersArtifactTool(ctx)) {
    const args = parseArguments(call.rawArgs);
    return {
      kind: 'result',
      result: typeof args === 'string' ? toolErrorResult(`invalid arguments for ${call.name}: ${args}`) : await callArtifactTool(ctx, args),
    };
  }
  if (!tools) return { kind: 'result', result: toolErrorResult(`no tool servers are configured; '${call.name}' cannot be called`) };
  const args = parseArguments(call.rawArgs);
  if (typeof args === 'string') return { kind: 'result', result: toolErrorResult(`invalid arguments for ${call.name}: ${args}`) };
  const target = tools.approvalFor?.(call.name, call.allow);
  if (target !== undefined) {
    const gated: GatedCall = {
      key: call.key,
      server: target.server,
      tool: target.tool,
      args,
      agent: call.agent,
      turn: call.turn,
      onReject: target.onReject,
      ...(target.role === undefined ? {} : { role: target.role }),
    };
    const outcome = approvalOutcome(gated, decisionFor(ctx.state, call.key));
    const where = { key: call.key, server: target.server, tool: target.tool };
    switch (outcome.action) {
      case 'ask':
        ctx.logger.info(where, 'agent tool call awaits approval');
        return { kind: 'suspend', until: null, state: { awaiting: call.key }, task: outcome.task };
      case 'fail':
        throw outcome.error;
      case 'refuse':
        ctx.logger.info(where, 'agent tool call refused by a reviewer; the agent goes on');
        return { kind: 'result', result: outcome.result };
      case 'call':
        ctx.logger.info({ ...where, by: outcome.by }, 'agent tool call approved');
        break;
    }
  }
  return { kind: 'result', result: await callTool(tools, call.name, args, call.allow, ctx) };
}

/** The call's arguments as an object, or what is wrong with them. */
function parseArguments(rawArgs: string): Record<string, unknown> | string {
  try {
    const parsed: unknown = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'arguments must be a JSON object';
    return parsed as Record<string, unknown>;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A tool's answer for the model; a refused or failing call is told to the model, not thrown. */
async function callTool(tools: AgentTools, name: string, args: Record<string, unknown>, allow: readonly string[], ctx: StepContext): Promise<string> {
  try {
    return await tools.call(name, args, allow, { signal: ctx.signal, runId: ctx.runId, tenantId: ctx.tenantId });
  } catch (error) {
    const e = toAgentryError(error);
    // Cancellation and lost infrastructure end the attempt; a tool's own failure is the model's to handle.
    if (e.code === 'cancelled' || e.code === 'tool_unavailable' || e.code === 'step_timeout') throw e;
    return toolErrorResult(`[${e.code}] ${e.message}`);
  }
}

/** The tool servers of a `ToolHub`, as the agent loop uses them. */
export function hubTools(hub: ToolHub): AgentTools {
  return {
    toolsFor: (allow, options) => hub.toolsFor(allow, options),
    async call(name, args, allow, options) {
      const { server, tool } = hub.resolve(name, allow);
      return toolText(await hub.callTool(server, tool, args, options));
    },
    approvalFor(name, allow) {
      let resolved;
      try {
        resolved = hub.resolve(name, allow);
      } catch {
        return undefined; // not an allowed tool: the call is refused with tool_not_allowed, nobody is asked
      }
      const rule = hub.approvalRule(resolved.server, resolved.tool);
      return rule === undefined ? undefined : { ...resolved, ...rule };
    },
  };
}
