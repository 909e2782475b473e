/**
 * The context a command runs in: its streams, environment, working directory and the exit code
 * it wants. Kept apart from `context.ts` (which loads configuration and logging) so that
 * `main.ts` can start, print `--version` or `--help`, without loading either.
 */
export interface CliContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Set by a command that ends without an error but should not exit 0 (a failed run, an invalid project). */
  exitCode: number;
}

export function processContext(): CliContext {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), exitCode: 0 };
}
