/**
 * An agent step's journal over the API and the CLI: one run of an agent (the `mock` provider,
 * priced) that calls one MCP tool (the fixture server over stdio) with a planted secret in its
 * arguments, which the tool echoes back. `GET /v1/runs/{id}/steps/{step}/journal` returns the
 * turns with model, tokens, cost, latency and finish reason, and the tool call with its
 * arguments and result, the secret masked; pages and clips; answers 404 to another tenant and
 * for unknown steps, 400 for a step that is no agent; `agentry runs journal` prints the same,
 * locally and from the server.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import type { StepJournalDto } from '../../src/app/dto/journal.js';
import { createLogger } from '../../src/obs/logger.js';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import type { RunRecord } from '../../src/types.js';
import { openProject, runToEnd, stdioFixtureTool, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { runCliInProcess } from '../helpers/cli.js';

const SECRET = 'PLANTEDjournalSECRET0123456789';
const TAIL = 'x'.repeat(300);
const KEYS = { admin: 'admin-key-0123456789abcdef', viewer: 'viewer-key-0123456789abcdef', globex: 'globex-key-0123456789abcdef' } as const;
const API_KEYS = `admin:${KEYS.admin}:admin;viewer:${KEYS.viewer}:viewer;globex:${KEYS.globex}:viewer,tenant:globex`;
const ENV = { PLANTED_TOKEN: SECRET };

let project: TempProject;
let agentry: Agentry | undefined;
let app: Awaited<ReturnType<typeof buildApp>>;
let run: RunRecord;
let mapRun: RunRecord;

beforeAll(async () => {
  project = writeProject({
    gateway: {
      version: 'v1',
      // Declared secret: the redactor knows its value and masks it wherever it is written.
      env: { PLANTED_TOKEN: { secret: true, required: true } },
      providers: {
        scripted: {
          type: 'mock',
          script: [
            { when: { has_tool_results: false }, reply: { tool_calls: [{ id: 'call_echo', name: 'fx__echo', arguments: { text: `token ${SECRET}` } }] } },
            { reply: { content: `The token was ${SECRET}. ${TAIL}` } },
          ],
        },
      },
      models: { mock: { targets: [{ provider: 'scripted', model: 'mock-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
    },
    tools: [stdioFixtureTool('fx')],
    agents: [{ name: 'researcher', model: 'mock', prompt: 'Echo the token.', tools: ['fx.echo'], max_turns: 3 }],
    workflows: [
      { name: 'lookup', steps: { ask: { agent: 'researcher' }, after: { needs: ['ask'], transform: { done: true } } } },
      { name: 'many', steps: { each: { for_each: { from: 'input.items' }, agent: 'researcher' } } },
    ],
  });
  agentry = await openProject(project, { env: ENV });
  run = await runToEnd(agentry, 'lookup');
  mapRun = await runToEnd(agentry, 'many', { items: [1, 2] });
  app = await buildApp({
    engine: agentry.engine,
    store: agentry.store,
    logger: createLogger({ level: 'silent' }),
    version: 'test',
    auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
    docs: false,
  });
  // Listening for the CLI's remote mode from the start: the leak guard counts from each test's start.
  await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await agentry?.close();
  project?.remove();
});

async function journal(url: string, key: string = KEYS.viewer): Promise<{ status: number; body: StepJournalDto & { code?: string; detail?: string } }> {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /v1/runs/{id}/steps/{step}/journal', { timeout: 30_000 }, () => {
  it('returns each turn with model, tokens, cost, latency and finish reason, and the tool call with its arguments and result, secrets masked', async () => {
    expect(run.status).toBe('succeeded');
    const { status, body } = await journal(`/v1/runs/${run.id}/steps/ask/journal`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ run_id: run.id, step_id: 'ask', agent: 'researcher', status: 'succeeded', attempt: 1, next_after: null, other_calls: [] });
    expect(body.turns.map((t) => t.turn)).toEqual([1, 2]);
    const [first, second] = body.turns;

    expect(first?.model).toMatchObject({ group: 'mock', provider: 'scripted', model: 'mock-1', finish_reason: 'tool_calls' });
    expect(second?.model).toMatchObject({ group: 'mock', provider: 'scripted', model: 'mock-1', finish_reason: 'stop' });
    for (const turn of body.turns) {
      expect(turn.attempt).toBe(1);
      expect(turn.model.call_id).toEqual(expect.any(String));
      expect(turn.model.input_tokens).toBeGreaterThan(0);
      expect(turn.model.output_tokens).toBeGreaterThan(0);
      expect(turn.model.cost_usd).toBeGreaterThan(0);
      expect(turn.model.latency_ms).toBeGreaterThanOrEqual(0);
    }
    // Cost and tokens are the ledger's: the turns add up to the run's usage.
    const usage = (await agentry!.store.usage({ runId: run.id }))[0]!;
    expect(body.totals).toEqual({
      turns: 2,
      tool_calls: 1,
      llm_calls: 2,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cost_usd: usage.costUsd,
    });
    expect((first?.model.cost_usd ?? 0) + (second?.model.cost_usd ?? 0)).toBeCloseTo(usage.costUsd, 10);

    // The tool really ran with the secret (the fixture echoed it back) and both sides are stored masked.
    expect(first?.tool_calls).toEqual([
      {
        id: 'call_echo',
        function: 'fx__echo',
        server: 'fx',
        tool: 'echo',
        arguments: { text: 'token [redacted]' },
        status: 'ok',
        result: 'token [redacted]',
        error: null,
        truncated: false,
        at: expect.any(String),
        attempt: 1,
        duration_ms: expect.any(Number),
        approval: null,
      },
    ]);
    expect(second?.tool_calls).toEqual([]);
    expect(second?.content).toBe(`The token was [redacted]. ${TAIL}`);
    expect(JSON.stringify(body)).not.toContain(SECRET);
  });

  it('tells a run with one tool call in order without OpenTelemetry: step start and finish in its events, the tool call and its checkpoints in the journal', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/runs/${run.id}/events`, headers: { authorization: `Bearer ${KEYS.viewer}` } });
    const events = res.json<{ items: Array<{ seq: number; type: string; step_id: string | null; at: string }> }>().items;
    const ask = events.filter((e) => e.step_id === 'ask').map((e) => e.type);
    expect(ask).toEqual(['step.queued', 'step.started', 'step.succeeded']);
    const started = Date.parse(events.find((e) => e.step_id === 'ask' && e.type === 'step.started')!.at);
    const finished = Date.parse(events.find((e) => e.step_id === 'ask' && e.type === 'step.succeeded')!.at);
    const { body } = await journal(`/v1/runs/${run.id}/steps/ask/journal`);
    // Each journal entry is a checkpoint the step resumes from; all of them fall inside the step's span, in order.
    const times = [body.turns[0]!.at, body.turns[0]!.tool_calls[0]!.at!, body.turns[1]!.at].map((t) => Date.parse(t));
    expect([started, ...times, finished]).toEqual([started, ...times, finished].sort((a, b) => a - b));
    expect(body.turns[0]!.tool_calls[0]).toMatchObject({ tool: 'echo', status: 'ok' });
  });

  it('pages turns with after and limit, and clips long texts with a marker', async () => {
    const page1 = await journal(`/v1/runs/${run.id}/steps/ask/journal?limit=1`);
    expect(page1.body.turns.map((t) => t.turn)).toEqual([1]);
    expect(page1.body.next_after).toBe(1);
    expect(page1.body.totals.turns).toBe(2);
    const page2 = await journal(`/v1/runs/${run.id}/steps/ask/journal?after=${page1.body.next_after}&limit=1`);
    expect(page2.body.turns.map((t) => t.turn)).toEqual([2]);
    expect(page2.body.next_after).toBeNull();

    const clipped = (await journal(`/v1/runs/${run.id}/steps/ask/journal?after=1&max_chars=100`)).body.turns[0];
    const full = `The token was [redacted]. ${TAIL}`;
    expect(clipped?.content_truncated).toBe(true);
    expect(clipped?.content).toBe(`${full.slice(0, 100)}… [${full.length - 100} more characters]`);
  });

  it('shows each for_each item its own journal', async () => {
    expect(mapRun.status).toBe('succeeded');
    const item = await journal(`/v1/runs/${mapRun.id}/steps/each[1]/journal`);
    expect(item.status).toBe(200);
    expect(item.body).toMatchObject({ step_id: 'each[1]', totals: { turns: 2, tool_calls: 1, llm_calls: 2 } });
    const parent = await journal(`/v1/runs/${mapRun.id}/steps/each/journal`);
    expect(parent.status).toBe(400);
    expect(parent.body.code).toBe('invalid_request');
    expect((await journal(`/v1/runs/${mapRun.id}/steps/each[7]/journal`)).status).toBe(404);
  });

  it("answers 404 to another tenant's key and for unknown runs and steps, 400 for a step that is no agent", async () => {
    const other = await journal(`/v1/runs/${run.id}/steps/ask/journal`, KEYS.globex);
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain('researcher');
    expect((await journal(`/v1/runs/nope/steps/ask/journal`)).status).toBe(404);
    expect((await journal(`/v1/runs/${run.id}/steps/nope/journal`)).status).toBe(404);
    expect((await journal(`/v1/runs/${run.id}/steps/ask[0]/journal`)).status).toBe(404);
    const transform = await journal(`/v1/runs/${run.id}/steps/after/journal`);
    expect(transform.status).toBe(400);
    expect(transform.body).toMatchObject({ code: 'invalid_request', detail: expect.stringContaining('transform step') });
  });
});

describe('agentry runs journal', { timeout: 30_000 }, () => {
  it('prints the journal from a server (AGENTRY_URL), --json equal to the API', async () => {
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const env = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer };
    const json = await runCliInProcess(['runs', 'journal', run.id, 'ask', '--json'], { env });
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual((await journal(`/v1/runs/${run.id}/steps/ask/journal`)).body);
    const missing = await runCliInProcess(['runs', 'journal', run.id, 'ask'], { env: { ...env, AGENTRY_API_KEY: KEYS.globex } });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('not found');
    app.server.closeAllConnections();
  });

  it('prints the turns from the project store, and --json prints what the API returns', async () => {
    const expected = (await journal(`/v1/runs/${run.id}/steps/ask/journal?limit=1`)).body;
    await agentry!.close();
    agentry = undefined;
    const env = { ...ENV, AGENTRY_DATABASE_URL: `sqlite:${project.dbFile}` };
    const text = await runCliInProcess(['runs', 'journal', run.id, 'ask', '--dir', project.dir], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Step ask');
    expect(text.stdout).toContain('agent researcher');
    expect(text.stdout).toMatch(/Turn 1 +attempt 1/);
    expect(text.stdout).toMatch(/model +mock → scripted\/mock-1 +\d+ in \/ \d+ out +\$[\d.]+ +\d+ms +finish tool_calls/);
    expect(text.stdout).toContain('fx.echo {"text":"token [redacted]"}  ok');
    expect(text.stdout).toContain('← token [redacted]');
    expect(text.stdout).toMatch(/Turn 2[\s\S]*finish stop[\s\S]*says +The token was \[redacted\]/);
    expect(text.stdout).not.toContain(SECRET);

    const json = await runCliInProcess(['runs', 'journal', run.id, 'ask', '--limit', '1', '--json', '--dir', project.dir], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expected);
    const paged = await runCliInProcess(['runs', 'journal', run.id, 'ask', '--limit', '1', '--dir', project.dir], { env });
    expect(paged.stdout).toContain(`runs journal ${run.id} ask --after 1`);
  });
});
