import { describe, expect, it } from 'vitest';
import { functionName } from '../../src/tools/names.js';
import type { ToolDefinition } from '../../src/tools/result.js';
import { ToolList } from '../../src/tools/tool-list.js';

const SERVER = 'a-server-name-long-enough-to-rewrite-tool-names';
const tool = (name: string): ToolDefinition => ({ name, inputSchema: { type: 'object' } });

describe('ToolList', () => {
  it('keeps a listing a tools/list_changed overtook, maps its names, and lists again to include the new tool', async () => {
    const list = new ToolList(SERVER, undefined);
    const answers = [[tool('files/read.v2')], [tool('files/read.v2'), tool('files/write.v2')]];
    let calls = 0;
    const listing = list.refresh(() => {
      const answer = answers[calls++]!;
      // The server announces a change while its first answer is on the way.
      if (calls === 1) list.changed();
      return Promise.resolve(answer);
    });
    // While the refresh is in flight, callers share it.
    expect(list.refresh(() => Promise.reject(new Error('a second listing')))).toBe(listing);
    expect((await listing).map((t) => t.name)).toEqual(['files/read.v2', 'files/write.v2']);
    expect(calls).toBe(2);
    expect(list.current?.map((t) => t.name)).toEqual(['files/read.v2', 'files/write.v2']);
    const read = functionName(SERVER, 'files/read.v2');
    expect(read).not.toBe(`${SERVER}__files/read.v2`);
    expect(list.toolFor(read)).toBe('files/read.v2');
    expect(list.toolFor(functionName(SERVER, 'files/write.v2'))).toBe('files/write.v2');
  });

  it('keeps old names resolving while a refresh after a change is in flight, and after it fails', async () => {
    const list = new ToolList(SERVER, undefined);
    await list.refresh(() => Promise.resolve([tool('db.query')]));
    list.changed();
    expect(list.current).toBeUndefined();
    expect(list.last?.map((t) => t.name)).toEqual(['db.query']);
    let fail!: (error: Error) => void;
    const refreshing = list.refresh(() => new Promise<ToolDefinition[]>((_resolve, reject) => (fail = reject)));
    expect(list.toolFor(functionName(SERVER, 'db.query'))).toBe('db.query');
    fail(new Error('connection lost'));
    await expect(refreshing).rejects.toThrow('connection lost');
    expect(list.toolFor(functionName(SERVER, 'db.query'))).toBe('db.query');
  });

  it('stops listing again after three changes in a row, keeping the last answer as stale', async () => {
    const list = new ToolList(SERVER, new Set(['a', 'b']));
    let calls = 0;
    const tools = await list.refresh(() => {
      calls++;
      list.changed();
      return Promise.resolve([tool('a'), tool('b'), tool('hidden')]);
    });
    expect(calls).toBe(3);
    expect(tools.map((t) => t.name)).toEqual(['a', 'b']);
    expect(list.current).toBeUndefined();
    expect(list.last?.map((t) => t.name)).toEqual(['a', 'b']);
  });
});
