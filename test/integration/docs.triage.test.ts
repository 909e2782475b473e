/**
 * docs/operations/triage.md says, for each symptom, what Agentry answers: the HTTP status (or
 * exit status, or state), the error code and words of the message. This file reads that table
 * and reproduces every row against live servers on loopback — an API with workers, an API on
 * another (empty, "restored") store with no worker, and real `agentry serve` processes for what
 * happens at start — so the page cannot drift from what Agentry does. Every row must have a
 * reproduction here, and every reproduction a row.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, REPO, runCli, startCli, waitForOutput, type CliProcess, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { captureLogs, type CapturedLogs } from '../helpers/log-capture.js';
import { relativeLinks } from '../helpers/markdown.js';
import { writeProject } from '../helpers/pg-processes.js';
import { API_KEYS, KEYS, listen, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { tempDir } from '../helpers/store.js';
import { TASK_WORKFLOWS } from '../helpers/tasks.js';

interface Observed {
  status: string;
  code: string;
  message: string;
}

interface Row extends Observed {
  anchor: string;
  symptom: string;
}

/** The rows of the page's symptom table: `| [symptom](#anchor) | `status` | `code` | `message` |`. */
function documentedRows(): Row[] {
  const page = readFileSync(join(REPO, 'docs/operations/triage.md'), 'utf8');
  return page.split('\n').flatMap((line) => {
    const cells = line.split('|').map((c) => c.trim());
    const link = relativeLinks(cells[1] ?? '')[0];
    if (link === undefined || !link.target.startsWith('#') || cells.length < 6) return [];
    const bare = (cell: string | undefined): string => (cell ?? '').replace(/^`|`$/g, '');
    return [
      { anchor: link.target.slice(1), symptom: /\[([^\]]+)\]/.exec(cells[1]!)![1]!, status: bare(cells[2]), code: bare(cells[3]), message: bare(cells[4]) },
    ];
  });
}

let live: TestApi; // an API with workers: the deployment as it should be
let stale: TestApi; // an API on another, empty store without workers: a stale restore
let liveUrl: string;
let staleUrl: string;
let logs: CapturedLogs;
let silent: TestServer; // answers nothing: the step calling it hangs
const cleanups: Array<() => void> = [];

/**
 * The `agentry serve` processes, started side by side at once (each takes seconds to boot): one
 * whose gateway.yaml needs an unset provider key, one with a tracing variable but no exporter.
 */
let processes: { secretMissing: Promise<CliResult>; untraced: CliProcess };

beforeAll(async () => {
  const gateway = [
    'version: v1',
    'providers:',
    '  openai: { type: openai, api_key: "{{ env.OPENAI_API_KEY }}" }',
    'models:',
    '  demo: { targets: [{ provider: openai, model: gpt-4o-mini }] }',
  ].join('\n');
  processes = {
    secretMissing: runCli(['serve', projectDir(gateway), '--port', '0'], { env: SERVE_ENV }),
    untraced: startCli(['serve', projectDir(), '--port', '0'], { env: { ...SERVE_ENV, OTEL_SERVICE_NAME: 'agentry' } }),
  };
  silent = await startServer(() => new Promise<void>(() => undefined));
  logs = captureLogs();
  live = await startTestApi({
    workflows: [
      ...WORKFLOWS,
      TASK_WORKFLOWS.find((w) => w.name === 'approval')!,
      { name: 'hang', steps: { call: { http: { url: `${silent.url}/never` }, timeout: '500ms', retry: { max_attempts: 1 } } } },
    ],
    app: { logger: logs.logger },
  });
  stale = await startTestApi({ start: false });
  [liveUrl, staleUrl] = await Promise.all([listen(live.app), listen(stale.app)]);
});

afterAll(async () => {
  await killAll();
  await Promise.all([live?.close(), stale?.close()]);
  await silent?.close();
  for (const fn of cleanups) fn();
});

