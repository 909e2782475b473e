/**
 * Runs a program to completion for the deployment tests (npm, docker, the installed `agentry`):
 * its exit code and output, never a rejection for a non-zero exit, and a clear error when it
 * outlives its time limit (the process is killed then).
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  cwd?: string;
  /** Added to (undefined: removed from) the environment, after the `npm_*` variables of an enclosing `npm run` are dropped. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Written to standard input (closed either way). */
  input?: string;
}

/** This environment without what an enclosing `npm run` set for its own script (`npm_config_*`, `npm_package_*`, …). */
export function cleanEnv(extra: ExecOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { timeoutMs = 120_000 } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A program that exits before it reads its input closes the pipe: that EPIPE is not an error of the test.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: still running after ${timeoutMs / 1000} s (killed)\n${stdout}\n${stderr}`.trimEnd()));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `exec`, and throws with the program's output unless it exited 0. */
export async function execOk(command: string, args: readonly string[], options: ExecOptions = {}): Promise<string> {
  const result = await exec(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${String(result.code)}:\n${result.stdout}\n${result.stderr}`.trimEnd());
  }
  return result.stdout;
}
