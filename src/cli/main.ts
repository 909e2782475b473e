/**
 * The `agentry` command line. `createProgram()` builds the commander program (tests and
 * `runCli` use it); running this module runs the CLI on `process.argv`.
 *
 * Exit codes: 0 success; 1 a run that did not succeed, or an unexpected error; 2 bad usage,
 * bad input or an invalid project (nothing is changed in that case).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Help } from 'commander';
import { AgentryError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { COMMANDS, invokedCommand } from './command-table.js';
import { processContext, type CliContext } from './process-context.js';

export interface ProgramOptions {
  /** Load and define every command in full, not only the invoked one (for the CLI reference). */
  loadEveryCommand?: boolean;
}

/**
 * The program for `argv`: the invoked command is loaded and defined in full; every other one is
 * only its name and description (enough for the top-level help and for "unknown command").
 */
export async function createProgram(argv: readonly string[], ctx: CliContext = processContext(), options: ProgramOptions = {}): Promise<Command> {
  const program = new Command('agentry')
    .description('Run AI-agent workflows durably: specs in YAML, state in a database, nothing lost on a crash.')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .addHelpText(
      'after',
      `
Examples:
  agentry demo                                   serve the example project and run a workflow through the API
  agentry serve my-project                       the HTTP API, worker pool and scheduler in one process
  agentry init my-project                        create a project
  agentry validate my-project                    check its specs
  agentry run hello --input '{"name":"Ada"}' --wait
  agentry runs list --status failed
  agentry runs events <run-id> --follow          stream a run's events until it ends
  agentry tasks list                             human tasks waiting for a decision (then tasks approve <id>)
  agentry start worker                           execute queued runs until stopped
  agentry smoke --url http://127.0.0.1:7700      check a running deployment after a deploy (key: AGENTRY_API_KEY)

With AGENTRY_URL (and AGENTRY_API_KEY) set, \`run\`, \`runs …\`, \`tasks …\` and \`signal\` talk to that server instead of the store.
A profile (agentry login --profile prod --url … --key …) does the same: --profile <name> or AGENTRY_PROFILE_NAME
picks one (over AGENTRY_URL); without either and without AGENTRY_URL, the current one (agentry profiles use).

Exit codes:
  0    success (run --wait: the run succeeded)
  1    a run that failed, was cancelled or timed out; an unreachable server; an unexpected error
  2    bad usage or input, an unknown workflow, run or task, a conflict, a missing grant (nothing changed)
  130  interrupted with Ctrl-C (run --wait, runs events --follow, demo); the run keeps its state

Docs: docs/cli.md, docs/cli-reference.md, docs/configuration.md, docs/specs.md`,
    );
  const invoked = invokedCommand(argv);
  /** Commands defined by name only, with the term their module would give them in the help. */
  const outlines = new Map<Command, string>();
  for (const entry of COMMANDS) {
    if (options.loadEveryCommand || entry.name === invoked) (await entry.load())(program, ctx);
    else outlines.set(program.command(entry.name).description(entry.description), entry.term);
  }
  const defaultHelp = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => outlines.get(cmd) ?? defaultHelp.subcommandTerm(cmd) });
  return program;
}

/** Runs the CLI and resolves with the exit code (it never calls `process.exit`). */
export async function runCli(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  try {
    // A profile (`--profile`, AGENTRY_PROFILE_NAME, the current one) becomes AGENTRY_URL / AGENTRY_API_KEY.
    const { withProfile } = await import('./profiles.js');
    const profiled = withProfile(argv, ctx.env, (text) => ctx.stderr.write(text), invokedCommand);
    ctx.env = profiled.env;
    const program = await createProgram(profiled.argv, ctx);
    await program.parseAsync(profiled.argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return reportError(ctx, error);
  }
}

export function reportError(ctx: CliContext, error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed its message (and usage hint).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    return 2;
  }
  if (error instanceof AgentryError) {
    ctx.stderr.write(`error [${error.code}]: ${error.message}\n`);
    if (ctx.env.AGENTRY_DEBUG === '1' && error.stack) ctx.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  ctx.stderr.write(`error: ${message}\n`);
  if (ctx.env.AGENTRY_DEBUG === '1' && error instanceof Error && error.stack) ctx.stderr.write(`${error.stack}\n`);
  else ctx.stderr.write('(set AGENTRY_DEBUG=1 for the stack trace)\n');
  return 1;
}

/**
 * Whether the process was started on this module or on the package's `bin/agentry.js`, through
 * whatever links lead there: `node_modules/.bin/agentry` (npx, npm scripts), a global install's
 * `/usr/local/bin/agentry`. Compared by real path, not by name: `.bin/agentry` is no `bin/agentry`.
 */
function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const real = (path: string): string | undefined => {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  };
  const started = real(entry);
  return started !== undefined && [import.meta.url, new URL('../../bin/agentry.js', import.meta.url).href].some((url) => real(fileURLToPath(url)) === started);
}

// Run when executed directly (`tsx src/cli/main.ts`) or loaded by `bin/agentry.js`.
if (isMain()) {
  // `agentry runs events <id> --follow | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await runCli(process.argv.slice(2));
}
