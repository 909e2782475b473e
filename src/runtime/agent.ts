/**
 * The `agent` step: a model-and-tools loop, journaled turn by turn. Each model response and
 * each tool result is recorded in the step's journal before the loop goes on, so an attempt
 * resumed after a crash replays what was done and makes no model call twice.
 *
 * Output: the final answer (JSON when the agent declares `output.schema`) is checked against
 * the schema with reserved fields (`_rationale`, `_flags`, `_confidence`) set aside; a failing
 * answer goes back to the model with the errors for up to `repair_attempts` more turns.
 */
import { createHash } from 'node:crypto';
import { AgentryError, toAgentryError } from '../errors.js';
import { assertMatches, splitReserved } from '../engine/output.js';
import type { CallContext, ChatMessage, ChatRequest, ChatResponse, ToolDefinition } from '../gateway/types.js';
import { renderTemplate } from '../spec/index.js';
import type { AgentSpec } from '../spec/schemas.js';
import type { ToolHub } from '../tools/hub.js';
import { toolText } from '../tools/result.js';
import type { StepContext, StepExecutor, StepJournal, StepResult } from './types.js';

/** What the loop needs of the gateway (the in-process `Gateway`, or a client of a remote one). */
export interface ChatClient {
  chat(request: ChatRequest, ctx: CallContext): Promise<ChatResponse>;
}

/** What the loop needs of the tool servers (the `ToolHub`). */
export interface AgentTools {
  toolsFor(allow: readonly string[], options: { signal?: AbortSignal }): Promise<ToolDefinition[]>;
  /** Calls the tool behind a function name; `tool_not_allowed` outside `allow`. Returns text for the model. */
  call(functionName: string, args: Record<string, unknown>, allow: readonly string[], options: { signal?: AbortSignal }): Promise<string>;
}

export interface AgentExecutorOptions {
  agents: ReadonlyMap<string, AgentSpec>;
  chat: ChatClient;
  tools: AgentTools | undefined;
}

export const AGENT_DEFAULTS = { maxTurns: 10, repairAttempts: 2 } as const;

/** What the journal keeps of a model turn: the request's hash and the response. */
interface ModelTurn {
  request_hash: string;
  response: ChatResponse;
}

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
      const output = await runAgent(agent, ctx, options);
      return { kind: 'output', output };
    },
  };
}

async function runAgent(agent: AgentSpec, ctx: StepContext, options: AgentExecutorOptions): Promise<unknown> {
  const journal = ctx.journal ?? memoryJournal();
  const recorded = new Map((await journal.load()).map((e) => [e.key, e.data]));
  const scope = { input: ctx.input ?? null, steps: {}, run: { id: ctx.runId, workflow: ctx.workflow }, env: {} };
  const render = (text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    const value = renderTemplate(text, scope);
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const allow = agent.tools ?? [];
  const tools = allow.length > 0 && options.tools ? await options.tools.toolsFor(allow, { signal: ctx.signal }) : [];
  const schema = agent.output?.schema;
  const repairs = agent.output?.repair_attempts ?? AGENT_DEFAULTS.repairAttempts;
  const maxTurns = agent.max_turns ?? AGENT_DEFAULTS.maxTurns;

  const messages: ChatMessage[] = [];
  const system = render(agent.system);
  if (system) messages.push({ role: 'system', content: system });
  const prompt = render(agent.prompt) ?? JSON.stringify(ctx.input ?? {});
  messages.push({ role: 'user', content: schema ? `${prompt}\n\nAnswer with JSON only, matching this JSON Schema:\n${JSON.stringify(schema)}` : prompt });

  const call: CallContext = {
    tenantId: ctx.tenantId ?? 'default',
    runId: ctx.runId,
    stepId: ctx.stepId,
    workflow: ctx.workflow,
    signal: ctx.signal,
    ...(ctx.budget ? { budget: ctx.budget } : {}),
  };
  let repairsUsed = 0;
  for (let turn = 1; turn <= maxTurns; turn++) {
    const request: ChatRequest = { model: agent.model, messages, ...(tools.length > 0 ? { tools } : {}) };
    const key = `model:${turn}`;
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
      for (const toolCall of message.tool_calls) {
        const toolKey = `tool:${turn}:${toolCall.id}`;
        let result = recorded.get(toolKey) as string | undefined;
        if (result === undefined) {
          result = await callTool(options.tools, toolCall.function.name, toolCall.function.arguments, allow, ctx.signal);
          await journal.append({ key: toolKey, data: result });
        }
        messages.push({ role: 'tool', tool_call_id: toolCall.id, content: result });
      }
      continue;
    }

    const answer = parseAnswer(textOf(message.content), schema !== undefined);
    const problem = answer.error ?? (schema ? schemaProblem(schema, answer.value) : undefined);
    if (problem === undefined) return answer.value;
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

function schemaProblem(schema: Record<string, unknown>, value: unknown): string | undefined {
  try {
    assertMatches(schema, splitReserved(value).output, 'output_invalid', 'the answer');
    return undefined;
  } catch (error) {
    return toAgentryError(error).message;
  }
}

/** A tool's answer for the model; a refused or failing call is told to the model, not thrown. */
async function callTool(
  tools: AgentTools | undefined,
  name: string,
  rawArgs: string,
  allow: readonly string[],
  signal: AbortSignal,
): Promise<string> {
  if (!tools) return JSON.stringify({ error: `no tool servers are configured; '${name}' cannot be called` });
  let args: Record<string, unknown>;
  try {
    const parsed: unknown = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('arguments must be a JSON object');
    args = parsed as Record<string, unknown>;
  } catch (error) {
    return JSON.stringify({ error: `invalid arguments for ${name}: ${(error as Error).message}` });
  }
  try {
    return await tools.call(name, args, allow, { signal });
  } catch (error) {
    const e = toAgentryError(error);
    // Cancellation and lost infrastructure end the attempt; a tool's own failure is the model's to handle.
    if (e.code === 'cancelled' || e.code === 'tool_unavailable' || e.code === 'step_timeout') throw e;
    return JSON.stringify({ error: `[${e.code}] ${e.message}` });
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
  };
}
