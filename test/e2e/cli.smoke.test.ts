/**
 * `agentry smoke` against a real `agentry serve` child process on a fresh SQLite store, over
 * loopback HTTP: every check passes with an operator key (by flags, and by AGENTRY_URL /
 * AGENTRY_API_KEY with --json), and the built-in workflow's runs are on the server afterwards;
 * nothing listening, a read-only key and bad input each exit non-zero with a clear reason.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDto } from '../../src/cli/remote.js';
import { CHECK_NAMES, type SmokeReport } from '../../src/cli/smoke.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { killAll, removeDir, runCli, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/pg-processes.js';

let dir: string;
let server: CliProcess;
let base: string;

beforeAll(async () => {
  dir = tempDir('agentry-smoke-');
  const project = join(dir, 'project');
  mkdirSync(join(project, 'workflows'), { recursive: true });
  writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: smoke-e2e\n');
  writeFileSync(join(project, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a: { transform: { n: 1 } }\n');
  server = startCli(['serve', project, '--port', '0'], {
    env: { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${dir}/agentry.db`, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'warn' },
  });
  await waitForOutput(server, (_stderr, stdout) => stdout.includes('curl '));
  base = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
}, 30_000);

afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.done;
  await killAll();
  removeDir(dir);
});

/** The line of check `name` in the human output. */
function lineOf(stdout: string, name: string): string {
  return stdout.split('\n').find((line) => new RegExp(`^[A-Z]{4}  ${name} `).test(line)) ?? `(no line for ${name})`;
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEYS.operator}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

describe('agentry smoke', { timeout: 30_000 }, () => {
  it('passes every check against a healthy server, runs the built-in workflow to success and cancels a second run', async () => {
    const [flags, json] = await Promise.all([
      runCli(['smoke', '--url', base, '--key', KEYS.operator], { cwd: dir }),
      runCli(['smoke', '--json', '--timeout', '45s'], { cwd: dir, env: { AGENTRY_URL: base, AGENTRY_API_KEY: KEYS.admin } }),
    ]);

    expect(flags.code, flags.stdout + flags.stderr).toBe(0);
    for (const name of CHECK_NAMES) expect(lineOf(flags.stdout, name)).toMatch(/^PASS {2}/);
    expect(lineOf(flags.stdout, 'run')).toMatch(/run_\w+ succeeded: transform, durable 1 s sleep, signal 'proceed'; outputs as expected \(\d+ ms\)$/);
    expect(lineOf(flags.stdout, 'metrics')).toContain('agentry_runs_started_total{workflow="agentry-smoke"} +');
    expect(flags.stdout.trim().split('\n').at(-1)).toMatch(/^OK: 8 passed in /);

    expect(json.code, json.stdout + json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as SmokeReport;
    expect(report).toMatchObject({ url: base, ok: true, summary: { pass: 8, warn: 0, skip: 0, fail: 0 } });
    expect(report.checks.map((check) => [check.name, check.status])).toEqual(CHECK_NAMES.map((name) => [name, 'pass']));

    // Two runs each, on the server: one succeeded with the signal's payload, one cancelled.
    const runs = await api<{ items: RunDto[] }>('/v1/runs?workflow=agentry-smoke');
    expect(runs.items.map((run) => run.status).sort()).toEqual(['cancelled', 'cancelled', 'succeeded', 'succeeded']);
    const succeeded = runs.items.find((run) => run.status === 'succeeded')!;
    expect(succeeded.output).toMatchObject({ compute: { sum: (succeeded.input as { a: number; b: number }).a + (succeeded.input as { b: number }).b } });
    const workflows = await api<{ items: Array<{ name: string; builtin: boolean }> }>('/v1/workflows');
    expect(workflows.items.map((wf) => [wf.name, wf.builtin])).toEqual([
      ['agentry-smoke', true],
      ['hello', false],
    ]);
  });

  it('fails with a reason on every line when nothing listens, and the run checks with 403 for a read-only key', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const [down, viewer] = await Promise.all([
      runCli(['smoke', '--url', nowhere, '--key', KEYS.operator, '--timeout', '10s'], { cwd: dir }),
      runCli(['smoke', '--url', base, '--key', KEYS.viewer], { cwd: dir }),
    ]);

    expect(down.code, down.stdout + down.stderr).toBe(1);
    for (const name of ['livez', 'readyz', 'auth-refuses', 'auth-accepts', 'openapi', 'run', 'cancel']) {
      expect(lineOf(down.stdout, name)).toMatch(
        new RegExp(`^FAIL  ${name} +not_ready: cannot reach the Agentry server at ${nowhere}: ECONNREFUSED \\(\\d+ ms\\)$`),
      );
    }
    expect(down.stdout.trim().split('\n').at(-1)).toMatch(/^FAILED: 7 of 8 checks failed/);

    expect(viewer.code, viewer.stdout + viewer.stderr).toBe(2);
    for (const name of ['livez', 'readyz', 'auth-refuses', 'auth-accepts', 'openapi']) expect(lineOf(viewer.stdout, name)).toMatch(/^PASS {2}/);
    expect(lineOf(viewer.stdout, 'auth-accepts')).toContain('signs in as viewer');
    for (const name of ['run', 'cancel']) expect(lineOf(viewer.stdout, name)).toMatch(/^FAIL {2}\S+ +403 forbidden: missing required scope: runs:write/);
    expect(lineOf(viewer.stdout, 'metrics')).toMatch(/^SKIP {2}metrics +no smoke run was started/);
  });

  it('refuses bad input before reaching any server: exit 2 with the reason', async () => {
    const [url, timeout, none, ca] = await Promise.all([
      runCli(['smoke', '--url', 'not-a-url'], { cwd: dir }),
      runCli(['smoke', '--url', base, '--timeout', 'nonsense'], { cwd: dir }),
      runCli(['smoke'], { cwd: dir }),
      runCli(['smoke', '--url', base, '--ca', join(dir, 'missing.pem')], { cwd: dir }),
    ]);
    expect([url.code, timeout.code, none.code, ca.code]).toEqual([2, 2, 2, 2]);
    expect(url.stderr).toContain("option '--url <url>' argument 'not-a-url' is invalid. must be the base URL of the server");
    expect(timeout.stderr).toContain("option '--timeout <duration>' argument 'nonsense' is invalid. must be a duration like 500ms, 30s or 5m.");
    expect(none.stderr).toContain('error [invalid_request]: no server to check: pass --url <base URL> or set AGENTRY_URL');
    expect(ca.stderr).toContain(`error [invalid_request]: --ca ${join(dir, 'missing.pem')} does not exist`);
    for (const result of [url, timeout, none, ca]) expect(result.stdout).toBe('');
  });
});
