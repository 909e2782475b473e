/**
 * Whether a command line a page shows (`agentry maintenance on --quiesce --reason "…"`) is one the
 * CLI takes: every word names a real command or subcommand, every option exists on that command
 * (with its value when it needs one), and the positional arguments fit what the command declares.
 * Placeholders (`<id>`, `$RUN_ID`, `…`) count as values; they are not checked. The program is
 * the one the CLI reference is rendered from (`src/cli/reference.ts`: every command defined).
 *
 *   const program = await fullProgram();
 *   for (const cmd of agentryCommands(block)) expect(checkAgentryCommand(program, cmd.text)).toBeUndefined();
 */
import type { Command, Option } from 'commander';
import { commandPath } from '../../src/cli/reference.js';
import type { FencedBlock } from './markdown.js';

/** Shells a block of commands may be tagged with (an untagged block counts too). */
const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell', 'console', 'shell-session', 'zsh']);
/** Words that separate commands on one line. */
const SEPARATORS = new Set(['|', '||', '&&', ';', '&']);

export interface ShownCommand {
  /** The `agentry …` words of one command, from `agentry` on. */
  words: string[];
  text: string;
  /** 1-based line in the page. */
  line: number;
}

/**
 * Splits a shell line into words: quotes and backslashes as the shell reads them, `$(…)` and a
 * placeholder (`<run-id>`) kept as one word, a `#` comment dropped, separators (`|`, `&&`, `;`) and redirections as words of their own.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  const end = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      word += line.slice(i + 1, close === -1 ? line.length : close);
      inWord = true;
      i = close === -1 ? line.length : close;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === '$' && line[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === '(') depth++;
        if (line[j] === ')' && --depth === 0) break;
      }
      word += line.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (c === '<' && /^<[A-Za-z][\w.:@/-]*>/.test(line.slice(i))) {
      // A placeholder (`<run-id>`), not a redirection.
      const close = line.indexOf('>', i);
      word += line.slice(i, close + 1);
      inWord = true;
      i = close;
    } else if (/\s/.test(c)) {
      end();
    } else if (c === '#' && !inWord) {
      break;
    } else if ('|&;<>'.includes(c)) {
      // `2>`: the descriptor belongs to the redirection.
      const fd = (c === '<' || c === '>') && /^\d+$/.test(word) ? word : '';
      if (fd !== '') inWord = false;
      end();
      let op = fd + c;
      while (i + 1 < line.length && '|&>'.includes(line[i + 1]!)) op += line[++i];
      words.push(op);
    } else {
      word += c;
      inWord = true;
    }
  }
  end();
  return words;
}

/** Commands that run another command given after their own words (`sudo -u agentry agentry …`, `kubectl exec … -- agentry …`). */
const WRAPPERS = new Set(['sudo', 'env', 'nohup', 'time', 'npx', 'exec', 'docker', 'podman', 'kubectl', 'ssh']);
/** Options whose value may be the word `agentry` (a user, a group, a namespace, a database). */
const VALUE_OPTIONS = new Set(['-u', '-U', '--user', '-g', '--group', '-n', '--namespace', '-d', '--dbname']);

/** Whether `words[i]` is the `agentry` command itself, not a user, database or namespace named `agentry`. */
function isAgentryAt(words: readonly string[], i: number): boolean {
  if (!/(^|\/)agentry$/.test(words[i]!)) return false;
  if (words.slice(0, i).every((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w))) return true;
  return WRAPPERS.has(words[0]!) && !VALUE_OPTIONS.has(words[i - 1] ?? '') && !/(^|\/)agentry$/.test(words[i + 1] ?? '');
}

