import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/spec/validate.js';
import type { ToolSpec } from '../../src/spec/schemas.js';
import {
  agentToolProblems,
  createToolHub,
  functionName,
  parseToolPattern,
  resolveLaunch,
  serverConfig,
  splitFunctionName,
  toolOutput,
  toolSpecProblems,
  toolText,
} from '../../src/tools/index.js';

const crm: ToolSpec = { name: 'crm', command: 'crm-mcp', allow: ['find_customer', 'files.read'], require_approval: ['delete_customer'] };
const search: ToolSpec = { name: 'search', url: 'https://search.example.com/mcp', require_approval: true };

describe('tool server specs', () => {
  it('accepts a full stdio and HTTP spec and refuses __ in server names', () => {
    const full = {
      name: 'crm',
      command: 'npx',
      args: ['-y', 'crm-mcp'],
      cwd: 'tools/crm',
      env: { CRM_KEY: '{{ env.CRM_KEY }}' },
      allow: ['find_customer'],
      require_approval: ['delete_customer'],
      timeout: '20s',
      connect_timeout: '10s',
      restart: { max_restarts: 3, window: '5m', backoff: { initial: '1s', max: '30s' } },
    };
    expect(validateSpec('tool', full)).toEqual([]);
    expect(validateSpec('tool', { name: 'web', url: 'https://x.example/mcp', headers: { Authorization: 'Bearer {{ env.T }}' } })).toEqual([]);
    expect(validateSpec('tool', { name: 'my__crm', command: 'x' })).toMatchObject([{ path: ['name'] }]);
    expect(validateSpec('tool', { name: 'crm', command: 'x', restart: { retries: 1 } })).not.toEqual([]);
  });

  it('applies defaults and parses durations', () => {
    expect(serverConfig(crm)).toMatchObject({
      name: 'crm',
      transport: 'stdio',
      timeoutMs: 60_000,
      connectTimeoutMs: 30_000,
      restart: { maxRestarts: 5, windowMs: 600_000, initialMs: 500, maxMs: 30_000 },
    });
    expect(serverConfig({ ...search, timeout: '2s', restart: { max_restarts: 0, backoff: { initial: '10ms' } } })).toMatchObject({
      transport: 'http',
      timeoutMs: 2000,
      restart: { maxRestarts: 0, initialMs: 10 },
    });
    expect(serverConfig(search, 5000).timeoutMs).toBe(5000);
  });

  it('reports transport mix-ups and templates that read more than env', () => {
    expect(toolSpecProblems({ name: 'x', command: 'a', url: 'http://b' })).toMatchObject([{ message: expect.stringContaining('exactly one') }]);
    expect(toolSpecProblems({ name: 'x', url: 'http://b', env: { A: 'b' }, args: ['c'] }).map((p) => p.path)).toEqual([['args'], ['env']]);
    expect(toolSpecProblems({ name: 'x', command: 'a', env: { A: '{{ steps.s.output }}', B: '{{ env.B' } }).map((p) => p.path)).toEqual([
      ['env', 'A'],
      ['env', 'B'],
    ]);
    expect(() => serverConfig({ name: 'x', command: 'a', headers: { A: 'b' } })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('renders env and headers from the given environment and names every missing variable', () => {
    const stdio = resolveLaunch(
      serverConfig({ name: 'x', command: 'srv', cwd: 'sub', env: { KEY: '{{ env.K }}', MODE: 'prod-{{ env.M }}' } }),
      { K: 'k1', M: 'eu' },
      '/proj',
    );
    expect(stdio).toEqual({ transport: 'stdio', command: 'srv', args: [], cwd: '/proj/sub', env: { KEY: 'k1', MODE: 'prod-eu' } });
    const http = resolveLaunch(serverConfig({ name: 'x', url: 'http://h/mcp', headers: { Authorization: 'Bearer {{ env.T }}' } }), { T: 't' }, '/proj');
    expect(http).toMatchObject({ transport: 'http', headers: { Authorization: 'Bearer t' } });
    expect(() => resolveLaunch(serverConfig({ name: 'x', command: 'srv', env: { A: '{{ env.ZED }}', B: '{{ env.ALPHA }}' } }), {}, '/p')).toThrow(
      expect.objectContaining({
        code: 'tool_unavailable',
        retryable: false,
        message: expect.stringContaining('ALPHA, ZED'),
        details: { server: 'x', missing_env: ['ALPHA', 'ZED'] },
      }),
    );
  });
});

describe('tool allowlists and function names', () => {
  it('reads agent entries as a whole server, a wildcard or one tool', () => {
    expect(parseToolPattern('crm')).toEqual({ server: 'crm', tool: '*' });
    expect(parseToolPattern('crm.*')).toEqual({ server: 'crm', tool: '*' });
    expect(parseToolPattern('crm.files.read')).toEqual({ server: 'crm', tool: 'files.read' });
  });

  it('reports unknown servers and tools a server hides in an agent tools list', () => {
    const servers = new Map([
      ['crm', crm],
      ['search', search],
    ]);
    expect(agentToolProblems(['crm.find_customer', 'search', 'crm.*'], servers)).toEqual([]);
    expect(agentToolProblems(['crn.find_customer', 'crm.delete_customer'], servers)).toEqual([
      { path: ['tools', 0], message: "unknown tool server 'crn' (did you mean 'crm'?)" },
      { path: ['tools', 1], message: expect.stringContaining("not in the allow list of tool server 'crm'") },
    ]);
  });

  it('names functions <server>__<tool>, provider-safe and reversible', () => {
    expect(functionName('crm', 'find_customer')).toBe('crm__find_customer');
    const dotted = functionName('crm', 'files.read');
    expect(dotted).toMatch(/^crm__files_read_[0-9a-f]{8}$/);
    const long = functionName('crm', 'x'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(functionName('crm', 'a.b')).not.toBe(functionName('crm', 'a/b'));
    expect(splitFunctionName('crm__find__customer')).toEqual({ server: 'crm', rest: 'find__customer' });
    expect(splitFunctionName('nothing')).toBeUndefined();
  });

  it('resolves function names against both allowlists without connecting', async () => {
    const hub = createToolHub({
      specs: new Map([
        ['crm', crm],
        ['search', search],
      ]),
      env: {},
    });
    expect(hub.resolve('crm__find_customer', ['crm'])).toEqual({ server: 'crm', tool: 'find_customer' });
    expect(() => hub.resolve('crm__delete_customer', ['crm'])).toThrow(
      expect.objectContaining({ code: 'tool_not_allowed', message: expect.stringContaining('allow list') }),
    );
    expect(() => hub.resolve('search__web', ['crm.*'])).toThrow(
      expect.objectContaining({ code: 'tool_not_allowed', message: expect.stringContaining("agent's tools") }),
    );
    expect(() => hub.resolve('nope__x', ['crm'])).toThrow(expect.objectContaining({ code: 'tool_not_allowed' }));
    await expect(hub.toolsFor(['ghost.*'])).rejects.toMatchObject({ code: 'tool_not_allowed' });
    expect(hub.needsApproval('crm', 'delete_customer')).toBe(true);
    expect(hub.needsApproval('crm', 'find_customer')).toBe(false);
    expect(hub.needsApproval('search', 'anything')).toBe(true);
    expect(() => hub.disable('ghost', 'x')).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(hub.status()).toEqual([
      { name: 'crm', transport: 'stdio', state: 'idle', tools: 0, restarts: 0 },
      { name: 'search', transport: 'http', state: 'idle', tools: 0, restarts: 0 },
    ]);
    await hub.close();
  });
});

describe('tool results', () => {
  const text = (t: string) => ({ type: 'text' as const, text: t });
  it('prefers structured content, then one JSON text, then the content list', () => {
    expect(toolOutput({ content: [text('{"a":1}')], structuredContent: { b: 2 } })).toEqual({ b: 2 });
    expect(toolOutput({ content: [text('{"a":1}')], structuredContent: undefined })).toEqual({ a: 1 });
    expect(toolOutput({ content: [text('[1,2]'), text('3')], structuredContent: undefined })).toEqual({ content: [text('[1,2]'), text('3')] });
    expect(toolOutput({ content: [text('not json')], structuredContent: undefined })).toEqual({ content: [text('not json')] });
  });

  it('gives a model the text contents, else the structured content as JSON', () => {
    expect(toolText({ content: [text('a'), text('b')] })).toBe('a\nb');
    expect(toolText({ content: [], structuredContent: { x: 1 } })).toBe('{"x":1}');
  });
});
