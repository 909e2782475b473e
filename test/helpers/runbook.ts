/**
 * Runbook drills (test/drills/): a runbook page's own commands, read from the page and run as it
 * writes them, so the page and its drill cannot drift apart. `pageCommands` reads the ```sh blocks
 * of docs/operations/runbooks/<page>.md (under a heading when asked; blocks indented in a list
 * too), `pageCommand` picks the one that starts with what the drill names, and `runPageCommand`
 * fills its `<placeholders>` and runs it: a plain `agentry …` through the CLI's entry in this
 * process (the same code, without a process start per command), `systemctl stop|start` through
 * the drill's service, anything else (pipes, `curl`, `jq`, `df`) with bash, where `agentry` on
 * the PATH is the compiled CLI. `startDrillServer` is the `agentry serve` they talk to, `drillService`
 * what a page's `systemctl stop|start` act on, and `waitForSucceeded` / `waitForRunEnd` wait for runs.
 *
 *   const line = pageCommand('runs-stuck', 'agentry runs get', 'Verify');
 *   const result = await runPageCommand(line, { 'run-id': id }, { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.admin } });
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { shellWords } from './cli-command-check.js';
import { childEnv, CLI_ENTRY, REPO, runCliInProcess, startCli, tempDir, waitForOutput, type CliProcess, type CliResult } from './cli.js';
import { eventually } from './engine.js';
import { fencedBlocks, headings } from './markdown.js';
import { query } from './pg-processes.js';
import { API_KEYS } from './server.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { TERMINAL_RUN_STATUSES, type RunStatus } from '../../src/types.js';

const RUNBOOKS = join(REPO, 'docs/operations/runbooks');

/** Every command line of the ```sh blocks of `runbooks/<page>.md` (under `heading` and its subheadings when given): `\` continuations joined, comments dropped. */
export function pageCommands(page: string, heading?: string): string[] {
  const text = readFileSync(join(RUNBOOKS, `${page}.md`), 'utf8');
  let from = 0;
  let to = Infinity;
  if (heading !== undefined) {
    const all = headings(text);
    const at = all.findIndex((h) => h.title === heading);
    if (at < 0) throw new Error(`runbooks/${page}.md has no heading "${heading}"`);
    from = all[at]!.line;
    to = all.slice(at + 1).find((h) => h.level <= all[at]!.level)?.line ?? Infinity;
  }
  const commands: string[] = [];
  for (const block of fencedBlocks(text)) {
    if (block.lang !== 'sh' || block.line < from || block.line > to) continue;
    const joined = block.lines.map((line) => line.trim()).join('\n');
    for (const line of joined.replace(/\\\n/g, ' ').split('\n')) {
      const command = line.replace(/(^|\s)#\s.*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  if (commands.length === 0) throw new Error(`runbooks/${page}.md${heading === undefined ? '' : ` "${heading}"`} has no sh commands`);
  return commands;
}

/** The one command (it may be repeated) of the page, or of `heading`, that starts with `start`; throws when there is none, or several different ones. */
export function pageCommand(page: string, start: string, heading?: string): string {
  const found = [...new Set(pageCommands(page, heading).filter((c) => c.startsWith(start)))];
  if (found.length !== 1) throw new Error(`runbooks/${page}.md ${heading ?? ''}: ${found.length} commands start with '${start}': ${found.join(' | ')}`);
  return found[0]!;
}

/** `line` with each `<name>` replaced by `vars[name]`; a placeholder without a value is an error. */
export function fillPlaceholders(line: string, vars: Record<string, string>): string {
  return line.replace(/<([a-z][a-z0-9-]*)>/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for ${whole} in: ${line}`);
    return value;
  });
}

/** The words of a page's command, placeholders filled, as a shell would split them (to start a process the drill keeps: `agentry serve`, `kill -9 <pid>`). */
export function commandWords(line: string, vars: Record<string, string> = {}): string[] {
  return shellWords(fillPlaceholders(line, vars));
}

/** How a drill stands in for the host a page acts on. */
export interface PageRunOptions {
  /** The operator's shell: AGENTRY_URL, AGENTRY_API_KEY, AGENTRY_DATABASE_URL … (on top of this process's environment without its AGENTRY_*). */
  env: Record<string, string>;
  /** Where bash runs a line (a fresh directory by default). */
  cwd?: string;
  /** `systemctl stop|start <unit>`. */
  service?: { stop(): Promise<unknown>; start(): Promise<unknown> };
}

/** Runs a page's command (see the module comment) after filling its placeholders from `vars`. */
export async function runPageCommand(command: string, vars: Record<string, string>, options: PageRunOptions): Promise<CliResult> {
  const line = fillPlaceholders(command, vars);
  const words = shellWords(line);
  if (words[0] === 'agentry' && !/[|;&<>$`\\]/.test(line))
    return runCliInProcess(words.slice(1), { env: options.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
  if (words[0] === 'systemctl' && (words[1] === 'stop' || words[1] === 'start')) {
    if (options.service === undefined) throw new Error(`the drill has no service for: ${line}`);
    await options.service[words[1]]();
    return { code: 0, signal: null, stdout: '', stderr: '' };
  }
  return runBash(line, options);
}

let shimDir: string | undefined;

/** A directory holding `agentry`, a script running the compiled CLI (made once per test file). */
function agentryShim(): string {
  if (shimDir === undefined) {
    shimDir = tempDir('agentry-runbook-bin-');
    writeFileSync(join(shimDir, 'agentry'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_ENTRY}" "$@"\n`);
    chmodSync(join(shimDir, 'agentry'), 0o755);
  }
  return shimDir;
}

function runBash(line: string, options: PageRunOptions): Promise<CliResult> {
  const env = childEnv(options.env);
  const child = spawn('bash', ['-o', 'pipefail', '-c', line], {
    cwd: options.cwd ?? agentryShim(),
    env: { ...env, PATH: `${agentryShim()}:${env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A project directory of `files` (`agentry.yaml` by default; its MCP servers may import this repository's packages). */
export function drillProject(files: Record<string, string>): string {
  const dir = tempDir('agentry-drill-');
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [file, text] of Object.entries({ 'agentry.yaml': 'version: v1\nname: drill\n', ...files })) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

export interface DrillServer {
  url: string;
  proc: CliProcess;
  /** The server's JSON log lines so far, parsed. */
  logs: () => Record<string, unknown>[];
  /** SIGTERM, and its exit. */
  stop: () => Promise<CliResult>;
}

/**
 * `agentry serve <project> --port 0 <args>` with `env` (its store is the project's unless
 * AGENTRY_DATABASE_URL says otherwise; the keys of server.ts's `KEYS` unless `--no-auth`);
 * resolves once it listens.
 */
export async function startDrillServer(project: string, env: Record<string, string> = {}, args: string[] = []): Promise<DrillServer> {
  const keys = args.includes('--no-auth') ? {} : { AGENTRY_API_KEYS: API_KEYS };
  const proc = startCli(['serve', project, '--port', '0', ...args], {
    env: { ...keys, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_REQUEST_LOGS: 'false', AGENTRY_LOG_LEVEL: 'info', ...env },
  });
  await waitForOutput(proc, (_stderr, stdout) => /listening on http:\/\/\S+/.test(stdout));
  return {
    url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]!,
    proc,
    logs: () =>
      proc.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: () => stopGracefully(proc),
  };
}

/** The drill's stand-in for the host's service: `start` and `stop` its `agentry serve` (what `systemctl start|stop` do in a page). */
export interface DrillService {
  readonly server: DrillServer | undefined;
  start(): Promise<DrillServer>;
  stop(): Promise<void>;
}

export function drillService(project: string, env: Record<string, string> = {}, args: string[] = []): DrillService {
  let server: DrillServer | undefined;
  return {
    get server() {
      return server;
    },
    start: async () => (server = await startDrillServer(project, env, args)),
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
  };
}

/** A call to a drill server's API with `key`; fails the test unless it answers 2xx. Returns the body. */
export async function apiCall<T>(url: string, key: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return (await response.json()) as T;
}

/** Stops a process with SIGTERM and waits for its exit status. */
export function stopGracefully(proc: CliProcess): Promise<CliResult> {
  proc.child.kill('SIGTERM');
  return proc.done;
}

/** Starts a run of `workflow` with `agentry run` (in the store of `env`, or through `AGENTRY_URL`); returns its id. */
export async function startRun(workflow: string, env: Record<string, string>, input: unknown = {}): Promise<string> {
  const result = await runCliInProcess(['run', workflow, '--input', JSON.stringify(input), '--json'], { env });
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

type StoreRef = { sqlite: string } | { postgres: string };

/** Each run's status, read without writing: from a SQLite file, or a PostgreSQL URL. */
export async function runStatuses(store: StoreRef): Promise<Map<string, string>> {
  if ('postgres' in store) {
    const rows = await query<{ id: string; status: string }>(store.postgres, 'SELECT id, status FROM runs');
    return new Map(rows.map((r) => [r.id, r.status]));
  }
  const db = new Database(store.sqlite, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT id, status FROM runs').all() as Array<{ id: string; status: string }>;
    return new Map(rows.map((r) => [r.id, r.status]));
  } finally {
    db.close();
  }
}

/** Polls the store until every run of `ids` has succeeded (fails the test, naming each run's status, after `timeoutMs`). */
export async function waitForSucceeded(store: StoreRef, ids: readonly string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await runStatuses(store);
    const now = Object.fromEntries(ids.map((id) => [id, statuses.get(id)]));
    if (ids.every((id) => now[id] === 'succeeded')) return;
    if (Date.now() > deadline) expect(now).toEqual(Object.fromEntries(ids.map((id) => [id, 'succeeded'])));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The run, read through the server's API (`key` as bearer when given), once it has ended (succeeded, failed, cancelled, timed out). */
export async function waitForRunEnd<T extends { status: RunStatus }>(url: string, id: string, key?: string, timeoutMs = 30_000): Promise<T> {
  return eventually(
    async () => {
      const response = await fetch(`${url}/v1/runs/${id}`, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
      const run = (await response.json()) as T;
      return TERMINAL_RUN_STATUSES.has(run.status) ? run : undefined;
    },
    timeoutMs,
    `run ${id} to end`,
  );
}

/**
 * A store at an earlier schema version, as a previous release left it: migrated up to `version`
 * only, through the store's own `migrate({ to })` (a test-only path: the CLI always migrates to
 * this build's latest). Returns the store, open; close it.
 */
export async function storeAt(url: string, version: number): Promise<Store> {
  const store = openStore(url);
  const report = await store.migrate({ to: version });
  expect(report.current).toBe(version);
  return store;
}
