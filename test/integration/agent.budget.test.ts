/**
 * A run's budget stops an agent that loops on tool calls: the gateway refuses the model call
 * that could pass `max_cost_usd` before sending it, and the run fails `budget_exceeded`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import { fakeGateway, openProject, runToEnd, stdioFixtureTool, turnOf, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

let fake: FakeServer | undefined;
let agentry: Agentry | undefined;
let project: TempProject | undefined;

afterEach(async () => {
  await agentry?.close();
  await fake?.close();
  project?.remove();
  agentry = fake = project = undefined;
});

describe('agent budgets', { timeout: 60_000 }, () => {
  it("stops an agent looping on tool calls at the run's max_cost_usd, and the provider sees no call past the budget", async () => {
    fake = await startFakeOpenAI();
    // The model never stops calling the tool; every call reports 100 output tokens.
    fake.respond = (req) => ({
      tool_calls: [{ id: `call_${turnOf(req)}`, name: 'fx__count', arguments: {} }],
      usage: { prompt_tokens: 40, completion_tokens: 100 },
    });
    project = writeProject({
      // Input tokens are free and output costs $0.001 a token, capped at 100 per call: every
      // call costs $0.10 and its worst case is $0.10, so a $0.35 budget fits exactly 3 calls.
      gateway: fakeGateway(fake.url, { input_per_mtok: 0, output_per_mtok: 1000, max_output_tokens: 100 }),
      tools: [stdioFixtureTool('fx')],
      agents: [{ name: 'looper', model: 'fake', prompt: 'Count forever.', tools: ['fx.count'], max_turns: 50 }],
      workflows: [{ name: 'spend', budget: { max_cost_usd: 0.35 }, steps: { loop: { agent: 'looper' } } }],
    });
    agentry = await openProject(project);

    const run = await runToEnd(agentry, 'spend');

    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({
      code: 'budget_exceeded',
      details: { scope: 'run', metric: 'usd', limit: 0.35, spent: 0.3, estimate: 0.1 },
    });
    expect(run.error?.message).toMatch(/run budget of 0\.35 USD would be exceeded: spent 0\.3 USD.*not sent/);
    const [step] = await agentry.store.getSteps(run.id);
    expect(step).toMatchObject({ stepId: 'loop', status: 'failed', error: { code: 'budget_exceeded' } });
    // Not retried: a budget does not grow back.
    expect((await agentry.store.listAttempts(run.id, 'loop')).map((a) => a.status)).toEqual(['failed']);

    // Exactly the calls that fit were sent, each with the cap the worst case assumed.
    expect(fake.requests.map(turnOf)).toEqual([1, 2, 3]);
    expect(fake.requests.map((r) => r.body.max_tokens as number)).toEqual([100, 100, 100]);
    // Every tool call of those turns ran once; the refused 4th turn called nothing.
    expect((await agentry.tools!.callTool('fx', 'stats')).structuredContent).toMatchObject({ count: 3 });
    expect((await agentry.store.loadJournal(run.id, 'loop')).map((e) => e.key)).toEqual([
      'model:1',
      'tool:1:call_1',
      'model:2',
      'tool:2:call_2',
      'model:3',
      'tool:3:call_3',
    ]);
    // The ledger holds what was spent: 3 calls, $0.30, within the budget.
    const usage = await agentry.store.usage({ runId: run.id });
    const spent = usage.reduce((sum, row) => sum + row.costUsd, 0);
    expect(spent).toBeCloseTo(0.3, 8);
    expect(spent).toBeLessThanOrEqual(0.35);
    expect(usage.reduce((sum, row) => sum + row.outputTokens, 0)).toBe(300);
  });
});
