/**
 * One server process per SQLite file (STO-05): real `agentry serve` and `agentry start worker`
 * child processes on the same database. A second server is refused at startup naming the first;
 * one-off CLI commands still share the file with the running server; once the first stops (or
 * is killed), a new server starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetailDto } from '../../src/cli/remote.js';
import { dbFile, exampleProject, killAll, removeDir, runCli, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';

let project: string;

beforeEach(() => {
  project = exampleProject();
});

afterEach(async () => {
  await killAll();
  removeDir(project);
});

/** `agentry serve` on a free port without auth; resolves once it listens. */
async function serve(): Promise<CliProcess> {
  const server = startCli(['serve', '--dir', project, '--port', '0', '--no-auth']);
  await waitForOutput(server, (_stderr, stdout) => stdout.includes('Agentry API listening on'));
  return server;
}

describe('a second server process on the same SQLite file', { timeout: 90_000 }, () => {
  it('is refused with the first one named while it runs, and starts once the first stopped', async () => {
    const first = await serve();
    const lock = `${dbFile(project)}.lock`;
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: first.child.pid, host: hostname() });

    const [secondServe, secondWorker, beside] = await Promise.all([
      runCli(['serve', '--dir', project, '--port', '0', '--no-auth']),
      runCli(['start', 'worker', '--dir', project]),
      runCli(['run', 'hello', '--input', '{"name":"Ada"}', '--wait', '--json', '--dir', project]),
    ]);
    for (const refused of [secondServe, secondWorker]) {
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`error [store_in_use]: store sqlite:${dbFile(project)} is in use by another Agentry server process`);
      expect(refused.stderr).toContain(`pid ${first.child.pid} on host ${hostname()}, started at `);
      expect(refused.stderr).toContain('use PostgreSQL');
    }
    // A one-off command shares the file with the running server.
    expect(beside.stderr).toBe('');
    expect(beside.code).toBe(0);
    expect((JSON.parse(beside.stdout) as RunDetailDto).status).toBe('succeeded');

    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
    expect(existsSync(lock)).toBe(false);

    // A server killed without a chance to remove its lock does not block the next one.
    const crashed = await serve();
    crashed.child.kill('SIGKILL');
    await crashed.done;
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: crashed.child.pid });
    const next = await serve();
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: next.child.pid });
  });
});
