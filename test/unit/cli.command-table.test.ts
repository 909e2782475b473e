/**
 * The command table of `main.ts` stands in for the command modules until one is invoked: each
 * entry must say what its module defines, so the top-level help reads the same either way.
 */
import { Writable } from 'node:stream';
import { Help, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, invokedCommand } from '../../src/cli/command-table.js';
import { createProgram, runCli } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/process-context.js';

function context(): { ctx: CliContext; out: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { ctx: { stdout: stream, stderr: stream, env: {}, cwd: process.cwd(), exitCode: 0 }, out: () => text };
}

function commandOf(program: Command, name: string): Command {
  const command = program.commands.find((c) => c.name() === name);
  if (!command) throw new Error(`no command ${name}`);
  return command;
}

describe('the command table', () => {
  it.each(COMMANDS.map((entry) => [entry.name, entry] as const))('describes %s as its module defines it', async (name, entry) => {
    const program = await createProgram([name], context().ctx);
    const command = commandOf(program, name);
    expect(command.description()).toBe(entry.description);
    expect(new Help().subcommandTerm(command)).toBe(entry.term);
    // The module defined the command in full (an action, or subcommands with theirs).
    expect(command.commands.length > 0 || command.registeredArguments.length > 0 || command.options.length > 0).toBe(true);
  });

  it('lists every command in the top-level help once, in the order of the table', async () => {
    const { ctx, out } = context();
    expect(await runCli(['--help'], ctx)).toBe(0);
    const listed = [...out().matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]).filter((word) => COMMANDS.some((c) => c.name === word));
    expect(listed).toEqual(COMMANDS.map((c) => c.name));
  });

  it('finds the invoked command after options and after help', () => {
    expect(invokedCommand(['--version'])).toBeUndefined();
    expect(invokedCommand(['runs', 'list', '--dir', 'x'])).toBe('runs');
    expect(invokedCommand(['-h', 'run'])).toBe('run');
    expect(invokedCommand(['help', 'tasks'])).toBe('tasks');
  });
});
