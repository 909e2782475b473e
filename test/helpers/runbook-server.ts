/**
 * What a runbook drill stages its incident with: a project, the `agentry serve` its page's
 * commands talk to (and a "service" a page's `systemctl stop|start` stops and starts), runs
 * started with `agentry run`, and waits for their status, read from the store or the API.
 * The page's own commands are read and run by runbook.ts.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { REPO, runCliInProcess, startCli, tempDir, waitForOutput, type CliProcess, type CliResult } from './cli.js';
import { eventually } from './engine.js';
import { query } from './pg-processes.js';
import { API_KEYS } from './server.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { TERMINAL_RUN_STATUSES, type RunStatus } from '../../src/types.js';

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
