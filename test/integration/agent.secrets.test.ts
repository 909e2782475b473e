/**
 * A provider key planted in the environment (referenced from gateway.yaml as `{{ env.FAKE_KEY }}`)
 * never comes back out: not in log lines, events, run and step errors, attempts, the agent's
 * journal, the usage ledger, the store's files or the HTTP API, even when the provider echoes it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import { createLogger } from '../../src/obs/logger.js';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { fakeGateway, openProject, runToEnd, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { startFakeOpenAI, type FakeReply, type FakeServer } from '../fixtures/fake-openai.js';

const KEY = 'sk-proj-PLANTEDagentKEY0123456789abcdefXYZ';
const NEEDLES = [KEY, 'PLANTEDagentKEY', `${KEY.slice(0, 8)}****${KEY.slice(-4)}`];
const ADMIN_KEY = 'admin-key-0123456789abcdef';

let fake: FakeServer | undefined;
let agentry: Agentry | undefined;
let project: TempProject | undefined;

afterEach(async () => {
  await agentry?.close();
  await fake?.close();
  project?.remove();
  agentry = fake = project = undefined;
});

/** An upstream error that quotes the key, as real providers and proxies do. */
function echoKey(status: number): FakeReply {
  return {
    status,
    body: { error: { message: `Incorrect API key provided: ${KEY}. Authorization: Bearer ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } },
  };
}

describe('provider keys in agent runs', { timeout: 60_000 }, () => {
  it('never shows the key in logs, events, errors, attempts, journal, usage, store files or API responses', async () => {
    fake = await startFakeOpenAI();
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => lines.push(line) } });
    project = writeProject({
      gateway: {
        ...fakeGateway(fake.url, { input_per_mtok: 1, output_per_mtok: 1 }, { api_key: '{{ env.FAKE_KEY }}' }),
        env: { FAKE_KEY: { secret: true, required: true } },
      },
      agents: [{ name: 'helper', model: 'fake', system: 'Be brief.', prompt: 'Say something about {{ input.topic }}.' }],
      workflows: [{ name: 'chat', steps: { say: { agent: 'helper', input: { topic: '{{ input.topic }}' } } }, output: '{{ steps.say.output }}' }],
    });
    agentry = await openProject(project, { env: { FAKE_KEY: KEY }, logger });

    // One call that succeeds, one refused with 401 (not retried), one failing with 500 (retried, then given up).
    fake.replies.push({ content: 'Hello there.' });
    const ok = await runToEnd(agentry, 'chat', { topic: 'tea' });
    fake.replies.push(echoKey(401));
    const unauthorised = await runToEnd(agentry, 'chat', { topic: 'coffee' });
    fake.respond = () => echoKey(500);
    const broken = await runToEnd(agentry, 'chat', { topic: 'water' });

    // The key was really used, and really echoed back by the provider.
    expect(fake.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of fake.requests) expect(request.auth).toBe(`Bearer ${KEY}`);
    expect(ok).toMatchObject({ status: 'succeeded', output: 'Hello there.' });
    expect(unauthorised).toMatchObject({ status: 'failed', error: { code: 'provider_error', details: { status: 401 } } });
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'provider_unavailable' } });
    // The echoed error text reached the run's error, scrubbed.
    expect(unauthorised.error?.message).toMatch(/Incorrect API key provided: \[redacted\]/);

    const seen: Array<[string, string]> = lines.map((line) => ['log line', line]);
    const app = await buildApp({
      engine: agentry.engine,
      store: agentry.store,
      logger,
      version: 'test',
      auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: `admin:${ADMIN_KEY}:admin` }),
      docs: false,
    });
    try {
      const get = async (url: string): Promise<string> => {
        const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        return `${res.statusCode} ${res.body}`;
      };
      seen.push(['GET /v1/runs', await get('/v1/runs')]);
      seen.push(['GET /v1/usage', await get('/v1/usage')]);
      for (const run of [ok, unauthorised, broken]) {
        const detail = await get(`/v1/runs/${run.id}`);
        expect(detail).toMatch(/^200 /);
        seen.push([`GET /v1/runs/${run.id}`, detail]);
        seen.push([`GET /v1/runs/${run.id}/events`, await get(`/v1/runs/${run.id}/events?limit=1000`)]);
        seen.push(['run', JSON.stringify(await agentry.store.getRun(run.id))]);
        seen.push(['events', JSON.stringify(await agentry.store.listEvents(run.id, 0, 10_000))]);
        seen.push(['steps', JSON.stringify(await agentry.store.getSteps(run.id))]);
        seen.push(['attempts', JSON.stringify(await agentry.store.listAttempts(run.id))]);
        seen.push(['journal', JSON.stringify(await agentry.store.loadJournal(run.id, 'say'))]);
        seen.push(['usage', JSON.stringify(await agentry.store.usage({ runId: run.id }))]);
      }
      // The errors as the API shows them mention what went wrong, without the key.
      expect(seen.find(([what]) => what === `GET /v1/runs/${unauthorised.id}`)?.[1]).toContain('provider_error');
    } finally {
      await app.close();
    }
    // Everything the store wrote to disk (database, WAL): the ledger's rows included.
    const storeDir = dirname(project.dbFile);
    for (const file of readdirSync(storeDir).filter((f) => f.startsWith('agentry.db'))) {
      seen.push([`file ${file}`, readFileSync(join(storeDir, file)).toString('latin1')]);
    }

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('"agent model call"'))).toBe(true);
    const leaks = seen.filter(([, text]) => NEEDLES.some((needle) => text.includes(needle))).map(([what]) => what);
    expect(leaks).toEqual([]);
  });
});
