import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEgressRules, type EgressRules } from '../../src/lib/egress.js';
import type { ToolSpec } from '../../src/spec/schemas.js';
import { createToolHub, type ToolHub, type ToolServerStatus } from '../../src/tools/index.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';
import { MCP_FIXTURE_STDIO } from '../helpers/mcp-fixture.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const STDIO_ARGS = MCP_FIXTURE_STDIO;

/** The fixture over stdio (compiled by the global setup). */
function stdioSpec(extra: Partial<ToolSpec> = {}): ToolSpec {
  return { name: 'fx', command: process.execPath, args: STDIO_ARGS, ...extra };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let hub: ToolHub | undefined;
let http: HttpMcpServer | undefined;

function open(spec: ToolSpec, env: Record<string, string> = {}): ToolHub {
  hub = createToolHub({ specs: new Map([[spec.name, spec]]), env, projectDir: root });
  return hub;
}

function statusOf(h: ToolHub, name = 'fx'): ToolServerStatus {
  const found = h.status().find((s) => s.name === name);
  if (found === undefined) throw new Error(`no status for ${name}`);
  return found;
}

async function structured(h: ToolHub, tool: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const result = await h.callTool('fx', tool, args);
  if (result.structuredContent === undefined) throw new Error(`${tool} returned no structured content`);
  return result.structuredContent;
}

beforeEach(async () => {
  http = await startHttpMcpServer();
});

afterEach(async () => {
  await hub?.close();
  hub = undefined;
  await http?.close();
  http = undefined;
});

const transports = {
  stdio: (extra: Partial<ToolSpec> = {}) => stdioSpec(extra),
  http: (extra: Partial<ToolSpec> = {}) => ({ name: 'fx', url: http!.url, ...extra }) satisfies ToolSpec,
};

describe.each(['stdio', 'http'] as const)('ToolHub over %s', (transport) => {
  const spec = (extra: Partial<ToolSpec> = {}): ToolSpec => transports[transport](extra);

  it('connects on first use and lists the server tools', async () => {
    const h = open(spec());
    expect(statusOf(h)).toMatchObject({ state: 'idle', tools: 0, restarts: 0 });
    const names = (await h.listTools('fx')).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'add', 'slow', 'fail', 'count', 'stats']));
    expect(statusOf(h)).toMatchObject({ name: 'fx', transport, state: 'connected', tools: names.length });
  });

  it('calls a tool with arguments and returns its structured content', async () => {
    const h = open(spec());
    const result = await h.callTool('fx', 'add', { a: 2, b: 40 });
    expect(result.structuredContent).toEqual({ sum: 42 });
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
  });

  it('hides the tools a server allow list leaves out, and refuses to call them without reaching the server', async () => {
    const h = open(spec({ allow: ['echo', 'count'] }));
    expect((await h.listTools('fx')).map((t) => t.name).sort()).toEqual(['count', 'echo']);
    await expect(h.callTool('fx', 'add', { a: 1, b: 2 })).rejects.toMatchObject({ code: 'tool_not_allowed', retryable: false });
    expect(statusOf(h).tools).toBe(2);
  });

  it('offers an agent only the tools its list names, and refuses function names outside it', async () => {
    const h = open(spec());
    const tools = await h.toolsFor(['fx.echo', 'fx.add']);
    expect(tools.map((t) => t.function.name).sort()).toEqual(['fx__add', 'fx__echo']);
    const echo = tools.find((t) => t.function.name === 'fx__echo');
    expect(echo).toMatchObject({ type: 'function', function: { description: 'Returns its text.', parameters: { type: 'object', required: ['text'] } } });
    expect(h.resolve('fx__echo', ['fx.echo'])).toEqual({ server: 'fx', tool: 'echo' });
    expect(() => h.resolve('fx__count', ['fx.echo'])).toThrow(expect.objectContaining({ code: 'tool_not_allowed' }));
    expect(() => h.resolve('other__echo', ['fx.*'])).toThrow(expect.objectContaining({ code: 'tool_not_allowed' }));
    expect((await h.toolsFor(['fx.*'])).length).toBe((await h.toolsFor(['fx'])).length);
  });

  it('fails a call that passes its timeout with tool_timeout, cancels it on the server and keeps the connection', async () => {
    const h = open(spec({ timeout: '300ms' }));
    await h.listTools('fx');
    await expect(h.callTool('fx', 'slow', { ms: 60_000 })).rejects.toMatchObject({ code: 'tool_timeout', retryable: true });
    await expect.poll(async () => (await structured(h, 'stats')).cancelled).toBe(1);
    await expect(h.callTool('fx', 'slow', { ms: 60_000 }, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'tool_timeout' });
    await expect.poll(async () => (await structured(h, 'stats')).cancelled).toBe(2);
    expect(statusOf(h)).toMatchObject({ state: 'connected', restarts: 0 });
  });

  it('cancels a running call through its AbortSignal and the server sees the cancellation', async () => {
    const h = open(spec());
    const controller = new AbortController();
    const call = h.callTool('fx', 'slow', { ms: 60_000 }, { signal: controller.signal });
    const outcome = expect(call).rejects.toMatchObject({ code: 'cancelled' });
    await expect.poll(async () => (await structured(h, 'stats')).started).toBe(1);
    controller.abort();
    await outcome;
    await expect.poll(async () => (await structured(h, 'stats')).cancelled).toBe(1);
  });

  it('turns an isError result into a non-retryable tool_error carrying the tool text', async () => {
    const h = open(spec());
    await expect(h.callTool('fx', 'fail', { message: 'customer 42 not found' })).rejects.toMatchObject({
      code: 'tool_error',
      retryable: false,
      message: expect.stringContaining('customer 42 not found'),
    });
    await expect(h.callTool('fx', 'no_such_tool')).rejects.toMatchObject({ code: 'tool_error', retryable: false });
  });

  it('fails calls fast with tool_disabled while the server is disabled, and works again once enabled', async () => {
    const h = open(spec());
    expect(await structured(h, 'count')).toMatchObject({ count: 1 });
    const pid = statusOf(h).pid;
    h.disable('fx', 'returns garbage since 10:02');
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({
      code: 'tool_disabled',
      retryable: false,
      message: expect.stringMatching(/'fx'.*returns garbage since 10:02/),
    });
    await expect(h.listTools('fx')).rejects.toMatchObject({ code: 'tool_disabled' });
    expect(await h.toolsFor(['fx'])).toEqual([]);
    expect(statusOf(h)).toMatchObject({ state: 'disabled', disabled_reason: 'returns garbage since 10:02' });
    if (pid !== undefined) await expect.poll(() => pidAlive(pid)).toBe(false);

    h.enable('fx');
    // Over HTTP the counter lives in the test's server: 2 proves the disabled call never reached it.
    // Over stdio, disabling stopped the process, so a new one counts from 1.
    expect(await structured(h, 'count')).toMatchObject({ count: transport === 'http' ? 2 : 1 });
    expect(statusOf(h).state).toBe('connected');
  });

  it('reuses one connection across calls', async () => {
    const h = open(spec());
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i++) seen.push((await structured(h, 'count')).count);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(statusOf(h)).toMatchObject({ state: 'connected', restarts: 0 });
  });

  it('refreshes the cached tool list when the server sends tools/list_changed', async () => {
    const h = open(spec());
    expect((await h.listTools('fx')).map((t) => t.name)).not.toContain('extra');
    await h.callTool('fx', 'grow');
    await expect.poll(async () => (await h.listTools('fx')).map((t) => t.name)).toContain('extra');
  });
});

