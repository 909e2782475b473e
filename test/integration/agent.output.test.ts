/**
 * The output air-lock of agent steps: an answer that fails the agent's output schema goes back
 * to the model with the errors for up to `repair_attempts` turns, then fails `output_invalid`;
 * the reserved fields `_rationale`, `_flags`, `_confidence` leave the output for the step's meta.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { fakeGateway, openProject, runToEnd, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { startFakeOpenAI, type FakeServer, type Json } from '../fixtures/fake-openai.js';
import { silentLogger } from '../helpers/engine.js';

let fake: FakeServer | undefined;
let agentry: Agentry | undefined;
let project: TempProject | undefined;

afterEach(async () => {
  await agentry?.close();
  await fake?.close();
  project?.remove();
  agentry = fake = project = undefined;
});

const TRIAGE_SCHEMA = {
  type: 'object',
  required: ['severity', 'summary'],
  additionalProperties: false,
  properties: { severity: { enum: ['low', 'high'] }, summary: { type: 'string', minLength: 1 } },
};

/** A project whose `triage` workflow runs the `triager` agent against the fake. */
async function open(repairAttempts?: number): Promise<Agentry> {
  fake = await startFakeOpenAI();
  project = writeProject({
    gateway: fakeGateway(fake.url),
    agents: [
      {
        name: 'triager',
        model: 'fake',
        prompt: 'Triage: {{ input.ticket }}',
        output: { schema: TRIAGE_SCHEMA, ...(repairAttempts === undefined ? {} : { repair_attempts: repairAttempts }) },
      },
    ],
    workflows: [{ name: 'triage', steps: { classify: { agent: 'triager', input: { ticket: '{{ input.ticket }}' } } }, output: '{{ steps.classify.output }}' }],
  });
  agentry = await openProject(project);
  return agentry;
}

const lastMessage = (index: number): Json => fake!.requests[index]?.messages.at(-1);

describe('agent output air-lock', { timeout: 60_000 }, () => {
  it('sends an answer missing a required field back with the validation errors, and the repaired answer succeeds in one turn', async () => {
    const a = await open(1);
    fake!.replies.push({ content: JSON.stringify({ severity: 'high' }) }, { content: '```json\n{"severity":"high","summary":"Checkout is down"}\n```' });

    const run = await runToEnd(a, 'triage', { ticket: 'checkout returns 500' });

    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ severity: 'high', summary: 'Checkout is down' });
    expect(fake!.requests).toHaveLength(2);
    // The second request is the first conversation, the rejected answer, and the errors.
    const second = fake!.requests[1]!;
    expect(second.messages.map((m: Json) => String(m.role))).toEqual(['user', 'assistant', 'user']);
    expect(second.messages[1].content).toBe('{"severity":"high"}');
    expect(lastMessage(1).content).toMatch(/^Your answer was rejected: .*must have required property 'summary'.*Reply again with corrected JSON only\.$/);
    expect(fake!.requests[0]?.messages[0].content).toContain('"required":["severity","summary"]');
  });

  it('fails the step output_invalid after repair_attempts repair turns when the answer stays invalid', async () => {
    const a = await open(2);
    fake!.respond = () => ({ content: JSON.stringify({ severity: 'urgent', summary: '' }) });

    const run = await runToEnd(a, 'triage', { ticket: 'checkout returns 500' });

    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'output_invalid', message: expect.stringContaining('after 2 repair turns') });
    expect(run.error?.message).toContain('/severity must be equal to one of the allowed values');
    expect(run.error?.message).toContain('/summary must NOT have fewer than 1 characters');
    const [step] = await a.store.getSteps(run.id);
    expect(step).toMatchObject({ status: 'failed', error: { code: 'output_invalid', details: { answer: '{"severity":"urgent","summary":""}' } } });
    // 1 answer + 2 repair turns, each repair request ending with the errors; no retry of the step.
    expect(fake!.requests).toHaveLength(3);
    expect(fake!.requests.map((r) => r.messages.length)).toEqual([1, 3, 5]);
    for (const i of [1, 2]) expect(lastMessage(i)).toMatchObject({ role: 'user', content: expect.stringContaining('Your answer was rejected') });
    expect((await a.store.listAttempts(run.id, 'classify')).map((x) => x.status)).toEqual(['failed']);
  });

  it('treats an answer that is not JSON like an invalid one', async () => {
    const a = await open(0);
    fake!.respond = () => ({ content: 'It looks serious to me.' });

    const run = await runToEnd(a, 'triage', { ticket: 'checkout returns 500' });

    expect(run.error).toMatchObject({ code: 'output_invalid', message: expect.stringContaining('not valid JSON') });
    expect(fake!.requests).toHaveLength(1);
  });

  it('strips _rationale, _flags and _confidence from the output and keeps them as the step meta, in the store, the events and the API', async () => {
    const a = await open();
    fake!.respond = () => ({
      content: JSON.stringify({ severity: 'low', summary: 'Typo on the pricing page', _rationale: 'Cosmetic only', _flags: ['x'], _confidence: 0.4 }),
    });

    const run = await runToEnd(a, 'triage', { ticket: 'typo' });

    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ severity: 'low', summary: 'Typo on the pricing page' });
    const meta = { rationale: 'Cosmetic only', flags: ['x'], confidence: 0.4 };
    const [step] = await a.store.getSteps(run.id);
    expect(step).toMatchObject({ output: { severity: 'low', summary: 'Typo on the pricing page' }, meta });
    const succeeded = (await a.store.listEvents(run.id, 0, 100)).find((e) => e.type === 'step.succeeded' && e.stepId === 'classify');
    expect(succeeded?.data).toMatchObject({ meta });

    const app = await buildApp({
      engine: a.engine,
      store: a.store,
      logger: silentLogger,
      version: 'test',
      auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }),
      docs: false,
    });
    try {
      const res = await app.inject({ method: 'GET', url: `/v1/runs/${run.id}` });
      expect(res.statusCode).toBe(200);
      const shown = res.json<{ steps: Json[] }>().steps.find((s: Json) => s.id === 'classify');
      expect(shown).toMatchObject({ output: { severity: 'low', summary: 'Typo on the pricing page' }, meta });
    } finally {
      await app.close();
    }
  });
});
