/**
 * The reference MCP server (`@modelcontextprotocol/server-everything`) as a tool server, over
 * stdio and over Streamable HTTP: its tools listed (with the one it announces right after
 * connecting, `notifications/tools/list_changed`), rewritten function names mapped back to the
 * server's names, calls of several kinds (text, arguments, a long-running one with progress,
 * an image, an embedded resource), and a long call cancelled with its run.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import type { ToolSpec } from '../../src/spec/schemas.js';
import { createToolHub, functionName, type ToolHub } from '../../src/tools/index.js';
import { fakeGateway, openProject, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { everythingStdio, startEverythingHttp, type EverythingHttp } from '../helpers/everything-server.js';

const root = path.resolve(import.meta.dirname, '..', '..');
/** Long enough that function names of its longer tools pass 64 characters and are rewritten. */
const SERVER = 'reference-everything-server-fidelity-test';

let http: EverythingHttp | undefined;
let hub: ToolHub | undefined;
let agentry: Agentry | undefined;
let project: TempProject | undefined;

beforeAll(async () => {
  http = await startEverythingHttp();
});

afterAll(async () => {
  await http?.close();
});

afterEach(async () => {
  await hub?.close();
  await agentry?.close();
  project?.remove();
  hub = agentry = project = undefined;
});

const specs = {
  stdio: (name: string): ToolSpec => everythingStdio(name),
  http: (name: string): ToolSpec => ({ name, url: http!.url }),
};

function open(spec: ToolSpec): ToolHub {
  hub = createToolHub({ specs: new Map([[spec.name, spec]]), env: {}, projectDir: root });
  return hub;
}

describe.each(['stdio', 'http'] as const)('server-everything over %s', { timeout: 120_000 }, (transport) => {
  it('lists its tools with the one announced after connecting, and maps every rewritten function name back (3 connections of 3)', async () => {
    for (let round = 1; round <= 3; round++) {
      const h = open(specs[transport](SERVER));
      // Straight after connecting, as an agent step does: the server announces list_changed meanwhile.
      const offered = await h.toolsFor([SERVER]);
      const names = offered.map((t) => t.function.name);
      const tools = names.map((name) => h.resolve(name, [SERVER]).tool);
      expect(tools).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation', 'get-tiny-image', 'get-resource-reference']));
      // The tool the server registers once the client is initialized.
      expect(tools).toContain('simulate-research-query');
      for (const [i, tool] of tools.entries()) expect(functionName(SERVER, tool)).toBe(names[i]);
      const rewritten = tools.filter((tool, i) => names[i] !== `${SERVER}__${tool}`);
      expect(rewritten).toEqual(expect.arrayContaining(['trigger-long-running-operation', 'get-resource-reference']));
      expect(names.every((name) => /^[A-Za-z0-9_-]{1,64}$/.test(name))).toBe(true);

      // A rewritten name reaches the server as the server's own name.
      const call = functionName(SERVER, 'get-resource-reference');
      const { server, tool } = h.resolve(call, [SERVER]);
      const result = await h.callTool(server, tool, { resourceType: 'Text', resourceId: 2 });
      expect(result.content.map((c) => c.type)).toEqual(['text', 'resource', 'text']);

      // GET /v1/tools' view: the count and every tool with its function name.
      const status = h.status()[0]!;
      expect(status.tools).toBe(tools.length);
      expect(h.toolStatus(SERVER).find((t) => t.name === 'trigger-long-running-operation')).toMatchObject({
        function_name: functionName(SERVER, 'trigger-long-running-operation'),
        require_approval: false,
        disabled: false,
        input_schema: expect.objectContaining({ type: 'object' }),
      });
      await h.close();
      hub = undefined;
    }
  });

  it('calls echo, get-sum, get-tiny-image and a long-running operation that reports progress', async () => {
    const h = open(specs[transport]('everything'));
    await expect(h.callTool('everything', 'echo', { message: 'hello' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'Echo: hello' }] });
    await expect(h.callTool('everything', 'get-sum', { a: 2, b: 40 })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'The sum of 2 and 40 is 42.' }],
    });
    const image = await h.callTool('everything', 'get-tiny-image');
    expect(image.content).toEqual([
      expect.objectContaining({ type: 'text' }),
      expect.objectContaining({ type: 'image', mimeType: 'image/png', data: expect.stringMatching(/^[A-Za-z0-9+/=]{100,}$/) }),
      expect.objectContaining({ type: 'text' }),
    ]);
    const progress: Array<{ progress: number; total?: number }> = [];
    const long = await h.callTool('everything', 'trigger-long-running-operation', { duration: 0.6, steps: 3 }, { onProgress: (p) => progress.push(p) });
    expect(long.content).toEqual([{ type: 'text', text: 'Long running operation completed. Duration: 0.6 seconds, Steps: 3.' }]);
    // Steps 1 and 2 are reported well before the answer; the last one races it (the SDK drops progress after the answer).
    expect(progress.slice(0, 2)).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
    ]);
    // An unknown tool is the server's refusal, not a lost connection.
    await expect(h.callTool('everything', 'no-such-tool')).rejects.toMatchObject({ code: 'tool_error' });
    expect(h.status()[0]).toMatchObject({ state: 'connected', restarts: 0 });
  });

  it('cancels a long call when its run is cancelled, and the connection serves the next call', async () => {
    project = writeProject({
      gateway: fakeGateway('http://127.0.0.1:9'),
      agents: [],
      tools: [specs[transport]('everything')],
      workflows: [
        {
          name: 'long',
          steps: { op: { tool: { server: 'everything', name: 'trigger-long-running-operation', args: { duration: 60, steps: 60 } } } },
        },
      ],
    });
    agentry = await openProject(project);
    const run = await agentry.engine.startRun('long', {});
    await expect.poll(async () => (await agentry!.store.getSteps(run.id)).find((s) => s.stepId === 'op')?.status, { timeout: 30_000 }).toBe('running');
    await agentry.engine.cancelRun(run.id, 'test');
    const ended = await agentry.engine.waitForRun(run.id, { timeoutMs: 10_000, pollMs: 50 });
    expect(ended.status).toBe('cancelled');
    const attempts = await agentry.store.listAttempts(run.id, 'op');
    expect(attempts.at(-1)).toMatchObject({ status: 'cancelled' });
    // The call was abandoned, not the connection: the same server answers at once.
    await expect(agentry.tools!.callTool('everything', 'echo', { message: 'still here' })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'Echo: still here' }],
    });
    expect(agentry.tools!.status()[0]).toMatchObject({ state: 'connected', restarts: 0 });
  });
});
