/**
 * The Messages API edge's translations on their own (the SDK-driven suite is
 * `test/integration/gateway.messages.test.ts`): request blocks the integration suite does not
 * send, interleaved tool-call deltas, cached tokens, unparseable tool arguments, and native
 * events passed through untouched.
 */
import { describe, expect, it } from 'vitest';
import { fromMessagesBody } from '../../src/gateway/anthropic-messages/request.js';
import { toMessagesMessage } from '../../src/gateway/anthropic-messages/response.js';
import { MessagesStreamTranslator, sseFrame } from '../../src/gateway/anthropic-messages/stream.js';
import type { MessagesBody } from '../../src/gateway/anthropic-messages/schema.js';
import type { ChatChunk } from '../../src/gateway/types.js';

const body = (extra: Partial<MessagesBody>): MessagesBody => ({ model: 'g', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], ...extra });

const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: finish }],
});

describe('a Messages API request as a chat request', () => {
  it('translates documents, URL images, string tool results and drops thinking blocks and server tools', () => {
    const request = fromMessagesBody(
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'the notes' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'a.pdf' },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 's' },
              { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done', is_error: true }] },
        ],
        tools: [
          { name: 'f', input_schema: { type: 'object' } },
          { name: 'web_search', type: 'web_search_20250305' },
        ],
        tool_choice: { type: 'none' },
      }),
    );
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'the notes' },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'done' },
    ]);
    expect(request.tools).toEqual([{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]);
    expect(request.tool_choice).toBe('none');
    // The caller's body rides along for Anthropic targets, without model and stream.
    expect(request.native?.body).not.toHaveProperty('model');
    expect(request.native?.body['tools']).toHaveLength(2);
  });

  it('refuses what it cannot translate, naming the block', () => {
    expect(() => fromMessagesBody(body({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }))).toThrow(
      /messages\[0\]\.content\[0\]: image blocks with a 'file' source reach Anthropic targets only/,
    );
    expect(() => fromMessagesBody(body({ system: [{ type: 'image' }] }))).toThrow(/system\[0\]: the system prompt holds text blocks/);
    expect(() => fromMessagesBody(body({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }))).toThrow(/needs a string 'text'/);
  });
});

describe('a chat answer as a message', () => {
  it('keeps unparseable tool arguments under _raw and counts cached input apart', () => {
    const message = toMessagesMessage({
      id: 'chatcmpl-9',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55, prompt_tokens_details: { cached_tokens: 20 } },
    });
    expect(message).toEqual({
      id: 'msg_9',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [{ type: 'tool_use', id: 'c', name: 'f', input: { _raw: '{"a":' } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: 20 },
    });
  });
});

describe('the stream translator', () => {
  it('gives each tool call its block, also when their argument deltas interleave, and closes the last block at the end', () => {
    const t = new MessagesStreamTranslator();
    const out = [
      ...t.push(chunk({ role: 'assistant', content: '' })),
      ...t.push(chunk({ content: 'Hi' })),
      ...t.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"x"' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] })),
      ...t.push(chunk({}, 'tool_calls')),
      ...t.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } }),
      ...t.end(),
    ];
    expect(out.map((e) => [e.type, e['index']])).toEqual([
      ['message_start', undefined],
      ['ping', undefined],
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['content_block_start', 2],
      ['content_block_delta', 1],
      ['content_block_stop', 2],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ]);
    expect(out[9]).toMatchObject({ delta: { type: 'input_json_delta', partial_json: ':1}' } });
    expect(out[11]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 9, output_tokens: 4 } });
    expect(sseFrame(out[12]!)).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
  });

  it("passes an Anthropic target's own events through and adds nothing at the end", () => {
    const t = new MessagesStreamTranslator();
    const native = [{ type: 'message_start', message: { id: 'msg_1' } }];
    expect(t.push({ ...chunk({ role: 'assistant' }), native })).toEqual(native);
    expect(t.push({ ...chunk({}), choices: [] })).toEqual([]);
    expect(t.end()).toEqual([]);
  });
});