describe('ToolHub over stdio', () => {
  it('restarts a crashed server on the next call, then refuses once the restart budget is used up', async () => {
    const h = open(stdioSpec({ restart: { max_restarts: 1, window: '10m', backoff: { initial: '10ms', max: '50ms' } } }));
    expect(await structured(h, 'count')).toMatchObject({ count: 1 });
    expect(await structured(h, 'count')).toMatchObject({ count: 2 });
    const firstPid = statusOf(h).pid!;

    await expect(h.callTool('fx', 'crash')).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true });
    expect(statusOf(h)).toMatchObject({ state: 'failed', last_error: expect.stringContaining('exited') });
    const restarted = await structured(h, 'count');
    expect(restarted).toMatchObject({ count: 1 });
    expect(restarted['pid']).not.toBe(firstPid);
    expect(statusOf(h)).toMatchObject({ state: 'connected', restarts: 1 });

    await expect(h.callTool('fx', 'crash')).rejects.toMatchObject({ code: 'tool_unavailable' });
    const refused = h.callTool('fx', 'count');
    await expect(refused).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true, message: expect.stringContaining('restart budget') });
    await expect(refused).rejects.toSatisfy((e: { retryAfterMs?: number }) => (e.retryAfterMs ?? 0) > 0);
    expect(statusOf(h)).toMatchObject({ state: 'failed', restarts: 1, last_error: expect.stringContaining('restart budget') });

    h.enable('fx');
    expect(await structured(h, 'count')).toMatchObject({ count: 1 });
    // Enabling starts afresh: that connect is not a restart.
    expect(statusOf(h)).toMatchObject({ state: 'connected', restarts: 1 });
  });

  it('leaves no child process behind after close', async () => {
    const h = open(stdioSpec());
    await h.callTool('fx', 'count');
    const pid = statusOf(h).pid;
    expect(pid).toBeTypeOf('number');
    expect(pidAlive(pid!)).toBe(true);
    await h.close();
    expect(pidAlive(pid!)).toBe(false);
    expect(statusOf(h).state).toBe('idle');
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({ code: 'tool_unavailable' });
  });

  it('starts the server with a clean environment plus its declared variables rendered from the Agentry environment', async () => {
    const h = open(stdioSpec({ env: { GREETING: 'hello {{ env.FX_NAME }}' } }), { FX_NAME: 'ada' });
    const read = async (name: string) => JSON.parse(toolTextOf(await h.callTool('fx', 'getenv', { name }))) as { value: string | null };
    expect((await read('GREETING')).value).toBe('hello ada');
    expect((await read('FX_NAME')).value).toBeNull();
    expect(process.env['VITEST']).toBeDefined();
    expect((await read('VITEST')).value).toBeNull();
  });

  it('fails a server whose env reads an unset variable with an error naming it, without starting it', async () => {
    const h = open(stdioSpec({ env: { API_KEY: '{{ env.FX_MISSING_KEY }}' } }));
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({
      code: 'tool_unavailable',
      retryable: false,
      message: expect.stringContaining('FX_MISSING_KEY'),
    });
    expect(statusOf(h)).toMatchObject({ state: 'failed', last_error: expect.stringContaining('FX_MISSING_KEY'), restarts: 0 });
    expect(statusOf(h).pid).toBeUndefined();
  });

  it('reports a command that cannot start as tool_unavailable', async () => {
    const h = open({ name: 'fx', command: path.join(root, 'no-such-mcp-server') });
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true });
    expect(statusOf(h)).toMatchObject({ state: 'failed', last_error: expect.stringContaining('connect failed') });
  });
});

