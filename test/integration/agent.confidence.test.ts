/**
 * Confidence routing of agent outputs, end to end on every store: an agent with
 * `confidence_threshold`, the scripted `mock` model answering with `_confidence`, and a person
 * deciding the `review` task through the engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSpec } from '../../src/spec/schemas.js';
import { ADMIN, mockGateway, startAgentEngine, type AgentEngine } from '../helpers/agent-engine.js';
import { openTask } from '../helpers/engine.js';
import { storeFactories, type StoreFactory } from '../helpers/store.js';

let t: AgentEngine | undefined;

afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const TRIAGE_SCHEMA = {
  type: 'object',
  required: ['severity', 'summary'],
  additionalProperties: false,
  properties: { severity: { enum: ['low', 'high'] }, summary: { type: 'string', minLength: 1 } },
};

const triager: AgentSpec = {
  name: 'triager',
  model: 'mock',
  prompt: 'Triage: {{ input.ticket }}',
  output: { schema: TRIAGE_SCHEMA },
  confidence_threshold: 0.7,
};

async function open(factory: StoreFactory): Promise<AgentEngine> {
  t = await startAgentEngine(factory, {
    gateway: mockGateway([
      // Tickets that say "vague" get an unsure answer; the rest a confident one.
      {
        when: { last_user_contains: 'vague' },
        reply: { content: { severity: 'high', summary: 'Maybe an outage', _confidence: 0.42, _rationale: 'The ticket is vague', _flags: ['needs_human'] } },
      },
      { reply: { content: { severity: 'low', summary: 'A typo', _confidence: 0.95 } } },
    ]),
    agents: [triager],
    workflows: [{ name: 'triage', steps: { classify: { agent: 'triager', input: { ticket: '{{ input.ticket }}' } } }, output: '{{ steps.classify.output }}' }],
  });
  return t;
}

const ended = (e: AgentEngine, runId: string) => e.engine.waitForRun(runId, { timeoutMs: 30_000, pollMs: 50 });

describe.each(storeFactories)('agent confidence review ($name)', { timeout: 60_000 }, (factory) => {
  it('holds an output below the threshold in a review task with the output in its context, and the run waits', async () => {
    const e = await open(factory);
    const run = await e.engine.startRun('triage', { ticket: 'something vague broke' });

    const task = await openTask(e.engine, run.id);

    expect(task).toMatchObject({
      kind: 'review',
      status: 'open',
      stepId: 'classify',
      title: 'Review output of triager (confidence 0.42 < 0.7)',
      context: {
        output: { severity: 'high', summary: 'Maybe an outage' },
        confidence: 0.42,
        threshold: 0.7,
        rationale: 'The ticket is vague',
        flags: ['needs_human'],
      },
    });
    expect((await e.engine.getRun(run.id)).status).toBe('waiting');
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'classify')?.status).not.toBe('succeeded');
    expect(e.turns()).toEqual([1]);
  });

  it('on approve, the run succeeds with the reviewed output', async () => {
    const e = await open(factory);
    const run = await e.engine.startRun('triage', { ticket: 'something vague broke' });
    const task = await openTask(e.engine, run.id);

    await e.engine.completeTask(task.id, { decision: 'approve' }, ADMIN);
    const done = await ended(e, run.id);

    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ severity: 'high', summary: 'Maybe an outage' });
    // The reserved fields stay the step's meta; deciding did not run the agent again.
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'classify')).toMatchObject({
      status: 'succeeded',
      meta: { confidence: 0.42, rationale: 'The ticket is vague', flags: ['needs_human'] },
    });
    expect(e.turns()).toEqual([1]);
  });

  it("on submit, the reviewer's output replaces the agent's", async () => {
    const e = await open(factory);
    const run = await e.engine.startRun('triage', { ticket: 'something vague broke' });
    const task = await openTask(e.engine, run.id);

    await e.engine.completeTask(task.id, { decision: 'submit', data: { output: { severity: 'low', summary: 'Known flaky alert' } } }, ADMIN);
    const done = await ended(e, run.id);

    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ severity: 'low', summary: 'Known flaky alert' });
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'classify')?.output).toEqual({ severity: 'low', summary: 'Known flaky alert' });
  });

  it('on reject, the step and the run fail', async () => {
    const e = await open(factory);
    const run = await e.engine.startRun('triage', { ticket: 'something vague broke' });
    const task = await openTask(e.engine, run.id);

    await e.engine.completeTask(task.id, { decision: 'reject', comment: 'wrong severity' }, ADMIN);
    const done = await ended(e, run.id);

    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'output_rejected' });
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'classify')?.status).toBe('failed');
  });

  it('lets an output at or above the threshold through with no task', async () => {
    const e = await open(factory);
    const run = await e.engine.startRun('triage', { ticket: 'typo on the pricing page' });

    const done = await ended(e, run.id);

    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ severity: 'low', summary: 'A typo' });
    expect((await e.engine.listTasks({ runId: run.id, limit: 10 })).items).toEqual([]);
    expect((await e.store.getSteps(run.id)).find((s) => s.stepId === 'classify')?.meta).toMatchObject({ confidence: 0.95 });
  });
});
