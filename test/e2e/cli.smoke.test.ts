/**
 * `agentry smoke` against real `agentry serve` child processes on fresh SQLite stores, over
 * loopback HTTP: one with bootstrap keys of every role, one with auth off. Every check passes
 * with an admin key and viewer and reviewer keys (by flags; by variables with --json, an
 * operator key skipping only the audit), and no key is ever printed; a server with auth off
 * fails --expect-auth, a "viewer" key that can write fails viewer-write, an unknown reviewer key
 * fails the human check; --env-file validates the deployment's env file and takes the keys
 * from it, and a bad value fails the config line naming the variable; bad input exits 2.
 * The servers and one smoke run as the real binary; the other smokes run in this process
 * (`runCliInProcess`): what they print and their exit code is what is checked.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDto } from '../../src/cli/remote.js';
import { CHECK_NAMES, type SmokeReport } from '../../src/cli/smoke.js';
import { killAll, removeDir, runCli, runCliInProcess, startCli, tempDir, waitForOutput, type CliProcess, type CliResult } from '../helpers/cli.js';
import { freePort } from '../helpers/pg-processes.js';

/** Keys long and random enough for production's checks (the env-file gate validates them). */
const key = (): string => randomBytes(20).toString('hex');
const KEY = { admin: key(), operator: key(), viewer: key(), reviewer: key(), writer: key(), elsewhere: key() };
const API_KEYS = [
  `root:${KEY.admin}:admin`,
  `ops:${KEY.operator}:operator`,
  `watch:${KEY.viewer}:viewer`,
  `rev:${KEY.reviewer}:reviewer`,
  // Meant as read-only, but granted operator: viewer-write must catch it.
  `watch-ops:${KEY.writer}:operator`,
  // A reviewer of another tenant: it cannot see the smoke's task.
  `rev-acme:${KEY.elsewhere}:reviewer,tenant:acme`,
].join(';');

let dir: string;
let project: string;
let server: CliProcess;
let open: CliProcess;
let base: string;
let openBase: string;

async function serve(name: string, env: Record<string, string>): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['serve', project, '--port', '0'], {
    env: { AGENTRY_DATABASE_URL: `sqlite:${dir}/${name}.db`, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'warn', ...env },
  });
  await waitForOutput(proc, (_stderr, stdout) => stdout.includes('curl '));
  return { proc, url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]! };
}

