/**
 * `agentry tasks …` and `agentry signal` as a person runs them: locally on a project's store
 * while `agentry run --wait` executes the run in another process, and against a server
 * (`AGENTRY_URL`) whose keys decide what the caller may do. Bad input exits 2 and changes
 * nothing. CLI children are started in parallel batches to keep this quick.
 */
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalReceiptDto, TaskDto, TaskPageDto } from '../../src/cli/tasks-api.js';
import type { RunDetailDto } from '../../src/cli/remote.js';
import { dbFile, exampleProject, killAll, removeDir, runCli, runCliInProcess, startCli, storeFingerprint, type CliResult } from '../helpers/cli.js';
import { KEYS, listen } from '../helpers/server.js';
import { sqliteFactory } from '../helpers/store.js';
import { openTask } from '../helpers/engine.js';
import { startTaskApi, stepWaiting, type TaskApi } from '../helpers/tasks.js';

const APPROVAL = `name: approval
input:
  schema: { type: object, properties: { item: { type: string } } }
steps:
  approve:
    human:
      title: "Approve {{ input.item }}"
      instructions: Check the order.
      role: reviewer
      form: { schema: { type: object, required: [reason], properties: { reason: { type: string } } } }
output: "{{ steps.approve.output }}"
`;
const GATE = `name: gate
steps:
  go: { wait: { signal: go } }
  done: { needs: [go], wait: { signal: done } }
output: { go: "{{ steps.go.output }}", done: "{{ steps.done.output }}" }
`;

let project: string;

beforeAll(() => {
  project = exampleProject({ 'workflows/approval.yaml': APPROVAL, 'workflows/gate.yaml': GATE });
});
afterEach(killAll);
afterAll(async () => {
  await killAll();
  removeDir(project);
});

/** Reads the project's store (read-only) until `query` returns a row. */
async function rowOf<T>(query: string, ...params: unknown[]): Promise<T> {
  // Generous: the CLI process that creates the row may take a while to start on a busy machine.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const db = new Database(dbFile(project), { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare(query).get(...params) as T | undefined;
        if (row !== undefined) return row;
      } finally {
        db.close();
      }
    } catch {
      // The store (or its tables) is not there yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no row for ${query}`);
}

/** Commands on the local store run in this process; the run they act on executes in a real `run --wait` process. */
const local = (args: string[]): Promise<CliResult> => runCliInProcess([...args, '--dir', project], { env: { USER: 'tester' } });

function expectExit2(result: CliResult, message: RegExp): void {
  expect(result.stderr, `stdout: ${result.stdout}`).toMatch(message);
  expect(result.code).toBe(2);
}

