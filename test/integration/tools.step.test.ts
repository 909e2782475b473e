import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_EXECUTOR_SETTINGS, type StepContext } from '../../src/runtime/index.js';
import { createToolExecutor, parseToolStepConfig } from '../../src/runtime/tool.js';
import { createToolHub, type ToolHub } from '../../src/tools/index.js';
import { MCP_FIXTURE_STDIO } from '../helpers/mcp-fixture.js';

const root = path.resolve(import.meta.dirname, '..', '..');
let hub: ToolHub | undefined;

function stdioHub(): ToolHub {
  hub = createToolHub({
    specs: new Map([['fx', { name: 'fx', command: process.execPath, args: MCP_FIXTURE_STDIO }]]),
    env: {},
    projectDir: root,
  });
  return hub;
}

function ctx(signal: AbortSignal = new AbortController().signal): StepContext {
  return {
    runId: 'run_1',
    stepId: 'lookup',
    attempt: 1,
    workflow: 'wf',
    signal,
    state: undefined,
    settings: DEFAULT_EXECUTOR_SETTINGS,
    logger: pino({ level: 'silent' }),
  };
}

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('tool step executor', () => {
  it('outputs structured content, else a JSON text parsed, else the content list', async () => {
    const executor = createToolExecutor(stdioHub());
    expect(executor.kind).toBe('tool');
    await expect(executor.execute({ server: 'fx', name: 'add', args: { a: 1, b: 2 } }, ctx())).resolves.toEqual({ kind: 'output', output: { sum: 3 } });
    await expect(executor.execute({ server: 'fx', name: 'echo', args: { text: '{"ok":true,"n":[1,2]}' } }, ctx())).resolves.toEqual({
      kind: 'output',
      output: { ok: true, n: [1, 2] },
    });
    await expect(executor.execute({ server: 'fx', name: 'echo', args: { text: 'plain words' } }, ctx())).resolves.toEqual({
      kind: 'output',
      output: { content: [{ type: 'text', text: 'plain words' }] },
    });
    // args default to {}
    await expect(executor.execute({ server: 'fx', name: 'count' }, ctx())).resolves.toMatchObject({ output: { count: 1 } });
  });

  it('fails the step with the hub error codes and their retryability', async () => {
    const executor = createToolExecutor(stdioHub());
    await expect(executor.execute({ server: 'fx', name: 'fail', args: { message: 'no such order' } }, ctx())).rejects.toMatchObject({
      code: 'tool_error',
      retryable: false,
      message: expect.stringContaining('no such order'),
    });
    await expect(executor.execute({ server: 'fx', name: 'crash' }, ctx())).rejects.toMatchObject({ code: 'tool_unavailable', retryable: true });
    const controller = new AbortController();
    const running = executor.execute({ server: 'fx', name: 'slow', args: { ms: 60_000 } }, ctx(controller.signal));
    const outcome = expect(running).rejects.toMatchObject({ code: 'cancelled' });
    await expect.poll(async () => (await hub!.callTool('fx', 'stats')).structuredContent?.['started']).toBe(1);
    controller.abort();
    await outcome;
  });

  it('rejects a rendered config that is not { server, name, args? } as invalid_request', () => {
    expect(parseToolStepConfig({ server: 'fx', name: 'echo' })).toEqual({ server: 'fx', name: 'echo', args: {} });
    for (const bad of [
      null,
      'fx.echo',
      { server: 'fx' },
      { server: '', name: 'echo' },
      { server: 'fx', name: 'echo', args: [1] },
      { server: 'fx', name: 'echo', extra: 1 },
    ]) {
      expect(() => parseToolStepConfig(bad)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
  });
});