beforeAll(async () => {
  dir = tempDir('agentry-smoke-');
  project = join(dir, 'project');
  mkdirSync(join(project, 'workflows'), { recursive: true });
  writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: smoke-e2e\negress: { allow: [], deny: [] }\n');
  writeFileSync(join(project, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a: { transform: { n: 1 } }\n');
  const [keyed, authOff] = await Promise.all([serve('keyed', { AGENTRY_API_KEYS: API_KEYS }), serve('open', { AGENTRY_AUTH: 'off' })]);
  ({ proc: server, url: base } = keyed);
  ({ proc: open, url: openBase } = authOff);
}, 30_000);

afterAll(async () => {
  for (const proc of [server, open]) proc.child.kill('SIGTERM');
  const ended = await Promise.all([server.done, open.done]);
  await killAll();
  removeDir(dir);
  // Both stop on SIGTERM, although each validated specs (once, an idle validation worker kept a server running).
  expect(ended.map((result) => result.code)).toEqual([0, 0]);
});

/** The line of check `name` in the human output. */
function lineOf(stdout: string, name: string): string {
  return stdout.split('\n').find((line) => new RegExp(`^[A-Z]{4}  ${name} `).test(line)) ?? `(no line for ${name})`;
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY.admin}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

function expectNoKey(...results: CliResult[]): void {
  for (const result of results) for (const value of Object.values(KEY)) expect(result.stdout + result.stderr).not.toContain(value);
}

describe('agentry smoke', { timeout: 30_000 }, () => {
  it('passes every check with admin, viewer and reviewer keys, the human task decided by the reviewer key, and prints no key', async () => {
    const [flags, json] = await Promise.all([
      runCli(['smoke', '--url', base, '--key', KEY.admin, '--viewer-key', KEY.viewer, '--reviewer-key', KEY.reviewer, '--expect-auth'], { cwd: dir }),
      runCliInProcess(['smoke', '--json', '--timeout', '45s'], {
        cwd: dir,
        concurrent: true,
        env: { AGENTRY_URL: base, AGENTRY_API_KEY: KEY.operator, AGENTRY_SMOKE_VIEWER_KEY: KEY.viewer, AGENTRY_SMOKE_REVIEWER_KEY: KEY.reviewer },
      }),
    ]);

    expect(flags.code, flags.stdout + flags.stderr).toBe(0);
    for (const name of CHECK_NAMES) expect(lineOf(flags.stdout, name)).toMatch(/^PASS {2}/);
    expect(lineOf(flags.stdout, 'specs')).toMatch(/an invalid one answers workflows\/agentry-smoke-invalid\.yaml:4: /);
    expect(lineOf(flags.stdout, 'run')).toMatch(/run_\w+ succeeded: transform, durable 1 s sleep, signal 'proceed'; outputs as expected \(\d+ ms\)$/);
    expect(lineOf(flags.stdout, 'checkpoints')).toContain('(attempts: compute 1, pause 1, proceed 1)');
    expect(lineOf(flags.stdout, 'human')).toMatch(/resumed: task \S+ \(role reviewer\) decided by the --reviewer-key \(rev\)/);
    expect(lineOf(flags.stdout, 'viewer-write')).toMatch(/the --viewer-key \(watch; viewer\) reads run run_\w+; starting a run answers 403 forbidden/);
    expect(lineOf(flags.stdout, 'audit')).toContain('run.start by root, run.signal by root, run.cancel by root, task.decide by rev');
    expect(lineOf(flags.stdout, 'credentials')).toMatch(/credentials? listed by name, no value among them; every one resolves/);
    expect(lineOf(flags.stdout, 'metrics')).toContain('agentry_runs_started_total{workflow="agentry-smoke-review"} +');
    expect(flags.stdout.trim().split('\n').at(-1)).toMatch(/^OK: 14 passed in /);

    expect(json.code, json.stdout + json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as SmokeReport;
    expect(report).toMatchObject({ url: base, ok: true, summary: { pass: 13, warn: 0, skip: 1, fail: 0 } });
    const statuses = Object.fromEntries(report.checks.map((check) => [check.name, check.status]));
    expect(statuses).toEqual({ ...Object.fromEntries(CHECK_NAMES.map((name) => [name, 'pass'])), audit: 'skip' });
    expectNoKey(flags, json);

    // Each smoke: a run succeeded, one cancelled; a review run whose task the reviewer key decided.
    const runs = await api<{ items: RunDto[] }>('/v1/runs?workflow=agentry-smoke');
    expect(runs.items.map((run) => run.status).sort()).toEqual(['cancelled', 'cancelled', 'succeeded', 'succeeded']);
    const tasks = await api<{ items: Array<{ status: string; decided_by: string; role: string }> }>('/v1/tasks?workflow=agentry-smoke-review');
    expect(tasks.items.map((task) => [task.status, task.role, task.decided_by])).toEqual([
      ['completed', 'reviewer', 'rev'],
      ['completed', 'reviewer', 'rev'],
    ]);
    const workflows = await api<{ items: Array<{ name: string; builtin: boolean }> }>('/v1/workflows');
    expect(workflows.items.map((wf) => [wf.name, wf.builtin])).toEqual([
      ['agentry-smoke', true],
      ['agentry-smoke-review', true],
      ['hello', false],
    ]);
  });

  it('fails naming the check: auth off with --expect-auth, a viewer key that can write, an unknown reviewer key, one of another tenant', async () => {
    const [authOff, writer, reviewer, elsewhere] = await Promise.all([
      runCliInProcess(['smoke', '--url', openBase, '--expect-auth'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--key', KEY.operator, '--viewer-key', KEY.writer], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--key', KEY.operator], {
        cwd: dir,
        concurrent: true,
        env: { AGENTRY_SMOKE_REVIEWER_KEY: `revoked-${KEY.reviewer}` },
      }),
      runCliInProcess(['smoke', '--url', base, '--key', KEY.operator, '--reviewer-key', KEY.elsewhere], { cwd: dir, concurrent: true }),
    ]);

    expect(authOff.code, authOff.stdout + authOff.stderr).toBe(1);
    expect(lineOf(authOff.stdout, 'auth-refuses')).toMatch(/^FAIL {2}auth-refuses +auth is OFF on this server .*; --expect-auth wants keys checked/);
    expect(lineOf(authOff.stdout, 'run')).toMatch(/^PASS {2}/);

    expect(writer.code, writer.stdout + writer.stderr).toBe(1);
    expect(lineOf(writer.stdout, 'viewer-write')).toMatch(
      /^FAIL {2}viewer-write +the --viewer-key \(watch-ops; operator\) started run (run_\w+) \(cancelled since\): a read-only key must be refused with 403 forbidden/,
    );
    const started = /started run (run_\w+)/.exec(writer.stdout)![1]!;
    expect((await api<RunDto>(`/v1/runs/${started}`)).status).toBe('cancelled');
    for (const name of ['livez', 'run', 'checkpoints', 'cancel', 'human', 'credentials', 'metrics']) expect(lineOf(writer.stdout, name)).toMatch(/^PASS {2}/);
    expect(writer.stdout.trim().split('\n').at(-1)).toMatch(/^FAILED: 1 of 14 checks failed/);

    expect(reviewer.code, reviewer.stdout + reviewer.stderr).toBe(2);
    expect(lineOf(reviewer.stdout, 'human')).toMatch(/^FAIL {2}human +the --reviewer-key: 401 unauthorized: /);
    expect(lineOf(reviewer.stdout, 'viewer-write')).toMatch(/^SKIP {2}viewer-write +no --viewer-key given/);

    expect(elsewhere.code, elsewhere.stdout + elsewhere.stderr).toBe(1);
    expect(lineOf(elsewhere.stdout, 'human')).toMatch(
      /^FAIL {2}human +run (run_\w+) waits on its task, but the --reviewer-key \(rev-acme\) does not see it in GET \/v1\/tasks \(a key of another tenant\?\)/,
    );
    // The run it left waiting was cancelled before the command ended.
    const waiting = /run (run_\w+) waits/.exec(elsewhere.stdout)![1]!;
    expect((await api<RunDto>(`/v1/runs/${waiting}`)).status).toBe('cancelled');
    expectNoKey(authOff, writer, reviewer, elsewhere);
  });

  it('--env-file: validates the env file as production, takes the keys from its AGENTRY_API_KEYS, and fails the config line on a bad value', async () => {
    const lines = ['# staging', 'AGENTRY_ENV=production', `AGENTRY_PROJECT_DIR=${project}`, `AGENTRY_DATABASE_URL=sqlite:${dir}/gate.db`];
    writeFileSync(join(dir, 'keys'), `${API_KEYS}\n`);
    writeFileSync(join(dir, 'good.env'), [...lines, `AGENTRY_API_KEYS_FILE=${join(dir, 'keys')}`, ''].join('\n'));
    writeFileSync(join(dir, 'bad.env'), [...lines, `AGENTRY_API_KEYS="${API_KEYS}"`, 'AGENTRY_PORT=seventy', ''].join('\n'));
    const [good, bad] = await Promise.all([
      runCliInProcess(['smoke', '--env-file', 'good.env', '--url', base, '--expect-auth'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--env-file', 'bad.env', '--url', base, '--json'], { cwd: dir, concurrent: true }),
    ]);

    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(lineOf(good.stdout, 'config')).toMatch(
      /^WARN {2}config +good\.env \(production, project \S+\) would start; 1 warning: specs are not required to come from a signed bundle.*; keys from AGENTRY_API_KEYS: the checks root \(admin\), viewer-write watch \(viewer\), human rev \(reviewer\)/,
    );
    for (const name of CHECK_NAMES) expect(lineOf(good.stdout, name)).toMatch(/^PASS {2}/);

    expect(bad.code, bad.stdout + bad.stderr).toBe(2);
    const report = JSON.parse(bad.stdout) as SmokeReport;
    expect(report.checks[0]).toMatchObject({ name: 'config', status: 'fail', code: 'invalid_request' });
    expect(report.checks[0]!.detail).toMatch(
      /^bad\.env \(production, project \S+\): 1 error serve would refuse to start with: AGENTRY_PORT: must be a whole number, got 'seventy'/,
    );
    // The smoke still ran, with the keys of the file.
    expect(report.checks.slice(1).map((check) => check.status)).toEqual(CHECK_NAMES.map(() => 'pass'));
    expectNoKey(good, bad);
  });

  it('fails with a reason on every line when nothing listens, and the run checks with 403 for a read-only key', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const [down, viewer] = await Promise.all([
      runCliInProcess(['smoke', '--url', nowhere, '--key', KEY.operator, '--timeout', '10s'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--key', KEY.viewer], { cwd: dir, concurrent: true }),
    ]);

    expect(down.code, down.stdout + down.stderr).toBe(1);
    for (const name of ['livez', 'readyz', 'auth-refuses', 'auth-accepts', 'openapi', 'run', 'cancel']) {
      expect(lineOf(down.stdout, name)).toMatch(
        new RegExp(`^FAIL  ${name} +not_ready: cannot reach the Agentry server at ${nowhere}: ECONNREFUSED \\(\\d+ ms\\)$`),
      );
    }

    expect(viewer.code, viewer.stdout + viewer.stderr).toBe(2);
    for (const name of ['livez', 'readyz', 'auth-refuses', 'auth-accepts', 'openapi', 'specs']) expect(lineOf(viewer.stdout, name)).toMatch(/^PASS {2}/);
    expect(lineOf(viewer.stdout, 'auth-accepts')).toContain('signs in as watch');
    for (const name of ['run', 'cancel']) expect(lineOf(viewer.stdout, name)).toMatch(/^FAIL {2}\S+ +403 forbidden: missing required scope: runs:write/);
    expect(lineOf(viewer.stdout, 'human')).toMatch(/^SKIP {2}human +the key lacks tasks:read\/tasks:write/);
    expect(lineOf(viewer.stdout, 'metrics')).toMatch(/^SKIP {2}metrics +no smoke run was started/);
  });

  it('refuses bad input before reaching any server: exit 2 with the reason', async () => {
    const [url, timeout, none, ca, dirAlone, envFile] = await Promise.all([
      runCliInProcess(['smoke', '--url', 'not-a-url'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--timeout', 'nonsense'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke'], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--ca', join(dir, 'missing.pem')], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--dir', project], { cwd: dir, concurrent: true }),
      runCliInProcess(['smoke', '--url', base, '--env-file', 'missing.env'], { cwd: dir, concurrent: true }),
    ]);
    const all = [url, timeout, none, ca, dirAlone];
    expect(all.map((result) => result.code)).toEqual([2, 2, 2, 2, 2]);
    expect(url.stderr).toContain("option '--url <url>' argument 'not-a-url' is invalid. must be the base URL of the server");
    expect(timeout.stderr).toContain("option '--timeout <duration>' argument 'nonsense' is invalid. must be a duration like 500ms, 30s or 5m.");
    expect(none.stderr).toContain('error [invalid_request]: no server to check: pass --url <base URL> or set AGENTRY_URL');
    expect(ca.stderr).toContain(`error [invalid_request]: --ca ${join(dir, 'missing.pem')} does not exist`);
    expect(dirAlone.stderr).toContain('error [invalid_request]: --dir goes with --env-file');
    // Node itself looks for a --env-file's file, even after the script's path, and exits 9 first (nodejs/node#54232).
    expect(envFile.code).not.toBe(0);
    expect(envFile.stderr).toMatch(/missing\.env(: not found| does not exist)/);
    for (const result of [...all, envFile]) expect(result.stdout).toBe('');
  });
});
