/**
 * `agentry events list`: events across runs on the project's store (table and `--json`, filtered
 * by workflow, type and time), bad `--since` refused before anything is read, and with
 * `AGENTRY_URL` the server's `GET /v1/events` printed as it answers.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowEventPageDto } from '../../src/app/dto/events.js';
import { exampleProject, killAll, removeDir, runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';

let project: string;
const started: Record<string, string> = {};

beforeAll(async () => {
  project = exampleProject();
  // Two runs of two workflows, created in the store (no worker runs them here).
  for (const workflow of ['hello', 'welcome']) {
    const run = await runCliInProcess(['run', workflow, '--input', '{"name":"Ada"}', '--json', '--dir', project]);
    expect(run.code, run.stderr).toBe(0);
    started[workflow] = (JSON.parse(run.stdout) as { id: string }).id;
  }
}, 60_000);
afterAll(() => {
  removeDir(project);
});

describe('agentry events list (local)', { timeout: 60_000 }, () => {
  it("prints a workflow's events with their run, as JSON and as a table", async () => {
    const json = await runCliInProcess(['events', 'list', '--workflow', 'welcome', '--type', 'run.*', '--since', '1h', '--json', '--dir', project]);
    expect(json.code, json.stderr).toBe(0);
    const page = JSON.parse(json.stdout) as WorkflowEventPageDto;
    expect(page.next_cursor).toBeNull();
    expect(page.items.map((e) => [e.run_id, e.workflow, e.type])).toEqual([[started.welcome, 'welcome', 'run.created']]);

    const text = await runCliInProcess(['events', 'list', '--limit', '1', '--dir', project]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/AT\s+RUN\s+WORKFLOW\s+SEQ\s+TYPE\s+STEP/);
    expect(text.stdout).toContain(`${started.hello}  hello`);
    expect(text.stdout).not.toContain(started.welcome);
    expect(text.stdout).toMatch(/more: .*--cursor \S+/);

    const none = await runCliInProcess(['events', 'list', '--until', '2000-01-01T00:00:00Z', '--json', '--dir', project]);
    expect(JSON.parse(none.stdout)).toEqual({ items: [], next_cursor: null });
  });

  it('refuses a --since that is neither a duration nor an RFC 3339 time, and a type that is none', async () => {
    const since = await runCliInProcess(['events', 'list', '--since', 'yesterday', '--dir', project]);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("option '--since <when>' argument 'yesterday' is invalid");
    const type = await runCliInProcess(['events', 'list', '--type', 'run.exploded', '--dir', project]);
    expect(type.code).not.toBe(0);
    expect(type.stderr).toContain("type: 'run.exploded' is no event type");
  });
});

describe('agentry events list (AGENTRY_URL)', { timeout: 60_000 }, () => {
  let api: TestApi;
  let url: string;

  beforeAll(async () => {
    api = await startTestApi();
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await api.engine.startRun('nap', {}, { createdBy: 'operator' });
  });
  afterAll(async () => {
    await killAll();
    await api.close();
  });

  it('prints what GET /v1/events answers', async () => {
    // A child process: the client's connection closes with it.
    const listed = await runCli(['events', 'list', '--workflow', 'nap', '--type', 'run.created', '--json'], {
      env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer },
    });
    expect(listed.code, listed.stderr).toBe(0);
    const fromApi = await api.app.inject({ url: '/v1/events?workflow=nap&type=run.created', headers: api.auth('viewer') });
    expect(JSON.parse(listed.stdout)).toEqual(fromApi.json());
    expect(fromApi.json<WorkflowEventPageDto>().items).toHaveLength(1);
  });
});
