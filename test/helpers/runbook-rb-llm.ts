/**
 * Runbook drills: a runbook page's own commands, run as the page writes them. `pageCommand`
 * finds a command line in a fenced ```sh block of docs/operations/runbooks/<page>.md (so the
 * drill fails when the page changes it), `runPageCommand` fills its `<placeholders>` and runs it
 * — a plain `agentry …` command through the CLI's entry in this process (no process to start),
 * anything else (pipes, `curl`, `jq`) with bash, where `agentry` on the PATH is the compiled CLI —
 * and `startDrillServer` is the `agentry serve` the commands talk to (`AGENTRY_URL`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { childEnv, CLI_ENTRY, REPO, runCliInProcess, startCli, tempDir, waitForOutput, type CliProcess, type CliResult } from './cli.js';

/** Every command line of the page's ```sh blocks, `\` continuations joined, comments dropped. */
export function pageCommands(page: string): string[] {
  const text = readFileSync(join(REPO, 'docs/operations/runbooks', `${page}.md`), 'utf8');
  const commands: string[] = [];
  for (const block of text.matchAll(/^[ \t]*```sh\n([\s\S]*?)^[ \t]*```/gm)) {
    const joined = (block[1] as string).replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) {
      const command = line.replace(/(^|\s)#.*$/, '').trim();
      if (command !== '') commands.push(command);
    }
  }
  return commands;
}

/** The one command of the page's ```sh blocks that starts with `start` (throws when there is none, or several different ones). */
export function pageCommand(page: string, start: string): string {
  const found = [...new Set(pageCommands(page).filter((c) => c.startsWith(start)))];
  if (found.length !== 1) throw new Error(`runbooks/${page}.md: ${found.length} commands start with '${start}': ${found.join(' | ')}`);
  return found[0] as string;
}

let shimDir: string | undefined;

/** A directory holding `agentry`, a script running the compiled CLI (made once per test file). */
function agentryShim(): string {
  if (shimDir === undefined) {
    shimDir = tempDir('agentry-runbook-bin-');
    const shim = join(shimDir, 'agentry');
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI_ENTRY}" "$@"\n`);
    chmodSync(shim, 0o755);
  }
  return shimDir;
}

/** The arguments of a plain `agentry …` command (quoted words kept whole); undefined when it needs a shell. */
function agentryArgs(command: string): string[] | undefined {
  if (!command.startsWith('agentry ') || /[|;&<>$`\\]/.test(command)) return undefined;
  return [...command.slice('agentry '.length).matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

/**
 * Runs a page's command after replacing each `<name>` by `vars[name]`, with `env`
 * (AGENTRY_URL, AGENTRY_API_KEY …) on top of this process's environment without its AGENTRY_*.
 */
export function runPageCommand(command: string, vars: Record<string, string>, env: Record<string, string>): Promise<CliResult> {
  const filled = command.replace(/<([a-z][a-z0-9-]*)>/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for ${whole} in: ${command}`);
    return value;
  });
  const args = agentryArgs(filled);
  if (args !== undefined) return runCliInProcess(args, { env });
  const base = childEnv(env);
  const child = spawn('bash', ['-o', 'pipefail', '-c', filled], {
    cwd: agentryShim(),
    env: { ...base, PATH: `${agentryShim()}:${base.PATH ?? ''}` },
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

/** A project directory of `files` (its MCP servers may import this repository's packages). */
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
  /** The server's log lines so far, parsed. */
  logs: () => Record<string, unknown>[];
  /** SIGTERM, and wait for it to exit. */
  stop: () => Promise<void>;
}

/** `agentry serve <project>` on a free port, its store in `dataDir`, with `env`. */
export async function startDrillServer(project: string, dataDir: string, env: Record<string, string>): Promise<DrillServer> {
  const proc = startCli(['serve', project, '--port', '0'], {
    env: { AGENTRY_DATABASE_URL: `sqlite:${join(dataDir, 'agentry.db')}`, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_REQUEST_LOGS: 'false', ...env },
  });
  await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
  const url = (/listening on (http:\/\/\S+)/.exec(proc.stdout) as RegExpExecArray)[1] as string;
  return {
    url,
    proc,
    logs: () =>
      proc.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      proc.child.kill('SIGTERM');
      await proc.done;
    },
  };
}
