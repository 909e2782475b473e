/**
 * A Messages API request (Anthropic's format) as the gateway's canonical chat request (OpenAI's),
 * so it takes the one call path — model groups, budgets, the usage ledger, tracing — whatever the
 * target. The caller's own body rides along as `native`: an Anthropic target sends it as it came.
 *
 * - `system` (text or text blocks) → a `system` message.
 * - user turns: `text` → text parts, `image` (base64 or URL) → `image_url` parts, `document`
 *   (plain text or base64 PDF) → text or `file` parts; `tool_result` blocks → `tool` messages,
 *   placed before the rest of the turn (OpenAI wants them right after the assistant's call).
 * - assistant turns: `text` → content, `tool_use` → `tool_calls`; `thinking` blocks are dropped.
 * - tools with an `input_schema` → function tools (server tools reach Anthropic targets only);
 *   `tool_choice` auto/any/tool/none → auto/required/{function}/none,
 *   `disable_parallel_tool_use` → `parallel_tool_calls: false`.
 * - `max_tokens`, `stop_sequences` → `stop`, `temperature`, `top_p`, `metadata.user_id` → `user`;
 *   `top_k` has no OpenAI counterpart (Anthropic targets only).
 */
import { AgentryError } from '../../lib/errors.js';
import type { ChatMessage, ChatRequest, ContentPart, TextPart, ToolCall, ToolChoice, ToolDefinition } from '../types.js';
import type { MessagesBlock, MessagesBody } from './schema.js';

function invalid(where: string, why: string): AgentryError {
  return new AgentryError('invalid_request', `${where}: ${why}`);
}

function str(block: MessagesBlock, field: string, where: string): string {
  const value = block[field];
  if (typeof value !== 'string') throw invalid(where, `a ${block.type} block needs a string '${field}'`);
  return value;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** An `image` or `document` block's `source` as an OpenAI content part. */
function mediaPart(block: MessagesBlock, where: string): ContentPart {
  const source = obj(block['source']);
  if (source === undefined) throw invalid(where, `${block.type} blocks need a 'source' object`);
  const kind = source['type'];
  if (kind === 'base64' || kind === 'url') {
    const url = kind === 'url' ? source['url'] : `data:${String(source['media_type'])};base64,${String(source['data'])}`;
    if (typeof url !== 'string' || (kind === 'base64' && (typeof source['media_type'] !== 'string' || typeof source['data'] !== 'string'))) {
      throw invalid(where, kind === 'url' ? "a url source needs a string 'url'" : "a base64 source needs string 'media_type' and 'data'");
    }
    if (block.type === 'image') return { type: 'image_url', image_url: { url } };
    if (kind === 'base64') return { type: 'file', file: { file_data: url, ...(typeof block['title'] === 'string' ? { filename: block['title'] } : {}) } };
  }
  if (block.type === 'document' && kind === 'text' && typeof source['data'] === 'string') return { type: 'text', text: source['data'] };
  throw invalid(where, `${block.type} blocks with a '${String(kind)}' source reach Anthropic targets only`);
}

/** A `tool_result`'s content (a string or text/image blocks) as tool-message text. */
function toolResultText(block: MessagesBlock, where: string): string {
  const content = block['content'];
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(where, "a tool_result's 'content' is a string or an array of blocks");
  return content
    .map((part: unknown, i) => {
      const p = obj(part);
      if (p?.['type'] === 'text' && typeof p['text'] === 'string') return p['text'];
      if (p?.['type'] === 'image') return '[image]';
      throw invalid(`${where}.content[${i}]`, 'a tool_result holds text and image blocks');
    })
    .join('');
}

function userMessages(content: string | MessagesBlock[], where: string): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const tools: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  content.forEach((block, i) => {
    const at = `${where}.content[${i}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: str(block, 'text', at) });
        break;
      case 'image':
      case 'document':
        parts.push(mediaPart(block, at));
        break;
      case 'tool_result':
        tools.push({ role: 'tool', tool_call_id: str(block, 'tool_use_id', at), content: toolResultText(block, at) });
        break;
      default:
        throw invalid(at, `a user turn holds text, image, document and tool_result blocks, not '${block.type}'`);
    }
  });
  const allText = parts.every((p): p is TextPart => p.type === 'text');
  if (parts.length === 0) return tools;
  return [...tools, { role: 'user', content: allText ? parts.map((p) => p.text).join('') : parts }];
}

function assistantMessage(content: string | MessagesBlock[], where: string): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  content.forEach((block, i) => {
    const at = `${where}.content[${i}]`;
    switch (block.type) {
      case 'text':
        texts.push(str(block, 'text', at));
        break;
      case 'tool_use': {
        const input = obj(block['input']);
        if (input === undefined) throw invalid(at, "a tool_use block needs an 'input' object");
        calls.push({ id: str(block, 'id', at), type: 'function', function: { name: str(block, 'name', at), arguments: JSON.stringify(input) } });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        throw invalid(at, `an assistant turn holds text, tool_use and thinking blocks, not '${block.type}'`);
    }
  });
  return { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, ...(calls.length > 0 ? { tool_calls: calls } : {}) };
}

function systemText(system: string | MessagesBlock[]): string {
  if (typeof system === 'string') return system;
  return system
    .map((block, i) => {
      if (block.type !== 'text') throw invalid(`system[${i}]`, `the system prompt holds text blocks, not '${block.type}'`);
      return str(block, 'text', `system[${i}]`);
    })
    .join('\n\n');
}

function toolsOf(body: MessagesBody): ToolDefinition[] {
  return (body.tools ?? [])
    .filter((tool) => tool.input_schema !== undefined)
    .map((tool) => ({
      type: 'function' as const,
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.input_schema as Record<string, unknown>,
      },
    }));
}

function toolChoiceOf(choice: NonNullable<MessagesBody['tool_choice']>): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      if (choice.name === undefined) throw invalid('tool_choice', "type 'tool' needs the tool's 'name'");
      return { type: 'function', function: { name: choice.name } };
  }
}

/** The canonical request of a Messages API body; `native` carries the body for Anthropic targets. */
export function fromMessagesBody(body: MessagesBody): ChatRequest {
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    const text = systemText(body.system);
    if (text !== '') messages.push({ role: 'system', content: text });
  }
  body.messages.forEach((message, i) => {
    const where = `messages[${i}]`;
    if (message.role === 'user') messages.push(...userMessages(message.content, where));
    else messages.push(assistantMessage(message.content, where));
  });
  const request: ChatRequest = { model: body.model, messages, max_tokens: body.max_tokens };
  const tools = toolsOf(body);
  if (tools.length > 0) request.tools = tools;
  if (body.tool_choice !== undefined && tools.length > 0) {
    request.tool_choice = toolChoiceOf(body.tool_choice);
    if (body.tool_choice.disable_parallel_tool_use === true) request.parallel_tool_calls = false;
  }
  if (body.stop_sequences !== undefined && body.stop_sequences.length > 0) request.stop = body.stop_sequences;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.top_p = body.top_p;
  if (body.metadata?.user_id !== undefined) request.user = body.metadata.user_id;
  const { model: _model, stream: _stream, ...native } = body;
  request.native = { format: 'anthropic', body: native };
  return request;
}
