/**
 * What the runbook drills of test/drills/ share: the commands of a runbook page, read from its
 * fenced ```sh blocks (so the page and its drill cannot drift apart), with `<placeholders>`
 * filled in and split into argv as a shell would; and the processes a drill stages its incident
 * with (`agentry serve` on a SQLite store, keys of each role).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { REPO, runCliInProcess, startCli, waitForOutput, type CliOptions, type CliProcess, type CliResult } from './cli.js';
import { query } from './pg-processes.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';

export const RUNBOOKS = join(REPO, 'docs/operations/runbooks');

/** One command line of a page's ```sh block, with the `## section` it is under. */
export interface PageCommand {
  section: string;
  line: string;
}

/** Every command line of the ```sh blocks of `docs/operations/runbooks/<page>.md` (comments and blank lines left out). */
export function pageCommands(page: string): PageCommand[] {
  const text = readFileSync(join(RUNBOOKS, `${page}.md`), 'utf8');
  const commands: PageCommand[] = [];
  let section = '';
  let inSh = false;
  let inOther = false;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (!inSh && !inOther && raw.startsWith('## ')) section = raw.slice(3).trim();
    // Fences may be indented (a block inside a numbered list).
    if (raw.trimStart().startsWith('```')) {
      if (inSh || inOther) {
        inSh = inOther = false;
      } else if (raw.trim() === '```sh') inSh = true;
      else inOther = true;
      continue;
    }
    if (!inSh) continue;
    const line = raw.replace(/\s+#\s.*$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    commands.push({ section, line: pending + line });
    pending = '';
  }
  return commands;
}

/** The one command (it may be repeated) of `section` that starts with `prefix` (e.g. `agentry runs list`); fails the test when there is none or several. */
export function pageCommand(page: string, section: string, prefix: string): string {
  const found = pageCommands(page).filter((c) => c.section === section && (c.line === prefix || c.line.startsWith(`${prefix} `)));
  expect([...new Set(found.map((c) => c.line))], `${page}.md ## ${section}: one command starting with "${prefix}"`).toHaveLength(1);
  return found[0]!.line;
}

/** A command line with its `<placeholders>` replaced, split into words as a POSIX shell would (quotes, no expansion). */
export function argvOf(line: string, values: Record<string, string> = {}): string[] {
  const filled = line.replace(/<([a-z][a-z0-9-]*)>/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in: ${line}`);
    return value;
  });
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (const ch of filled) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + ch;
  }
  if (quote) throw new Error(`unclosed quote in: ${line}`);
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * Runs an `agentry …` command of a page through the real CLI, in this process (`runCliInProcess`:
 * the same code, without a second or more of process start per command on a busy machine).
 * Commands that serve or are killed run as processes (`startCli`).
 */
export function runPageCommand(line: string, values: Record<string, string>, options: CliOptions): Promise<CliResult> {
  const [program, ...args] = argvOf(line, values);
  expect(program, line).toBe('agentry');
  return runCliInProcess(args, options);
}

/** An admin key for the drills' servers (`AGENTRY_API_KEYS`), and the variables a page's remote commands use. */
export const DRILL_KEY = 'drill-admin-key-0123456789abcdef';
export const DRILL_API_KEYS = `ops:${DRILL_KEY}:admin`;

/** `agentry serve` on the project's store, listening on a free port; resolves with its URL once it serves. */
export async function startServe(project: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['serve', '--port', '0', ...args], {
    env: { AGENTRY_PROJECT_DIR: project, AGENTRY_API_KEYS: DRILL_API_KEYS, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'info', ...env },
  });
  await waitForOutput(proc, (_stderr, stdout) => /listening on http:\/\/\S+/.test(stdout));
  return { proc, url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]! };
}

/** Stops a process with SIGTERM and waits for its exit status. */
export async function stopGracefully(proc: CliProcess): Promise<CliResult> {
  proc.child.kill('SIGTERM');
  return proc.done;
}

/** Each run's status, read without writing: from a SQLite file, or a PostgreSQL URL. */
export async function runStatuses(store: { sqlite: string } | { postgres: string }): Promise<Map<string, string>> {
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
export async function waitForSucceeded(store: { sqlite: string } | { postgres: string }, ids: readonly string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await runStatuses(store);
    const now = Object.fromEntries(ids.map((id) => [id, statuses.get(id)]));
    if (ids.every((id) => now[id] === 'succeeded')) return;
    if (Date.now() > deadline) expect(now).toEqual(Object.fromEntries(ids.map((id) => [id, 'succeeded'])));
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts a run of `workflow` with `agentry run` (in the store of `env`, or through `AGENTRY_URL`); returns its id. */
export async function startRun(workflow: string, env: Record<string, string>, input: unknown = {}): Promise<string> {
  const result = await runCliInProcess(['run', workflow, '--input', JSON.stringify(input), '--json'], { env });
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
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
