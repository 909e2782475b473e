/**
 * A server process that cannot start says why clearly and exits non-zero (INC-02): the first
 * bootstrap error is one `error` JSON log line (`event: process.failed`, with the code and the
 * message) besides the CLI's `error [code]: …` line — a port already in use names the port, a bad
 * configuration names the file and the setting.
 */
import { createServer, type Server } from 'node:net';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, removeDir, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { writeProject } from '../helpers/pg-processes.js';

const HELLO = { name: 'hello', steps: { greet: { transform: { message: 'hi' } } } };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = tempDir('agentry-startup-');
  cleanups.push(() => removeDir(dir));
  return writeProject(dir, [HELLO]);
}

/** A TCP listener on a free loopback port, closed after the test. */
async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** The JSON lines of level `error` on stderr: there must be exactly one, the failure. */
function theErrorLine(result: CliResult): Record<string, unknown> {
  const errors = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.level === 'error');
  expect(errors, result.stderr).toHaveLength(1);
  return errors[0]!;
}

describe('startup failures', { timeout: 60_000 }, () => {
  it('serve on a port in use exits 1 with "port N already in use" as one ERROR JSON line', async () => {
    const port = await occupiedPort();
    const result = await runCli(['serve', '--no-auth', '--port', String(port)], { env: { AGENTRY_PROJECT_DIR: project() } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('serving on');
    const line = theErrorLine(result);
    expect(line).toMatchObject({ event: 'process.failed', command: 'serve', code: 'port_in_use', details: { host: '127.0.0.1', port } });
    expect(line.msg).toContain(`port ${port} already in use`);
    expect(result.stderr).toContain(`error [port_in_use]: port ${port} already in use on 127.0.0.1`);
  });

  it('a worker whose probe port is in use exits 1 naming the port, as one ERROR JSON line', async () => {
    const port = await occupiedPort();
    const result = await runCli(['start', 'worker', '--probe-port', String(port)], { env: { AGENTRY_PROJECT_DIR: project() } });
    expect(result.code, result.stderr).toBe(1);
    const line = theErrorLine(result);
    expect(line).toMatchObject({ event: 'process.failed', command: 'start worker', code: 'port_in_use' });
    expect(line.message).toContain(`port ${port} already in use`);
    expect(line.message).toContain('--probe-port');
  });

  it('a bad configuration exits non-zero naming the file and the setting, as one ERROR JSON line, in serve and start worker', async () => {
    const dir = project();
    appendFileSync(join(dir, 'agentry.yaml'), 'engine:\n  concurrency: lots\n');
    for (const [command, args] of [
      ['serve', ['serve', '--no-auth', '--port', '0']],
      ['start worker', ['start', 'worker']],
    ] as const) {
      const result = await runCli([...args], { env: { AGENTRY_PROJECT_DIR: dir } });
      expect(result.code, result.stderr).toBe(2);
      const line = theErrorLine(result);
      expect(line).toMatchObject({ event: 'process.failed', command, code: 'invalid_request' });
      expect(line.message).toContain("agentry.yaml engine.concurrency: must be a whole number, got 'lots'");
      expect(result.stderr).toContain('error [invalid_request]: invalid configuration (1 problem)');
    }
  });
});
