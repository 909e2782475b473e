/** What the memory routes answer: agents' conversation threads and their messages (`app/memory.ts`). */
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.js';

const TenantId = Type.String({ description: 'The tenant the thread is kept in' });
const Agent = Type.String({ description: 'The agent that reads and writes the thread' });

export const MemoryThreadSchema = Type.Object(
  {
    thread: Type.String({ description: 'The thread id, as the agent’s memory.thread template rendered it' }),
    agent: Agent,
    tenant_id: TenantId,
    messages: Type.Integer({ description: 'How many messages the thread keeps' }),
    updated_at: Time,
  },
  { title: 'MemoryThread' },
);

export const MemoryThreadPageSchema = Type.Object(
  { items: Type.Array(MemoryThreadSchema), next_cursor: Nullable(Type.String({ description: 'Pass as ?cursor= for the next page' })) },
  { title: 'MemoryThreadPage' },
);
export type MemoryThreadPageDto = Static<typeof MemoryThreadPageSchema>;

export const MemoryMessageSchema = Type.Object(
  {
    agent: Agent,
    tenant_id: TenantId,
    seq: Type.Integer({ description: 'Order of the message in the agent’s thread, from 1 (older ones may have been dropped)' }),
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
    content: Type.Unknown({ description: 'What the model was sent or answered' }),
    created_at: Time,
  },
  { title: 'MemoryMessage' },
);

export const MemoryMessagePageSchema = Type.Object(
  {
    thread: Type.String(),
    items: Type.Array(MemoryMessageSchema, { description: 'By tenant, agent and order (oldest first)' }),
    next_cursor: Nullable(Type.String({ description: 'Pass as ?cursor= for the next page' })),
  },
  { title: 'MemoryMessagePage' },
);
export type MemoryMessagePageDto = Static<typeof MemoryMessagePageSchema>;

export const MemoryClearedSchema = Type.Object(
  {
    thread: Type.String(),
    agent: Nullable(Type.String({ description: 'The agent whose thread was cleared; null: every agent’s' })),
    deleted: Type.Integer({ description: 'Messages deleted' }),
  },
  { title: 'MemoryCleared' },
);
export type MemoryClearedDto = Static<typeof MemoryClearedSchema>;

export const MemoryPrunedSchema = Type.Object(
  {
    deleted: Type.Integer({ description: 'Messages deleted' }),
    older_than_ms: Type.Integer(),
    before: Time,
  },
  { title: 'MemoryPruned' },
);
export type MemoryPrunedDto = Static<typeof MemoryPrunedSchema>;