async function call(url: string, method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      connection: 'close',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const problem = (r: { status: number; body: Record<string, unknown> }): Observed => ({
  status: String(r.status),
  code: String(r.body.code),
  message: String(r.body.detail),
});

/** A project of one workflow, with `gateway` as its `gateway.yaml` when given. */
function projectDir(gateway?: string): string {
  const { dir, remove } = tempDir('agentry-triage-');
  cleanups.push(remove);
  const project = writeProject(dir, [{ name: 'hello', steps: { one: { transform: { ok: true } } } }]);
  if (gateway !== undefined) writeFileSync(join(project, 'gateway.yaml'), gateway);
  return project;
}

const SERVE_ENV = { AGENTRY_API_KEYS: API_KEYS, AGENTRY_LOG_LEVEL: 'info' };

const REPRODUCE: Record<string, () => Promise<Observed>> = {
  'every-call-is-401': async () => problem(await call(liveUrl, 'GET', '/v1/runs', 'wrong-key-0123456789abcdef')),

  'one-consumer-gets-403': async () => problem(await call(liveUrl, 'POST', '/v1/workflows/hello/runs', KEYS.viewer, { input: { name: 'Ada' } })),

  'runs-stay-queued': async () => {
    const started = await call(staleUrl, 'POST', '/v1/workflows/hello/runs', KEYS.service, { input: { name: 'Ada' } });
    expect(started).toMatchObject({ status: 201, body: { status: 'queued' } });
    const ready = await call(staleUrl, 'GET', '/readyz', KEYS.admin);
    const workers = (ready.body.checks as Record<string, { status: string; detail: string }>).workers!;
    expect(workers.status).toBe('fail');
    expect((await stale.store.getRun(started.body.id as string))?.status).toBe('queued');
    return { status: String(ready.status), code: String(ready.body.code), message: workers.detail };
  },

  'a-run-hangs': async () => {
    const started = await call(liveUrl, 'POST', '/v1/workflows/hang/runs', KEYS.service, {});
    const ended = await live.engine.waitForRun(started.body.id as string, { timeoutMs: 20_000 });
    const run = await call(liveUrl, 'GET', `/v1/runs/${ended.id}`, KEYS.service);
    const [step] = run.body.steps as Array<{ error: { code: string; message: string } }>;
    return { status: String(run.body.status), code: step!.error.code, message: step!.error.message };
  },

  '409-on-a-retried-run-start': async () => {
    const key = { 'idempotency-key': 'triage-order-17' };
    expect((await call(liveUrl, 'POST', '/v1/workflows/hello/runs', KEYS.service, { input: { name: 'Ada' } }, key)).status).toBe(201);
    return problem(await call(liveUrl, 'POST', '/v1/workflows/hello/runs', KEYS.service, { input: { name: 'Grace' } }, key));
  },

  'a-secret-is-missing-at-start': async () => {
    const result = await processes.secretMissing;
    const [, code, message] = /error \[(\w+)\]: (.*)/.exec(result.stderr) ?? [];
    return { status: `exit ${result.code}`, code: code ?? '-', message: message ?? result.stderr };
  },

  'log-lines-without-request_id': async () => {
    const answer = await call(liveUrl, 'GET', '/v1/runs/run_missing', KEYS.service, undefined, { 'x-request-id': 'triage-1' });
    expect(answer.body.request_id).toBe('triage-1');
    expect(logs.lines.filter((l) => l.request_id === 'triage-1').length).toBeGreaterThan(0);
    // An id a proxy sends with a space in it is replaced: the proxy's id is not in the logs.
    const replaced = await call(liveUrl, 'GET', '/v1/runs/run_missing', KEYS.service, undefined, { 'x-request-id': 'triage 2' });
    expect(replaced.body.request_id).not.toBe('triage 2');
    return problem(answer);
  },

  'traces-are-silent': async () => {
    const proc = processes.untraced;
    await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
    const warning = proc.stderr
      .split('\n')
      .filter((l) => l.includes('"component":"tracing"'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg)[0];
    const state = proc.child.exitCode === null ? 'running' : `exit ${proc.child.exitCode}`;
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
    return { status: state, code: '-', message: warning ?? '(no tracing line)' };
  },

  '409-resource-locked': async () => {
    const started = await call(liveUrl, 'POST', '/v1/workflows/approval/runs', KEYS.service, { input: { item: 'invoice 7' } });
    const task = await eventually(
      async () => (await live.store.listTasks({ limit: 50 })).items.find((t) => t.runId === started.body.id),
      20_000,
      "the run's task",
    );
    // Another process is applying a decision on it: it holds the task's lock.
    expect(await live.store.lockTask(task.id, 'another-process', Date.now() + 60_000)).toBe('acquired');
    return problem(await call(liveUrl, 'POST', `/v1/tasks/${task.id}/complete`, KEYS.reviewer, { decision: 'approve' }));
  },

  'a-stale-restore-data-missing': async () => {
    const started = await call(liveUrl, 'POST', '/v1/workflows/hello/runs', KEYS.service, { input: { name: 'Ada' } });
    const answer = await call(staleUrl, 'GET', `/v1/runs/${started.body.id as string}`, KEYS.service);
    const database = await call(staleUrl, 'GET', '/readyz', KEYS.admin);
    const detail = (database.body.checks as Record<string, { detail: string }>).database!.detail;
    expect(detail).toBe(`sqlite answers: ${stale.store.location}`);
    expect(stale.store.location).not.toBe(live.store.location);
    return problem(answer);
  },

  'every-run-start-is-503': async () => {
    expect((await call(liveUrl, 'PUT', '/v1/admin/maintenance', KEYS.admin, { quiesce: true })).status).toBe(200);
    try {
      const answer = await call(liveUrl, 'POST', '/v1/workflows/hello/runs', KEYS.service, { input: { name: 'Ada' } });
      expect(answer.headers.get('retry-after')).toBe('60');
      return problem(answer);
    } finally {
      await call(liveUrl, 'DELETE', '/v1/admin/maintenance', KEYS.admin);
    }
  },
};

describe('docs/operations/triage.md', () => {
  const rows = documentedRows();

  it('has a reproduction for every symptom it lists, and lists every symptom reproduced here', () => {
    expect(rows.map((r) => r.anchor).sort()).toEqual(Object.keys(REPRODUCE).sort());
  });

  it.each(rows)('$symptom: Agentry answers $status $code', async (row) => {
    const observed = await REPRODUCE[row.anchor]!();
    expect({ status: observed.status, code: observed.code }).toEqual({ status: row.status, code: row.code });
    expect(observed.message).toContain(row.message);
  });
});
