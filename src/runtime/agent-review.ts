/**
 * People in the agent loop, as pure functions the loop (agent.ts) applies:
 *
 * - **Tool approval.** A tool call the model asks for on a server with `require_approval`
 *   waits for a person: the loop suspends the step with a `tool_approval` task keyed like the
 *   call's journal entry (`tool:<turn>:<call id>`). When the step runs again, the decision is in
 *   `state.decisions[key]`; `approvalOutcome` says what it means for the call.
 * - **Confidence review.** A valid final answer whose `_confidence` is below the agent's
 *   `confidence_threshold` is held for a `review` task (`confidenceReview`); the engine applies
 *   that decision itself.
 */
import { AgentryError } from '../lib/errors.js';
import { splitReserved } from '../spec/output.js';
import type { OnReject } from '../tools/config.js';
import { toolErrorResult } from './agent-journal.js';
import type { StepResult, TaskDecisionRecord, TaskRequest } from './types.js';

/** A tool call that needs approval, with what the reviewer is shown. */
export interface GatedCall {
  /** The call's journal key, `tool:<turn>:<call id>`; also the task's key. */
  key: string;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  agent: string;
  turn: number;
  onReject: OnReject;
  /** Role that may decide the approval (the server's `approval_role`). */
  role?: string;
}

/** What a decision (or its absence) means for a gated call. */
export type ApprovalOutcome =
  /** No decision yet: suspend the step with this task. */
  | { action: 'ask'; task: TaskRequest }
  /** Approved: make the call. */
  | { action: 'call'; by: string }
  /** Refused with `on_reject: recover`: the model gets `result` as the tool's answer. */
  | { action: 'refuse'; result: string }
  /** Refused with `on_reject: fail`: the step fails with `error`. */
  | { action: 'fail'; error: AgentryError };

/**
 * The decision recorded for `key` in the state a suspended step resumes with
 * (`{ ..., decisions: { [key]: TaskDecisionRecord } }`); undefined when there is none.
 */
export function decisionFor(state: unknown, key: string): TaskDecisionRecord | undefined {
  if (state === null || typeof state !== 'object') return undefined;
  const decisions = (state as { decisions?: unknown }).decisions;
  if (decisions === null || typeof decisions !== 'object' || !Object.hasOwn(decisions, key)) return undefined;
  const record = (decisions as Record<string, unknown>)[key];
  if (record === null || typeof record !== 'object') return undefined;
  const { decision } = record as { decision?: unknown };
  return decision === 'approve' || decision === 'reject' || decision === 'submit' ? (record as TaskDecisionRecord) : undefined;
}

/**
 * What to do with a gated call. Only an explicit `approve` runs it: any other decision is a
 * refusal, so a call with side effects never runs on an ambiguous answer.
 */
export function approvalOutcome(call: GatedCall, decision: TaskDecisionRecord | undefined): ApprovalOutcome {
  if (decision === undefined) return { action: 'ask', task: approvalTask(call) };
  if (decision.decision === 'approve') return { action: 'call', by: decision.by };
  const comment = decision.comment?.trim() ? decision.comment.trim() : undefined;
  if (call.onReject === 'recover') return { action: 'refuse', result: refusalResult(call, comment) };
  return {
    action: 'fail',
    error: new AgentryError(
      'tool_rejected',
      `the call to ${call.server}.${call.tool} (agent ${call.agent}, turn ${call.turn}) was rejected by ${decision.by}${comment ? `: ${comment}` : ''}`,
      {
        details: { server: call.server, tool: call.tool, agent: call.agent, turn: call.turn, by: decision.by, ...(comment ? { comment } : {}) },
      },
    ),
  };
}

/** The `tool_approval` task for a gated call: the reviewer sees the tool and its arguments. */
export function approvalTask(call: GatedCall): TaskRequest {
  const refusal = call.onReject === 'recover' ? 'the agent is told the call was refused and goes on without it' : 'the step fails (tool_rejected)';
  return {
    kind: 'tool_approval',
    key: call.key,
    title: `Approve call to ${call.server}.${call.tool}`,
    instructions: `Agent ${call.agent} asks to call ${call.server}.${call.tool} with the arguments shown. Approve to make the call; reject to refuse it: ${refusal}.`,
    context: { server: call.server, tool: call.tool, arguments: call.args, agent: call.agent, turn: call.turn },
    ...(call.role === undefined ? {} : { role: call.role }),
  };
}

/** What the model reads as the result of a refused call: an error like any failed tool's, with the reviewer's comment. */
export function refusalResult(call: Pick<GatedCall, 'server' | 'tool'>, comment: string | undefined): string {
  const why = comment === undefined ? 'No comment was given.' : `The reviewer's comment: ${comment}`;
  return toolErrorResult(`[tool_rejected] A reviewer refused this call to ${call.server}.${call.tool}; it was not made. ${why} Go on without it.`);
}

/** The agent settings confidence routing reads. */
export interface ConfidenceSettings {
  name: string;
  confidence_threshold?: number | undefined;
}

/**
 * The review a valid final answer needs: when the agent has a `confidence_threshold` and the
 * answer's `_confidence` is below it. An answer without `_confidence` (or with one outside
 * 0–1, which is dropped like any malformed reserved field) is not routed.
 */
export function confidenceReview(agent: ConfidenceSettings, answer: unknown): Extract<StepResult, { kind: 'output' }>['review'] {
  const threshold = agent.confidence_threshold;
  if (threshold === undefined) return undefined;
  const { output, meta } = splitReserved(answer);
  const confidence = meta?.confidence;
  if (confidence === undefined || confidence >= threshold) return undefined;
  return {
    title: `Review output of ${agent.name} (confidence ${confidence} < ${threshold})`,
    instructions: `The agent rated its answer below its confidence threshold. Approve to keep the output, submit {"output": …} to replace it, or reject to fail the step.`,
    context: { output, confidence, threshold, rationale: meta?.rationale ?? null, flags: meta?.flags ?? [] },
  };
}
