/**
 * The agent journal across a crash, with real processes: `agentry start worker` runs an agent
 * step against a fake OpenAI-compatible provider and is SIGKILLed while its 3rd model call is
 * in flight; a new worker resumes the step from the journal and the provider sees only the
 * calls that had not completed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import { openAgentry } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/obs/logger.js';
import { REPO, fakeGateway, stdioFixtureTool, turnOf, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { CLI_ENTRY } from '../helpers/cli.js';

let fake: FakeServer | undefined;
let project: TempProject | undefined;
let agentry: Agentry | undefined;
const children: ChildProcess[] = [];

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

afterEach(async () => {
  for (const child of children.splice(0)) await kill(child, 'SIGKILL');
  await agentry?.close();
  await fake?.close();
  project?.remove();
  agentry = fake = project = undefined;
});

/** Rejects when `promise` has not settled within `ms`, naming what did not happen. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** `agentry start worker` on the project; resolves once its engine started. */
function startWorker(p: TempProject): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AGENTRY_') && !key.startsWith('npm_')) env[key] = value;
  const child = spawn(process.execPath, [CLI_ENTRY, 'start', 'worker', '--dir', p.dir], {
    cwd: REPO,
    env: {
      ...env,
      AGENTRY_DATABASE_URL: `sqlite:${p.dbFile}`,
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_POLL_INTERVAL: '100ms',
      AGENTRY_LOG_LEVEL: 'info',
      AGENTRY_PROBE_PORT: 'off',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('engine started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started:\n${output}`)));
  });
}

describe('agent journal across a worker crash', () => {
  it('resumes an agent step killed during its 3rd of 4 model calls without repeating calls 1 and 2', async () => {
    fake = await startFakeOpenAI();
    let held = false;
    // Turns 1–3 call a tool, turn 4 answers. The first request for turn 3 is never answered:
    // the worker is killed while it waits.
    fake.respond = (req) => {
      const turn = turnOf(req);
      if (turn === 3 && !held) {
        held = true;
        return { hang: true };
      }
      if (turn <= 3) return { tool_calls: [{ id: `call_${turn}`, name: 'fx__count', arguments: {} }] };
      return { content: JSON.stringify({ turns: turn }) };
    };
    project = writeProject({
      gateway: fakeGateway(fake.url),
      tools: [stdioFixtureTool('fx')],
      agents: [
        {
          name: 'counter',
          model: 'fake',
          prompt: 'Count three times, then say how many turns it took.',
          tools: ['fx.count'],
          output: { schema: { type: 'object', required: ['turns'], properties: { turns: { type: 'integer' } } } },
        },
      ],
      workflows: [{ name: 'count', steps: { agent: { agent: 'counter' } }, output: '{{ steps.agent.output }}' }],
    });
    // The test's own handle on the store (no worker here): starts the run and reads the outcome.
    const config = loadConfig({ flags: { projectDir: project.dir }, env: { AGENTRY_DATABASE_URL: `sqlite:${project.dbFile}` }, cwd: project.dir });
    agentry = await openAgentry(config, { logger: createLogger({ level: 'silent' }), env: {} });
    const run = await agentry.engine.startRun('count', {});

    const first = await within(startWorker(project), 20_000, 'the worker start');
    await within(fake.received(3), 20_000, 'the 3rd model call');
    // Turns 1 and 2 are in the journal before the 3rd call is made.
    expect((await agentry.store.loadJournal(run.id, 'agent')).map((e) => e.key)).toEqual(['model:1', 'tool:1:call_1', 'model:2', 'tool:2:call_2']);
    await kill(first, 'SIGKILL');
    await expect.poll(() => fake?.dropped, { timeout: 5_000 }).toBe(1);

    await within(startWorker(project), 20_000, 'the worker restart');
    const done = await agentry.engine.waitForRun(run.id, { timeoutMs: 30_000, pollMs: 100 });

    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ turns: 4 });
    // Before the kill: turns 1, 2 and the held 3; after the restart: only 3 and 4. Each turn's
    // request is longer by the assistant message and the tool result of the turn before.
    expect(fake.requests.map(turnOf)).toEqual([1, 2, 3, 3, 4]);
    expect(fake.requests.map((r) => r.messages.length)).toEqual([1, 3, 5, 5, 7]);
    expect(fake.requests[3]?.messages).toEqual(fake.requests[2]?.messages);
    // The lapsed lease re-queued the step: attempt 1 lost its lease, attempt 2 finished from the journal.
    expect((await agentry.store.listAttempts(run.id, 'agent')).map((a) => [a.attempt, a.status])).toEqual([
      [1, 'lease_expired'],
      [2, 'succeeded'],
    ]);
    expect((await agentry.store.loadJournal(run.id, 'agent')).map((e) => e.key)).toEqual([
      'model:1',
      'tool:1:call_1',
      'model:2',
      'tool:2:call_2',
      'model:3',
      'tool:3:call_3',
      'model:4',
    ]);
  }, 60_000);
});