/** The commands of one line from `agentry` on, a command per segment between separators (redirections cut off). */
function commandsOfLine(line: string): string[][] {
  const segments: string[][] = [[]];
  for (const word of shellWords(line)) {
    if (SEPARATORS.has(word)) segments.push([]);
    else segments.at(-1)!.push(word);
  }
  return segments.flatMap((words) => {
    const redirect = words.findIndex((w) => /^\d*[<>][<>&\d]*$/.test(w));
    const cut = redirect === -1 ? words : words.slice(0, redirect);
    const at = cut.findIndex((_w, i) => isAgentryAt(cut, i));
    return at === -1 ? [] : [cut.slice(at)];
  });
}

/**
 * The `agentry …` commands of a fenced block of shell: every line of a `sh` block, the `$ `
 * lines of a `console` block (the rest is output); a line ending in `\` goes on to the next.
 */
export function agentryCommands(block: FencedBlock): ShownCommand[] {
  if (!SHELL_LANGS.has(block.lang)) return [];
  const prompted = block.lang === 'console' || block.lang === 'shell-session';
  const found: ShownCommand[] = [];
  let pending: { text: string; line: number } | undefined;
  block.lines.forEach((raw, index) => {
    const line = block.line + 1 + index;
    let text = raw.trim();
    if (pending === undefined) {
      if (prompted) {
        if (!text.startsWith('$ ')) return;
        text = text.slice(2);
      }
      pending = { text: '', line };
    }
    if (text.endsWith('\\')) {
      pending.text += `${text.slice(0, -1)} `;
      return;
    }
    const full = pending.text + text;
    for (const words of commandsOfLine(full)) found.push({ words, text: words.join(' '), line: pending.line });
    pending = undefined;
  });
  return found;
}

function findOption(command: Command, flag: string): Option | undefined {
  return command.options.find((o) => o.long === flag || o.short === flag);
}

/** What is wrong with `words` (`['agentry', 'runs', 'list', '--json']`) as a command of `program`; undefined when it parses. */
export function checkAgentryWords(program: Command, words: readonly string[]): string | undefined {
  let command = program;
  let i = 1;
  // Subcommands: each word that names one of the current command's subcommands.
  while (i < words.length && command.commands.length > 0) {
    const word = words[i]!.replace(/^\[|\]$/g, '');
    if (word.startsWith('-')) break;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) {
      if (command.registeredArguments.length > 0) break;
      return `'${word}' is not a command of '${commandPath(command)}' (it has: ${command.commands.map((c) => c.name()).join(', ')})`;
    }
    command = sub;
    i++;
  }
  const args: string[] = [];
  for (; i < words.length; i++) {
    const word = words[i]!.replace(/^\[|\]$/g, '');
    if (word === '' || word === '…' || word === '...') continue;
    if (word === '--') {
      args.push(...words.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      args.push(word);
      continue;
    }
    const [flag, inline] =
      word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    if (flag === '--help' || flag === '-h' || (command === program && (flag === '--version' || flag === '-v'))) continue;
    const option = findOption(command, flag);
    if (option === undefined) {
      const known = command.options.map((o) => o.long ?? o.short).join(', ');
      return `'${commandPath(command)}' has no option ${flag} (options: ${known || 'none'})`;
    }
    if (option.required && inline === undefined) {
      const value = words[i + 1];
      if (value === undefined || (value.startsWith('-') && value.length > 1 && !/^-\d/.test(value)))
        return `option ${flag} of '${commandPath(command)}' needs a value`;
      i++;
    }
    if (!option.required && !option.optional && inline !== undefined) return `option ${flag} of '${commandPath(command)}' takes no value`;
  }
  const declared = command.registeredArguments;
  const min = declared.filter((a) => a.required).length;
  const max = declared.some((a) => a.variadic) ? Infinity : declared.length;
  if (args.length < min)
    return `'${commandPath(command)}' needs ${min} argument${min === 1 ? '' : 's'} (${declared.map((a) => a.name()).join(', ')}), got ${args.length}`;
  if (args.length > max) return `'${commandPath(command)}' takes at most ${max} argument${max === 1 ? '' : 's'}, got ${args.length}: ${args.join(' ')}`;
  return undefined;
}
