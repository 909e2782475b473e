/** The CLI's HTTP client (`src/cli/remote.ts`) against a real server on 127.0.0.1. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteClient, remoteFromEnv } from '../../src/cli/remote.js';
import { AgentryError } from '../../src/lib/errors.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let remote: RemoteClient;

beforeEach(async () => {
  api = await startTestApi();
  remote = new RemoteClient({ url: await listen(api.app), apiKey: KEYS.operator });
});
afterEach(async () => {
  await api.close();
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof AgentryError ? error.code : `not an AgentryError: ${String(error)}`;
  }
  return 'no error';
}

describe('remote client', () => {
  it('starts a run and waits for it, with idempotency', async () => {
    const { run, replayed } = await remote.startRun('hello', { name: 'Ada' }, { waitMs: 10_000, idempotencyKey: 'remote-1' });
    expect(run).toMatchObject({ status: 'succeeded', output: { message: 'Hello, Ada!' } });
    expect(replayed).toBe(false);
    const again = await remote.startRun('hello', { name: 'Ada' }, { idempotencyKey: 'remote-1' });
    expect(again).toMatchObject({ replayed: true, run: { id: run.id } });
    expect(await codeOf(remote.startRun('hello', { name: 'Bob' }, { idempotencyKey: 'remote-1' }))).toBe('idempotency_conflict');
  });

  it('lists, gets, cancels and retries runs, and pages events', async () => {
    const nap = (await remote.startRun('nap', {})).run;
    expect((await remote.listRuns({ workflow: 'nap', status: ['queued', 'running', 'waiting'] })).items.map((r) => r.id)).toEqual([nap.id]);
    expect((await remote.getRun(nap.id)).steps.map((s) => s.id)).toEqual(['long']);
    expect((await remote.cancelRun(nap.id, 'test')).status).toBe('cancelled');
    expect(await codeOf(remote.cancelRun(nap.id))).toBe('conflict');
    expect((await remote.retryRun(nap.id)).retry_of).toBe(nap.id);
    const page = await remote.events(nap.id, 0, 2);
    expect(page.items.map((e) => e.seq)).toEqual([1, 2]);
    expect(await codeOf(remote.getRun('run_nope'))).toBe('not_found');
  });

  it("follows a run's events to its end, and resumes after a given event", async () => {
    const { run } = await remote.startRun('slow', {});
    const followed = [];
    for await (const event of remote.followEvents(run.id)) followed.push(event);
    const stored = await api.store.listEvents(run.id, 0, 1000);
    expect(followed.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(followed.at(-1)!.type).toBe('run.succeeded');
    const rest = [];
    for await (const event of remote.followEvents(run.id, { after: 5 })) rest.push(event.seq);
    expect(rest).toEqual(stored.filter((e) => e.seq > 5).map((e) => e.seq));
  });

  it('reports auth failures with their codes, and comes from AGENTRY_URL / AGENTRY_API_KEY', async () => {
    const anonymous = new RemoteClient({ url: remote.url });
    expect(await codeOf(anonymous.listRuns())).toBe('unauthorized');
    const viewer = remoteFromEnv({ AGENTRY_URL: remote.url, AGENTRY_API_KEY: KEYS.viewer })!;
    expect(await codeOf(viewer.startRun('hello', { name: 'x' }))).toBe('forbidden');
    expect(remoteFromEnv({})).toBeUndefined();
    expect(() => remoteFromEnv({ AGENTRY_URL: 'localhost:7700' })).toThrow(/http\(s\) URL/);
  });
});