describe('locally, on the project store', { timeout: 300_000 }, () => {
  it('lists, shows and submits a task while `run --wait` executes its run; bad input exits 2 and changes nothing', async () => {
    const running = startCli(['run', 'approval', '--input', '{"item":"order 42"}', '--wait', '--json', '--dir', project], { env: { USER: 'tester' } });
    const { id: taskId } = await rowOf<{ id: string }>("SELECT id FROM tasks WHERE status = 'open' AND workflow = 'approval'");

    const [list, listJson, show, showJson] = await Promise.all([
      local(['tasks', 'list']),
      local(['tasks', 'list', '--json', '--role', 'reviewer']),
      local(['tasks', 'show', taskId]),
      local(['tasks', 'show', taskId, '--json']),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${taskId}\\s+◷ open\\s+approval\\s+run_\\w+\\s+approve\\s+reviewer`));
    expect(list.stdout).toContain('Approve order 42');
    const page = JSON.parse(listJson.stdout) as TaskPageDto;
    expect(page.next_cursor).toBeNull();
    expect(page.items.map((t) => t.id)).toEqual([taskId]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('Approve order 42');
    expect(show.stdout).toContain('role reviewer (admin and operator always may)');
    expect(show.stdout).toContain('Check the order.');
    expect(show.stdout).toContain(`tasks submit ${taskId} --data '<json>' --dir ${project}`);
    const shown = JSON.parse(showJson.stdout) as TaskDto;
    expect(shown).toEqual(page.items[0]);
    expect(shown).toMatchObject({ status: 'open', title: 'Approve order 42', role: 'reviewer', form_schema: { required: ['reason'] } });

    const before = { store: storeFingerprint(dbFile(project)), task: shown };
    const bad = await Promise.all([
      local(['tasks', 'submit', taskId, '--data', '{"reason":5}']),
      local(['tasks', 'submit', taskId]),
      local(['tasks', 'submit', taskId, '--data', '{reason:']),
      local(['tasks', 'submit', taskId, '--data', '{}', '--data-file', 'x.json']),
      local(['tasks', 'submit', taskId, '--data-file', 'no-such-file.json']),
      local(['tasks', 'approve', 'tsk_nope']),
      local(['tasks', 'approve', taskId, '--comment', 'x'.repeat(4001)]),
      local(['tasks', 'list', '--status', 'open,done']),
    ]);
    const messages = [
      /error \[invalid_request\]: form data does not match its schema: \/reason must be string/,
      /error \[invalid_request\]: submit needs the form data: --data '<json>' or --data-file <file>/,
      /option '--data <json>' argument '\{reason:' is invalid\. is not valid JSON/,
      /option '--data <json>' cannot be used with option '--data-file <file>'/,
      /error \[invalid_request\]: data file no-such-file.json does not exist/,
      /error \[not_found\]: task tsk_nope not found/,
      /option '--comment <text>' argument '.*' is invalid\. must be at most 4000 characters/,
      /unknown status 'done'/,
    ];
    bad.forEach((result, i) => expectExit2(result, messages[i]!));
    expect(storeFingerprint(dbFile(project))).toEqual(before.store);
    expect(JSON.parse((await local(['tasks', 'show', taskId, '--json'])).stdout)).toEqual(before.task);

    const submitted = await local(['tasks', 'submit', taskId, '--data', '{"reason":"checked"}', '--comment', 'fine', '--json']);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(JSON.parse(submitted.stdout)).toMatchObject({
      id: taskId,
      status: 'completed',
      decision: 'submit',
      response: { reason: 'checked' },
      comment: 'fine',
      decided_by: 'tester',
    });

    const done = await running.done;
    expect(done.code, done.stderr).toBe(0);
    const run = JSON.parse(done.stdout) as RunDetailDto;
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ decision: 'submit', data: { reason: 'checked' }, comment: 'fine', by: 'tester' });

    const again = await local(['tasks', 'approve', taskId]);
    expectExit2(again, new RegExp(`error \\[conflict\\]: task ${taskId} is completed`));
    const all = await local(['tasks', 'list', '--status', 'all']);
    expect(all.stdout).toMatch(new RegExp(`${taskId}\\s+✓ completed\\s+.*submit`));
  });

  it('approves a task in human terms, and sends a signal that resumes a waiting run with its payload', async () => {
    const approval = startCli(['run', 'approval', '--input', '{"item":"order 7"}', '--wait', '--json', '--dir', project], { env: { USER: 'tester' } });
    const gate = startCli(['run', 'gate', '--wait', '--json', '--dir', project]);
    const [{ id: taskId }, { run_id: runId }] = await Promise.all([
      rowOf<{ id: string }>("SELECT id FROM tasks WHERE status = 'open' AND title = 'Approve order 7'"),
      rowOf<{ run_id: string }>(
        "SELECT s.run_id FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.workflow = 'gate' AND s.step_id = 'go' AND s.status = 'waiting'",
      ),
    ]);
    const [approved, badName, nobody] = await Promise.all([
      local(['tasks', 'approve', taskId, '--comment', 'ship it']),
      local(['signal', runId, 'no spaces']),
      local(['signal', runId, 'nobody']),
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`✓ Task ${taskId} approved by tester`);
    expect(approved.stdout).toContain('A worker continues the run');
    expectExit2(badName, /value 'no spaces' is invalid for argument 'name'\. must be 1–64 letters, digits or _\.-/);
    expectExit2(nobody, /error \[invalid_request\]/);

    const sent = await local(['signal', runId, 'go', '--data', '{"ok":true}']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(`Signal 'go' sent to run ${runId}`);
    // While the run waits for `done`: the same signal again changes nothing, another payload is a conflict.
    const [duplicate, conflict] = await Promise.all([
      local(['signal', runId, 'go', '--data', '{"ok":true}', '--json']),
      local(['signal', runId, 'go', '--data', '{"ok":false}']),
    ]);
    expect(duplicate.code, duplicate.stderr).toBe(0);
    expect(JSON.parse(duplicate.stdout)).toMatchObject({ run_id: runId, name: 'go', duplicate: true });
    expectExit2(conflict, /error \[conflict\]: signal 'go' was already sent/);
    const last = await local(['signal', runId, 'done']);
    expect(last.code, last.stderr).toBe(0);

    const [approvalDone, gateDone] = await Promise.all([approval.done, gate.done]);
    expect(approvalDone.code, approvalDone.stderr).toBe(0);
    expect((JSON.parse(approvalDone.stdout) as RunDetailDto).output).toMatchObject({ decision: 'approve', comment: 'ship it', by: 'tester' });
    expect(gateDone.code, gateDone.stderr).toBe(0);
    expect((JSON.parse(gateDone.stdout) as RunDetailDto).output).toEqual({ go: { ok: true }, done: null });
  });
});

describe('against a server (AGENTRY_URL)', { timeout: 180_000 }, () => {
  let api: TaskApi;
  let base: string;

  beforeAll(async () => {
    api = await startTaskApi(sqliteFactory);
    base = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
  });

  const remote = (args: string[], key: string): Promise<CliResult> => runCli(args, { cwd: project, env: { AGENTRY_URL: base, AGENTRY_API_KEY: key } });

  it('decides as the key: a viewer gets forbidden (exit 2), a reviewer approves; --json equals the API', async () => {
    const run = await api.engine.startRun('approval', { item: 'remote' });
    const { id: taskId } = await openTask(api.store, run.id);
    const [listed, shown, denied] = await Promise.all([
      remote(['tasks', 'list', '--json', '--run', run.id], KEYS.viewer),
      remote(['tasks', 'show', taskId, '--json'], KEYS.viewer),
      remote(['tasks', 'approve', taskId], KEYS.viewer),
    ]);
    const fromApi = (
      await api.app.inject({ url: `/v1/tasks?status=open&run_id=${run.id}&limit=50`, headers: { authorization: `Bearer ${KEYS.viewer}` } })
    ).json<TaskPageDto>();
    expect(JSON.parse(listed.stdout)).toEqual(fromApi);
    expect(JSON.parse(shown.stdout)).toEqual(fromApi.items[0]);
    expectExit2(denied, /error \[forbidden\]: missing required scope: tasks:write/);
    expect((await api.engine.getTask(taskId)).status).toBe('open');

    const approved = await remote(['tasks', 'approve', taskId, '--json'], KEYS.reviewer);
    expect(approved.code, approved.stderr).toBe(0);
    const task = JSON.parse(approved.stdout) as TaskDto;
    expect(task).toMatchObject({ status: 'completed', decision: 'approve', decided_by: 'reviewer' });
    expect(task).toEqual((await api.app.inject({ url: `/v1/tasks/${taskId}`, headers: { authorization: `Bearer ${KEYS.viewer}` } })).json());
    expect((await api.engine.waitForRun(run.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
  });

  it('sends a signal through the API: 202 receipt, then duplicate; another payload exits 2 with conflict', async () => {
    const run = await api.engine.startRun('gate', {});
    await stepWaiting(api.engine, run.id, 'go');
    const sent = await remote(['signal', run.id, 'go', '--data', '[1,2]', '--json'], KEYS.operator);
    expect(sent.code, sent.stderr).toBe(0);
    const receipt = JSON.parse(sent.stdout) as SignalReceiptDto;
    expect(receipt).toMatchObject({ run_id: run.id, name: 'go', duplicate: false });
    const [duplicate, conflict] = await Promise.all([
      remote(['signal', run.id, 'go', '--data', '[1,2]'], KEYS.operator),
      remote(['signal', run.id, 'go', '--data', '[3]'], KEYS.operator),
    ]);
    expect(duplicate.code, duplicate.stderr).toBe(0);
    expect(duplicate.stdout).toContain('nothing changed');
    expectExit2(conflict, /error \[conflict\]/);
    const done = await remote(['signal', run.id, 'done'], KEYS.operator);
    expect(done.code, done.stderr).toBe(0);
    expect((await api.engine.waitForRun(run.id, { timeoutMs: 10_000 })).output).toEqual({ go: [1, 2], done: null });
  });
});
