/**
 * `agentry runs retry [--from-step]` and `agentry runs attempts [--diff]`, with the example
 * workflow `examples/flows/workflows/rerun-demo.yaml`: locally (a worker process executes the
 * re-run) and against a server (`AGENTRY_URL`), where `--json` equals the API's answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AttemptHistoryDto, RunDetailDto, RunDto } from '../../src/cli/remote.js';
import { dbFile, exampleProject, killAll, REPO, removeDir, runCli, runCliInProcess, startCli, tempDir } from '../helpers/cli.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';

const RERUN_DEMO = readFileSync(join(REPO, 'examples/flows/workflows/rerun-demo.yaml'), 'utf8');

/** Waits (polling the store read-only) until the run has ended; returns its status. */
async function endedStatus(project: string, runId: string): Promise<string> {
  const db = new Database(dbFile(project), { readonly: true });
  try {
    for (;;) {
      const row = db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
      if (row && ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(row.status)) return row.status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    db.close();
  }
}

/** The run's step statuses, read from the store. */
function stepStatuses(project: string, runId: string): Record<string, string> {
  const db = new Database(dbFile(project), { readonly: true });
  try {
    const rows = db.prepare('SELECT step_id, status FROM steps WHERE run_id = ?').all(runId) as Array<{ step_id: string; status: string }>;
    return Object.fromEntries(rows.map((r) => [r.step_id, r.status]));
  } finally {
    db.close();
  }
}

// The first run and the worker are processes; the commands reading and retrying runs run in this process, in parallel batches.
describe('agentry runs retry and runs attempts, locally', { timeout: 240_000 }, () => {
  let project: string;
  beforeAll(() => {
    project = exampleProject({ 'workflows/rerun-demo.yaml': RERUN_DEMO });
  });
  afterEach(async () => {
    await killAll();
  });
  afterAll(() => {
    removeDir(project);
  });

  it('retries from the failed step, shows the attempts across both runs with a diff, and re-runs from a step', async () => {
    const dir = ['--dir', project];
    const first = await runCli(['run', 'rerun-demo', '--input', '{"topic":"durable execution"}', '--wait', '--json', ...dir]);
    expect(first.code).toBe(1);
    const failed = JSON.parse(first.stdout) as RunDetailDto;
    expect(failed).toMatchObject({ status: 'failed', retry_of: null, error: { code: 'output_invalid' } });

    const [retried, unknownStep, badDiff] = await Promise.all([
      runCliInProcess(['runs', 'retry', failed.id, '--json', ...dir]),
      runCliInProcess(['runs', 'retry', failed.id, '--from-step', 'drft', ...dir]),
      runCliInProcess(['runs', 'attempts', failed.id, 'publish', '--diff', '1', ...dir]),
    ]);
    expect(unknownStep.code).toBe(2);
    expect(unknownStep.stderr).toContain("error [invalid_request]: workflow 'rerun-demo' has no step 'drft' (did you mean 'draft'?)");
    expect(badDiff.code).toBe(2);
    expect(badDiff.stderr).toContain("option '--diff <a,b>' argument '1' is invalid");
    expect(retried.code).toBe(0);
    const second = JSON.parse(retried.stdout) as RunDto & { retry_of: string };
    expect(second).toMatchObject({ retry_of: failed.id, status: 'queued', input: { topic: 'durable execution' } });

    // A worker with the channel set executes the re-run: research and draft are reused.
    startCli(['start', 'worker', ...dir], { env: { PUBLISH_CHANNEL: 'engineering' } });
    expect(await endedStatus(project, second.id)).toBe('succeeded');
    await killAll();

    const [detail, shown, json, human, outOfRange, again, succeededRetry] = await Promise.all([
      runCliInProcess(['runs', 'get', second.id, '--json', ...dir]),
      runCliInProcess(['runs', 'get', second.id, ...dir]),
      runCliInProcess(['runs', 'attempts', second.id, 'publish', '--diff', '1,2', '--json', ...dir]),
      runCliInProcess(['runs', 'attempts', second.id, 'publish', '--diff', '1,2', ...dir]),
      runCliInProcess(['runs', 'attempts', second.id, 'publish', '--diff', '1,3', ...dir]),
      runCliInProcess(['runs', 'retry', second.id, '--from-step', 'draft', '--json', ...dir]),
      runCliInProcess(['runs', 'retry', second.id, ...dir]),
    ]);
    const run = JSON.parse(detail.stdout) as RunDetailDto;
    expect(run).toMatchObject({ status: 'succeeded', retry_of: failed.id, parent: null, children: [] });
    expect(run.steps.map((s) => [s.id, s.attempt])).toEqual([
      ['research', 0],
      ['draft', 0],
      ['publish', 1],
      ['notify', 1],
    ]);
    expect((run.output as { note: { drafted_in: string } }).note.drafted_in).toBe(failed.id);
    expect(shown.stdout).toContain(`re-runs ${failed.id}`);
    expect(shown.stdout).toMatch(/research\s+transform\s+✓ succeeded\s+reused/);
    expect(shown.stdout).toMatch(/publish\s+transform\s+✓ succeeded\s+1\s/);

    const history = JSON.parse(json.stdout) as AttemptHistoryDto;
    expect(history.items.map((a) => [a.run_id, a.attempt, a.status])).toEqual([
      [failed.id, 1, 'failed'],
      [second.id, 1, 'succeeded'],
    ]);
    expect(history.diff?.input).toEqual([{ path: '/channel', before: '', after: 'engineering' }]);
    expect(history.diff?.output).toEqual([{ path: '', before: null, after: { channel: 'engineering', title: 'Notes on durable execution' } }]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/#\s+RUN\s+ATTEMPT\s+STATUS/);
    expect(human.stdout).toMatch(new RegExp(`1\\s+${failed.id}\\s+1\\s+✗ failed`));
    expect(human.stdout).toContain('~ /channel  "" → "engineering"');
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toContain('error [invalid_request]: diff=1,3: positions must be from 1 to 2');

    // Re-run from a step of the succeeded run (no worker now: it stays queued); plain retry is refused.
    expect(succeededRetry.code).toBe(2);
    expect(succeededRetry.stderr).toContain('error [conflict]');
    const third = JSON.parse(again.stdout) as RunDto & { retry_of: string };
    expect(third.retry_of).toBe(second.id);
    expect(stepStatuses(project, third.id)).toEqual({ research: 'succeeded', draft: 'queued', publish: 'pending', notify: 'pending' });
  });
});

describe('agentry runs retry and runs attempts with AGENTRY_URL', { timeout: 240_000 }, () => {
  let api: TestApi;
  let base: string;
  let cwd: string;
  beforeAll(async () => {
    // The API in this process; PUBLISH_CHANNEL is unset there, so publish always fails.
    const spec = parseYaml(RERUN_DEMO) as Record<string, unknown>;
    api = await startTestApi({ workflows: [spec] });
    base = await listen(api.app);
    cwd = tempDir();
  });
  afterAll(async () => {
    await killAll();
    await api.close();
    removeDir(cwd);
  });

  const remoteCli = (args: string[]) => runCli(args, { cwd, env: { AGENTRY_URL: base, AGENTRY_API_KEY: KEYS.operator } });

  it('re-runs from a step on the server and prints the attempts exactly as the API returns them', async () => {
    const first = await api.engine.waitForRun((await api.engine.startRun('rerun-demo', { topic: 'queues' })).id, { timeoutMs: 10_000 });
    expect(first.status).toBe('failed');
    const retried = await remoteCli(['runs', 'retry', first.id, '--from-step', 'draft', '--json']);
    expect(retried.code).toBe(0);
    const second = JSON.parse(retried.stdout) as RunDto & { retry_of: string };
    expect(second).toMatchObject({ retry_of: first.id, workflow: 'rerun-demo' });
    await api.engine.waitForRun(second.id, { timeoutMs: 10_000 });

    const [json, human] = await Promise.all([
      remoteCli(['runs', 'attempts', second.id, 'draft', '--diff', '1,2', '--json']),
      remoteCli(['runs', 'attempts', second.id, 'draft', '--diff', '1,2']),
    ]);
    const fromApi = await api.app.inject({ url: `/v1/runs/${second.id}/steps/draft/attempts?diff=1,2`, headers: api.auth('viewer') });
    expect(JSON.parse(json.stdout)).toEqual(fromApi.json());
    const history = fromApi.json<AttemptHistoryDto>();
    expect(history.items.map((a) => a.run_id)).toEqual([first.id, second.id]);
    // draft ran again in the re-run: its output names the run that wrote it.
    expect(history.diff?.output).toEqual([{ path: '/drafted_in', before: first.id, after: second.id }]);
    expect(human.stdout).toContain(`~ /drafted_in  "${first.id}" → "${second.id}"`);

    const unknown = await remoteCli(['runs', 'attempts', second.id, 'drafts']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error [not_found]: run');
  });
});
