/**
 * Runs the real `agentry` CLI as a child process (`node dist/bundle/agentry.js …`, the bundle
 * `bin/agentry.js` runs, built by the global setup `build-dist.ts`) with the repository as working directory, and reads stores
 * read-only to check what changed.
 * Every process started here is tracked; `killAll()` (call it in `afterEach`) ends and awaits them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { runCli as runCliMain } from '../../src/cli/main.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** The bundled CLI, as installed: a spawned process starts in a fraction of the time tsx would take to compile the sources. */
export const CLI_ENTRY = join(REPO, 'dist/bundle/agentry.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * In-process only: run beside the other in-process commands instead of after them. For commands
   * that open no SQLite store (`smoke`, a command talking to a server with AGENTRY_URL).
   */
  concurrent?: boolean;
}

const running = new Set<CliProcess>();

/**
 * The environment of a child: this one without AGENTRY_* settings, plus `env`. Worker, scheduler
 * and gateway processes serve no probe port unless a test asks for one (`AGENTRY_PROBE_PORT`):
 * test files run side by side, and the default port would clash.
 */
export function childEnv(env: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AGENTRY_') && !key.startsWith('npm_')) base[key] = value;
  const merged: NodeJS.ProcessEnv = { ...base, NO_COLOR: '1', AGENTRY_PROBE_PORT: 'off' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  // Absolute paths, so the CLI can run from any directory (remote mode needs no project).
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    cwd: options.cwd ?? REPO,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const proc: CliProcess = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done: new Promise<CliResult>((resolveDone, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
    }),
  };
  running.add(proc);
  void proc.done.finally(() => running.delete(proc)).catch(() => undefined);
  return proc;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/**
 * Runs the CLI in this process (`runCli` of src/cli/main.ts) with the environment and working
 * directory a child would get, and its output captured. For tests about what a command prints and
 * its exit code, where no process boundary (signals, a killed process, piping) is under test.
 */
export function runCliInProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (options.concurrent === true) return runInProcess(args, options);
  const result = inProcessQueue.then(() => runInProcess(args, options));
  inProcessQueue = result.catch(() => undefined);
  return result;
}

/**
 * In-process commands run one at a time. Separate processes may wait on each other's SQLite
 * locks; commands sharing this thread may not: better-sqlite3 waits for a lock synchronously,
 * which would block the command in this thread that holds it.
 */
let inProcessQueue: Promise<unknown> = Promise.resolve();

async function runInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  const stdout = capture();
  const stderr = capture();
  const ctx = { stdout: stdout.stream, stderr: stderr.stream, env: childEnv(options.env), cwd: options.cwd ?? REPO, exitCode: 0 };
  const code = await runCliMain(args, ctx);
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text() };
}

/** A stream that keeps what is written to it (not a terminal, like a child's piped output). */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

/** SIGKILLs every CLI process still running and waits for each to exit. */
export async function killAll(): Promise<void> {
  const procs = [...running];
  for (const proc of procs) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await Promise.allSettled(procs.map((p) => p.done));
}

/** Resolves once `predicate` holds on the process's output (or rejects when it exits first). */
export async function waitForOutput(proc: CliProcess, predicate: (stderr: string, stdout: string) => boolean): Promise<void> {
  while (!predicate(proc.stderr, proc.stdout)) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`process exited (${proc.child.exitCode ?? proc.child.signalCode}) before the expected output:\n${proc.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh temporary directory; remove it with `rmSync(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'agentry-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Copies the example project (everything but its `.agentry/` store) and any extra files into a new temporary project. */
export function exampleProject(extra: Record<string, string> = {}): string {
  const dir = tempDir();
  const source = join(REPO, 'examples/demo');
  cpSync(source, dir, { recursive: true, filter: (path) => !relative(source, path).split(sep).includes('.agentry') });
  // The example's MCP tool server (tools/servers/*.mjs) imports packages of this repository.
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [file, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function dbFile(projectDir: string): string {
  return join(projectDir, '.agentry', 'agentry.db');
}

export interface StoreFingerprint {
  exists: boolean;
  runs?: number;
  steps?: number;
  attempts?: number;
  events?: number;
  maxSeq?: number;
  statuses?: string;
}

/** What a command could have changed in a store, read without writing to it. */
export function storeFingerprint(file: string): StoreFingerprint {
  if (!existsSync(file)) return { exists: false };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const maxSeq = (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get() as { n: number }).n;
    const statuses =
      (db.prepare("SELECT group_concat(id || '=' || status, ',') AS s FROM (SELECT id, status FROM runs ORDER BY id)").get() as { s: string | null }).s ?? '';
    return { exists: true, runs: count('runs'), steps: count('steps'), attempts: count('attempts'), events: count('events'), maxSeq, statuses };
  } finally {
    db.close();
  }
}