describe('ToolHub over streamable HTTP', () => {
  it('sends headers rendered from the environment and keeps their values out of status', async () => {
    const h = open({ name: 'fx', url: http!.url, headers: { Authorization: 'Bearer {{ env.FX_TOKEN }}' } }, { FX_TOKEN: 's3cr3t-token' });
    await h.callTool('fx', 'count');
    expect(http!.authorizations.length).toBeGreaterThan(0);
    expect(new Set(http!.authorizations)).toEqual(new Set(['Bearer s3cr3t-token']));
    expect(JSON.stringify(h.status())).not.toContain('s3cr3t');
  });

  it('reports an unreachable server as retryable tool_unavailable', async () => {
    const gone = await startHttpMcpServer();
    await gone.close();
    const h = open({ name: 'fx', url: gone.url });
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true });
    expect(statusOf(h).state).toBe('failed');
  });

  it('reconnects with a new session after the server forgets the old one', async () => {
    const h = open({ name: 'fx', url: http!.url, restart: { backoff: { initial: '10ms' } } });
    expect(await structured(h, 'count')).toMatchObject({ count: 1 });
    await http!.dropSessions();
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true });
    expect(statusOf(h).state).toBe('failed');
    expect(await structured(h, 'count')).toMatchObject({ count: 2 });
    expect(statusOf(h)).toMatchObject({ state: 'connected', restarts: 1 });
  });
});

describe('ToolHub over streamable HTTP: egress policy', () => {
  function production(rules: EgressRules, spec: ToolSpec): ToolHub {
    const egress = { mode: 'production' as const, allowLinkLocal: false, project: parseEgressRules(rules, 'project').rules };
    hub = createToolHub({ specs: new Map([[spec.name, spec]]), env: { T: 'probe' }, projectDir: root, egress });
    return hub;
  }

  it('refuses a loopback server in production mode before sending anything, with egress_denied', async () => {
    const h = production({}, { name: 'fx', url: http!.url, headers: { Authorization: '{{ env.T }}' } });
    await expect(h.callTool('fx', 'count')).rejects.toMatchObject({ code: 'egress_denied', retryable: false });
    expect(http!.authorizations).toEqual([]);
  });

  it('refuses a server whose host name resolves to a denied address', async () => {
    const url = new URL(http!.url);
    url.hostname = 'mcp.test';
    const spec = { name: 'fx', url: url.toString() };
    hub = createToolHub({
      specs: new Map([[spec.name, spec]]),
      projectDir: root,
      egress: { mode: 'development', allowLinkLocal: false, project: parseEgressRules({ deny: ['127.0.0.0/8'] }, 'project').rules },
      resolver: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    });
    await expect(hub.callTool('fx', 'count')).rejects.toMatchObject({ code: 'egress_denied' });
  });

  it('connects when the loopback server is allow-listed', async () => {
    const h = production({ allow: ['127.0.0.1/32'] }, { name: 'fx', url: http!.url });
    expect(await structured(h, 'count')).toMatchObject({ count: 1 });
  });
});

function toolTextOf(result: { content: Array<{ type: string; text?: string }> }): string {
  return result.content.map((c) => c.text ?? '').join('');
}
