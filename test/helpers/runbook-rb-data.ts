/**
 * A runbook page's commands, read from the page itself so a drill runs what the page says and
 * the two cannot drift: the ```sh blocks under a heading, each line split into words as a
 * shell would (quotes, `\` continuations; a `# comment` at the end dropped), `<placeholders>`
 * replaced by the drill's values. A placeholder the drill gives no value for is an error.
 *
 *   const commands = runbookCommands('database-down-or-full.md', 'Corrupt SQLite file', { '<recovered-file>': out, '<db-file>': db });
 *   const check = await runPageCommand(commandStarting(commands, 'agentry', 'db', 'check'), runner);
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, runCliInProcess, type CliResult } from './cli.js';

export const RUNBOOKS_DIR = join(REPO, 'docs/operations/runbooks');

/** The ```sh blocks of `text` under the heading whose title is `heading` (up to the next heading of the same or a higher level). */
function blocksUnder(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /^#{2,4} /.test(line) && line.replace(/^#+ /, '').trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const blocks: string[] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    if (block === undefined && new RegExp(`^#{1,${level}} `).test(line)) break;
    if (block === undefined && line.trim() === '```sh') block = [];
    else if (block !== undefined && line.trim() === '```') {
      blocks.push(block.join('\n'));
      block = undefined;
    } else if (block !== undefined) block.push(line);
  }
  return blocks;
}

/** Splits one command line into words, as sh would (no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '#' && word === undefined) {
      break;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) throw new Error(`unclosed quote in: ${line}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** One command of a page: its words, and its line as written (placeholders replaced) for `sh -c`. */
export interface PageCommand {
  words: string[];
  line: string;
}

function substitute(text: string, values: Record<string, string>): string {
  return Object.entries(values).reduce((acc, [name, value]) => acc.split(name).join(value), text);
}

/** The commands of the ```sh blocks under `heading` of runbook `page`, placeholders replaced. */
export function runbookCommands(page: string, heading: string, values: Record<string, string> = {}): PageCommand[] {
  const text = readFileSync(join(RUNBOOKS_DIR, page), 'utf8');
  const commands: PageCommand[] = [];
  for (const block of blocksUnder(text, heading)) {
    for (const raw of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = substitute(raw, values);
      const words = shellWords(line);
      if (words.length === 0) continue;
      const left = /<[a-z][a-z-]*>/.exec(line);
      if (left !== null) throw new Error(`${page} "${heading}": no value for the placeholder ${left[0]}`);
      commands.push({ words, line });
    }
  }
  if (commands.length === 0) throw new Error(`${page} "${heading}" has no sh commands`);
  return commands;
}

/** How a drill stands in for what a page does to the host: the service's stop and start. */
export interface PageRunner {
  /** The environment of the operator's shell (`AGENTRY_DATABASE_URL` …). */
  env: Record<string, string>;
  cwd: string;
  /** `systemctl stop|start <unit>`. */
  service: { stop(): Promise<void>; start(): Promise<void> };
}

/**
 * Runs one command of a page: `agentry …` through the real CLI (in this process), `systemctl
 * stop|start` through the drill's service, anything else (`curl`, `df`, `mv`, `ls` …) as the line
 * itself through `sh -c`.
 */
export async function runPageCommand(command: PageCommand, runner: PageRunner): Promise<CliResult> {
  const [program, ...args] = command.words;
  if (program === 'agentry') return runCliInProcess(args, { env: runner.env, cwd: runner.cwd });
  if (program === 'systemctl') {
    if (args[0] === 'stop') await runner.service.stop();
    else if (args[0] === 'start') await runner.service.start();
    else throw new Error(`the drill cannot run: ${command.line}`);
    return { code: 0, signal: null, stdout: '', stderr: '' };
  }
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command.line], { cwd: runner.cwd, env: { ...process.env, ...runner.env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, signal: null, stdout, stderr });
    });
  });
}

/** The one command of `commands` that starts with `prefix` (e.g. 'agentry', 'db', 'check'); throws unless exactly one does. */
export function commandStarting(commands: readonly PageCommand[], ...prefix: string[]): PageCommand {
  const found = commands.filter((c) => prefix.every((word, i) => c.words[i] === word));
  if (found.length !== 1)
    throw new Error(`expected one command starting "${prefix.join(' ')}", found ${found.length}: ${commands.map((c) => c.line).join(' | ')}`);
  return found[0]!;
}
