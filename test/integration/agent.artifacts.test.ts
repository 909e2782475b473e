/**
 * The agent's built-in artifact tool on both stores: with `write_artifacts: true` the model is
 * offered `artifacts__write`, and its call stores the report among the run's artifacts; a name
 * outside the workflow's `artifacts:` fails the step (`artifact_denied`) and stores nothing;
 * without `write_artifacts` the tool is not offered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSpec } from '../../src/spec/schemas.js';
import { mockGateway, startAgentEngine, type AgentEngine } from '../helpers/agent-engine.js';
import { storeFactories } from '../helpers/store.js';

const REPORT = '# Weekly report\n\nAll green.\n';

function writes(name: string) {
  return mockGateway([
    {
      when: { has_tool_results: false },
      reply: { tool_calls: [{ name: 'artifacts__write', arguments: { name, content: REPORT, content_type: 'text/markdown' } }] },
    },
    { reply: { content: 'done' } },
  ]);
}

const AGENTS: AgentSpec[] = [{ version: 'v1', name: 'writer', model: 'mock', prompt: 'Write the weekly report.' }];

const WORKFLOWS = [
  { name: 'weekly', artifacts: ['out/report.md'], steps: { write: { agent: 'writer', write_artifacts: true } } },
  { name: 'plain', artifacts: ['out/report.md'], steps: { write: { agent: 'writer' } } },
];

describe.each(storeFactories)('agent artifacts__write ($name)', (factory) => {
  let t: AgentEngine | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  async function run(workflow: string, name: string) {
    t = await startAgentEngine(factory, { gateway: writes(name), agents: AGENTS, workflows: WORKFLOWS });
    const started = await t.engine.startRun(workflow, {});
    return t.engine.waitForRun(started.id, { timeoutMs: 30_000, pollMs: 50 });
  }

  it('stores the report the agent writes, under a declared name', async () => {
    const done = await run('weekly', 'out/report.md');
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(t!.requests[0]?.tools?.map((tool) => tool.function.name)).toEqual(['artifacts__write']);
    const [artifact] = await t!.store.artifacts.list(done.id);
    expect(artifact).toMatchObject({ name: 'out/report.md', stepId: 'write', contentType: 'text/markdown', size: Buffer.byteLength(REPORT) });
    expect((await t!.store.artifacts.read(done.id, 'out/report.md'))?.content.toString()).toBe(REPORT);
    // The model was told what was stored.
    const toolMessage = t!.requests[1]?.messages.find((m) => m.role === 'tool');
    expect(toolMessage).toMatchObject({ content: expect.stringContaining('"stored":"out/report.md"') });
  });

  it('fails the step on a name the workflow does not declare, storing nothing', async () => {
    const done = await run('weekly', 'secrets/../../report.md');
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'artifact_denied' });
    expect(await t!.store.artifacts.list(done.id)).toEqual([]);
  });

  it('does not offer the tool without write_artifacts', async () => {
    const done = await run('plain', 'out/report.md');
    expect(t!.requests[0]?.tools).toBeUndefined();
    // The model's call of a tool it was not given is refused like any unknown tool; nothing is stored.
    expect(await t!.store.artifacts.list(done.id)).toEqual([]);
  });
});
