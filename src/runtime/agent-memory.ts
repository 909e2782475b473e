/**
 * Conversation memory of an agent (`memory: { thread, max_messages }`): before its first model
 * call the loop gets the thread's newest `max_messages` messages (after the system prompt, before
 * this run's prompt); when it has an answer, the run's prompt and the answer are appended to the
 * thread in one write, which keeps only the newest `max_messages`. Threads are per tenant — the
 * tenant is always the run's.
 *
 * Both ends are journaled: a resumed attempt replays the history it loaded (so its requests are
 * the ones made before) and does not append twice once the append is recorded.
 */
import { AgentryError } from '../lib/errors.js';
import type { ChatMessage } from '../gateway/types.js';
import type { AgentSpec } from '../spec/schemas.js';
import type { MemoryMessage, Store } from '../store/store.js';
import type { StepJournal } from './types.js';

/** What the loop needs of the store for memory. */
export type AgentMemoryStore = Pick<Store, 'loadMemory' | 'appendMemory'>;

export const MEMORY_DEFAULT_MAX_MESSAGES = 50;
const LOADED_KEY = 'memory:loaded';
const SAVED_KEY = 'memory:saved';

/** A thread the step reads and writes. */
export interface MemoryThreadRef {
  tenantId: string;
  agent: string;
  thread: string;
  maxMessages: number;
}

/** The thread of this step, or undefined when the agent has no memory (or no store keeps it). */
export function memoryThread(
  agent: AgentSpec,
  tenantId: string,
  render: (text: string) => string | undefined,
  store: AgentMemoryStore | undefined,
): MemoryThreadRef | undefined {
  if (!agent.memory || !store) return undefined;
  const thread = render(agent.memory.thread)?.trim() ?? '';
  if (thread === '' || thread === 'null' || thread.length > 200) {
    throw new AgentryError(
      'expression_error',
      `agent ${agent.name}: memory.thread '${agent.memory.thread}' rendered '${thread.slice(0, 60)}' (1 to 200 characters needed)`,
    );
  }
  return { tenantId, agent: agent.name, thread, maxMessages: agent.memory.max_messages ?? MEMORY_DEFAULT_MAX_MESSAGES };
}

/** The thread's earlier messages as chat messages: from the journal when the step recorded them, else from the store. */
export async function loadHistory(
  store: AgentMemoryStore,
  ref: MemoryThreadRef,
  recorded: ReadonlyMap<string, unknown>,
  journal: StepJournal,
): Promise<ChatMessage[]> {
  let loaded = recorded.get(LOADED_KEY) as MemoryMessage[] | undefined;
  if (loaded === undefined) {
    loaded = await store.loadMemory(ref.tenantId, ref.agent, ref.thread, ref.maxMessages);
    await journal.append({ key: LOADED_KEY, data: loaded });
  }
  return loaded.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) }));
}

/** Appends the run's prompt and answer to the thread, once per step. */
export async function saveExchange(
  store: AgentMemoryStore,
  ref: MemoryThreadRef,
  exchange: { prompt: string; answer: string },
  recorded: ReadonlyMap<string, unknown>,
  journal: StepJournal,
): Promise<void> {
  if (recorded.has(SAVED_KEY)) return;
  const messages: MemoryMessage[] = [
    { role: 'user', content: exchange.prompt },
    { role: 'assistant', content: exchange.answer },
  ];
  await store.appendMemory(ref.tenantId, ref.agent, ref.thread, messages, ref.maxMessages, Date.now());
  await journal.append({ key: SAVED_KEY, data: { messages: messages.length } });
}
