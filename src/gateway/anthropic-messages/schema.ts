/**
 * Anthropic's Messages API request (`POST /v1/messages`) as the gateway accepts it: the one
 * typebox schema the route validates with, the OpenAPI document shows and the translation
 * (`request.ts`) reads. Content blocks are checked loosely here (`type` and any fields) and
 * precisely where they are translated, so an error names the block and the field.
 */
import { Type, type Static } from 'typebox';

const Block = Type.Object(
  { type: Type.String({ minLength: 1, maxLength: 64, description: 'text, image, document, tool_use, tool_result, thinking, …' }) },
  { additionalProperties: true },
);

/** The block type, with its other fields. */
type BlockValue = Static<typeof Block> & Record<string, unknown>;

/**
 * Text or blocks, as one schema with a list of types rather than `anyOf`: the server's ajv coerces
 * types (`coerceTypes: 'array'`), and inside `anyOf` a first branch's coercion changes the value
 * the next branch sees (a one-block array would fail both).
 */
const TextOrBlocks = (description: string) => Type.Unsafe<string | BlockValue[]>({ type: ['string', 'array'], items: Block, description });

const MessageParam = Type.Object(
  {
    role: Type.Enum(['user', 'assistant'], { description: "Anthropic's roles; the system prompt is the top-level `system`" }),
    content: TextOrBlocks('Text, or content blocks'),
  },
  { additionalProperties: false },
);

const Tool = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    description: Type.Optional(Type.String()),
    input_schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
    type: Type.Optional(Type.String({ maxLength: 64, description: 'set for server tools (Anthropic targets only)' })),
  },
  { additionalProperties: true },
);

const ToolChoice = Type.Object(
  {
    type: Type.Enum(['auto', 'any', 'tool', 'none']),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    disable_parallel_tool_use: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const MessagesBodySchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256, description: 'A model group (gateway.yaml `models:`); see GET /v1/models' }),
    max_tokens: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Required, as in Anthropic’s API' }),
    messages: Type.Array(MessageParam, { minItems: 1 }),
    system: Type.Optional(TextOrBlocks('The system prompt: text, or text blocks')),
    stream: Type.Optional(Type.Boolean()),
    stop_sequences: Type.Optional(Type.Array(Type.String(), { maxItems: 16 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0, description: 'Anthropic targets only; dropped for OpenAI-format ones' })),
    tools: Type.Optional(Type.Array(Tool)),
    tool_choice: Type.Optional(ToolChoice),
    metadata: Type.Optional(Type.Object({ user_id: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: true })),
  },
  {
    additionalProperties: true,
    description:
      "Anthropic's Messages API request. Other fields (thinking, service_tier, cache_control on blocks …) reach Anthropic targets as sent; OpenAI-format targets get the translation",
  },
);
export type MessagesBody = Static<typeof MessagesBodySchema>;
/** A content block: its `type` and whatever fields it has (checked where it is translated). */
export type MessagesBlock = BlockValue;
