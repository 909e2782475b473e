/**
 * Runbook drills (test/drills/): a runbook page's own commands, read from the page and run as it
 * writes them, so the page and its drill cannot drift apart. `pageCommands` reads the ```sh blocks
 * of docs/operations/runbooks/<page>.md (under a heading when asked; blocks indented in a list
 * too), `pageCommand` picks the one that starts with what the drill names, and `runPageCommand`
 * fills its `<placeholders>` and runs it: a plain `agentry …` through the CLI's entry in this
 * process (the same code, without a process start per command), `systemctl stop|start` through
 * the drill's service, anything else (pipes, `curl`, `jq`, `df`) with bash, where `agentry` on
 * the PATH is the compiled CLI. The servers the commands talk to are in runbook-server.ts.
 *
 *   const line = pageCommand('runs-stuck', 'agentry runs get', 'Verify');
 *   const result = await runPageCommand(line, { 'run-id': id }, { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.admin } });
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellWords } from './cli-command-check.js';
import { childEnv, CLI_ENTRY, REPO, runCliInProcess, tempDir, type CliResult } from './cli.js';
import { fencedBlocks, headings } from './markdown.js';

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
