/**
 * The CLI reference (`docs/cli-reference.md`): the `--help` of every command and subcommand,
 * rendered from the command definitions themselves so the reference cannot drift from the CLI.
 * `scripts/write-cli-reference.ts` (`npm run docs:cli`) writes it and
 * `test/unit/cli.reference.test.ts` fails when the committed file differs.
 *
 * Loaded only by that script and its tests: it defines every command, with the modules each needs.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { createProgram } from './main.js';
import type { CliContext } from './process-context.js';

/** A fixed width, so the reference does not depend on the terminal it was generated in. */
const REFERENCE_HELP_WIDTH = 100;

/** The program with every command defined in full, its output going nowhere (help is captured per command). */
export async function fullProgram(): Promise<Command> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
  // No environment and a fixed directory: nothing in the help may come from where it is generated.
  const ctx: CliContext = { stdout: sink, stderr: sink, env: {}, cwd: '/', exitCode: 0 };
  return createProgram([], ctx, { loadEveryCommand: true });
}

/** `program` and every command below it, depth first, in the order they were defined. */
export function commandTree(program: Command): Command[] {
  return [program, ...program.commands.flatMap((command) => commandTree(command))];
}

/** The words that invoke `command` (`agentry runs list`). */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * What `agentry … --help` prints for `command`: commander's help with the text added to it
 * (examples, exit codes), at the reference width, without colours or trailing spaces.
 */
export function helpText(command: Command): string {
  let text = '';
  const previous = command.configureOutput();
  command.configureOutput({
    writeOut: (chunk) => (text += chunk),
    getOutHelpWidth: () => REFERENCE_HELP_WIDTH,
    getOutHasColors: () => false,
  });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput(previous);
  }
  return text.replace(/[ \t]+$/gm, '').trimEnd();
}

/** A GitHub heading anchor for a heading of plain words (`agentry runs list` → `agentry-runs-list`). */
function anchor(path: string): string {
  return path
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

/** The reference document for `program`: an index, then a heading and the help of each command. */
export function renderCliReference(program: Command): string {
  const commands = commandTree(program);
  const depth = (command: Command): number => commandPath(command).split(' ').length - 1;
  const lines = [
    '# `agentry` CLI reference',
    '',
    '<!-- Generated from the command definitions in src/cli by `npm run docs:cli`: do not edit by hand. -->',
    '',
    'The `--help` of every command, generated from the command definitions (`npm run docs:cli`;',
    '`test/unit/cli.reference.test.ts` fails when this file is out of date). How the commands',
    'work together, local and remote mode, and the JSON shapes: [cli.md](cli.md).',
    '',
    ...commands.map((command) => `${'  '.repeat(Math.max(0, depth(command) - 1))}- [\`${commandPath(command)}\`](#${anchor(commandPath(command))})`),
  ];
  for (const command of commands) {
    const help = helpText(command);
    const fence = help.includes('```') ? '````' : '```';
    lines.push('', `${depth(command) < 2 ? '##' : '###'} ${commandPath(command)}`, '', `${fence}text`, help, fence);
  }
  return `${lines.join('\n')}\n`;
}

/** The reference as `npm run docs:cli` writes it. */
export async function cliReferenceMarkdown(): Promise<string> {
  return renderCliReference(await fullProgram());
}
