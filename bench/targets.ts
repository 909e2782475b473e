/** Benchmark targets as child processes that print `{ "url": … }` once they listen and stop on SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');

/** Runs `node --import tsx <script> ...args` from the repo (or another checkout, `cwd`) and resolves with the URL it prints. */
export async function startTarget(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd: string = REPO,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`${cwd === REPO ? '' : `${cwd}: `}${script} ${args[0] ?? ''} exited (${code})`)));
  });
  return { child, url };
}

export async function stopTarget(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
