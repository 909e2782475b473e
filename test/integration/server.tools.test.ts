/**
 * `/v1/tools` over HTTP with a real MCP server over stdio: each server's tools (function names,
 * input schemas, approval, switches), the count right after a `tool` step used the server, one
 * server's tools listed on demand, and the switch of a single tool.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ToolServerDto } from '../../src/app/dto/tools.js';
import { fixtureToolSpec, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
const WITH_TOOL_STEP = [{ name: 'lookup', steps: { call: { tool: { server: 'fx', name: 'echo', args: { text: 'hi' } } } } }];

beforeAll(async () => {
  api = await startTestApi({ tools: [{ ...fixtureToolSpec(), require_approval: ['add'] }], workflows: WITH_TOOL_STEP });
});
afterAll(async () => {
  await api.close();
});

// Disabling closes the connection (the fixture's process stops), so no test leaves it running; enabling clears the switch.
afterEach(async () => {
  const operator = api.auth('operator');
  await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: operator, payload: { reason: 'test done' } });
  await expect.poll(() => api.tools!.status()[0]!.pid).toBeUndefined();
  await api.app.inject({ method: 'POST', url: '/v1/tools/fx/enable', headers: operator });
});

const get = async (url: string): Promise<{ status: number; body: ToolServerDto & { items?: ToolServerDto[] } }> => {
  const response = await api.app.inject({ url, headers: api.auth('viewer') });
  return { status: response.statusCode, body: response.json() };
};

describe('/v1/tools with a real MCP server over stdio', { timeout: 60_000 }, () => {
  it('counts and lists the tools of a server a tool step used (no agent listed them)', async () => {
    const idle = (await get('/v1/tools')).body.items![0]!;
    expect(idle).toMatchObject({ name: 'fx', state: 'idle', tools: 0, tool_list: [] });
    const run = await api.engine.startRun('lookup', {});
    await expect.poll(async () => (await api.engine.getRun(run.id)).status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(async () => (await get('/v1/tools')).body.items![0]!.tools, { timeout: 10_000 }).toBeGreaterThan(0);
    const server = (await get('/v1/tools')).body.items![0]!;
    expect(server.tools).toBe(server.tool_list.length);
    expect(server.tool_list.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'slow']));
    expect(server.tool_list.find((t) => t.name === 'add')).toEqual({
      name: 'add',
      function_name: 'fx__add',
      description: 'Adds two numbers.',
      input_schema: expect.objectContaining({ type: 'object', properties: { a: expect.any(Object), b: expect.any(Object) } }),
      require_approval: true,
      disabled: false,
    });
    expect(server.tool_list.find((t) => t.name === 'echo')).toMatchObject({ require_approval: false });
  });

  it('lists one server now, switches one of its tools off and on, and refuses bad input with problem+json', async () => {
    const one = await get('/v1/tools/fx');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'fx', state: 'connected' });
    expect(one.body.tool_list.length).toBeGreaterThan(0);
    expect((await get('/v1/tools/nope')).status).toBe(404);

    const operator = api.auth('operator');
    const off = await api.app.inject({ method: 'POST', url: '/v1/tools/fx.add/disable', headers: operator, payload: { reason: 'adds wrong' } });
    expect(off.statusCode).toBe(200);
    expect(off.json<ToolServerDto>().state).toBe('connected');
    expect(off.json<ToolServerDto>().tool_list.find((t) => t.name === 'add')).toMatchObject({ disabled: true, disabled_reason: 'adds wrong' });
    await expect(api.tools!.callTool('fx', 'add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'tool_disabled' });
    await expect(api.tools!.callTool('fx', 'echo', { text: 'ok' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'ok' }] });
    expect(await api.store.listToolSwitches()).toEqual([expect.objectContaining({ server: 'fx', tool: 'add', reason: 'adds wrong', disabledBy: 'operator' })]);

    const on = await api.app.inject({ method: 'POST', url: '/v1/tools/fx.add/enable', headers: operator });
    expect(on.json<ToolServerDto>().tool_list.find((t) => t.name === 'add')).toMatchObject({ disabled: false });
    expect(await api.store.listToolSwitches()).toEqual([]);

    const blank = await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: operator, payload: { reason: '  ' } });
    expect(blank.statusCode).toBe(400);
    expect(blank.headers['content-type']).toContain('application/problem+json');
    expect(blank.json()).toMatchObject({ code: 'invalid_request', detail: expect.stringContaining('reason') });
    expect(await api.store.listToolSwitches()).toEqual([]);
  });
});
