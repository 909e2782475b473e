/**
 * The agent step's journal format, in one place: what the loop (agent.ts) records and what
 * readers of a journal (the journal API, `app/journal.ts`) parse.
 *
 * - `model:<turn>`: a model turn, `{ request_hash, response }` (the gateway's response, with
 *   `agentry.call_id` naming its record in the usage ledger).
 * - `tool:<turn>:<call id>`: the text the model got back for one tool call — the tool's answer,
 *   or an error the loop wrote (`toolErrorResult`): a refused, failing or malformed call.
 * - `guardrail:<phase>:<turn>`: the guardrail checks that fired on the prompt (`input`, turn 0)
 *   or on the final answer of a turn (`output`), as `GuardrailTrigger[]` (agent-guardrails.ts).
 * - `judge:<phase>:<turn>:<check index>`: an `llm_judge` check's verdict, `{ verdict }`, so a
 *   replay does not ask the judge again.
 */
import type { ChatResponse } from '../gateway/types.js';

/** What the journal keeps of a model turn: the request's hash and the response. */
export interface ModelTurn {
  request_hash: string;
  response: ChatResponse;
}

/** The journal key of the guardrail triggers on the prompt (`input`, turn 0) or on a turn's answer. */
export function guardrailKey(phase: 'input' | 'output', turn: number): string {
  return `guardrail:${phase}:${turn}`;
}

/** The journal key of check `index`'s LLM judge verdict on the prompt or a turn's answer. */
export function judgeKey(phase: 'input' | 'output', turn: number): (index: number) => string {
  return (index) => `judge:${phase}:${turn}:${index}`;
}

/** A journal key, parsed. */
export type JournalKey = { kind: 'model'; turn: number } | { kind: 'tool'; turn: number; callId: string };

/** The journal key of a model turn. */
export function modelTurnKey(turn: number): string {
  return `model:${turn}`;
}

/** The journal (and approval task) key of a tool call. Stable across replays: the call id comes from the journaled model turn. */
export function toolCallKey(turn: number, callId: string): string {
  return `tool:${turn}:${callId}`;
}

/** What a journal key names; undefined for a key the agent loop does not write. */
export function parseJournalKey(key: string): JournalKey | undefined {
  const model = /^model:(\d{1,9})$/.exec(key);
  if (model) return { kind: 'model', turn: Number(model[1]) };
  const tool = /^tool:(\d{1,9}):(.+)$/s.exec(key);
  if (tool) return { kind: 'tool', turn: Number(tool[1]), callId: tool[2]! };
  return undefined;
}

/** The text the model reads for a tool call that produced no answer: `{"error":"[code] message"}`. */
export function toolErrorResult(message: string): string {
  return JSON.stringify({ error: message });
}

/**
 * The error of a tool result shaped like `toolErrorResult`'s (a tool answering exactly
 * `{"error": "…"}` reads as one too: the model was told the call failed); undefined otherwise.
 */
export function toolResultError(result: string): string | undefined {
  if (!result.startsWith('{"error":')) return undefined;
  try {
    const parsed = JSON.parse(result) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const keys = Object.keys(parsed);
    const error = (parsed as { error?: unknown }).error;
    return keys.length === 1 && typeof error === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}
