/**
 * The CLI's remote mode against a real `agentry serve` child process: with `AGENTRY_URL` and
 * `AGENTRY_API_KEY` set, `run` and `runs …` talk to the server, and their `--json` output is
 * exactly what the API returns. CLI children are started in parallel batches to keep this quick.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventDto, RunDetailDto, RunDto } from '../../src/cli/remote.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { exampleProject, killAll, removeDir, runCli, startCli, tempDir, waitForOutput, type CliProcess, type CliResult } from '../helpers/cli.js';

const SLOWISH = `name: slowish
steps:
  first: { transform: { n: 1 } }
  nap: { needs: [first], sleep: 2500ms }
  last: { needs: [nap], transform: { n: 2 } }
`;
const NAP = `name: nap
steps:
  long: { sleep: 1h }
`;

let project: string;
let dataDir: string;
let server: CliProcess;
let base: string;

beforeAll(async () => {
  project = exampleProject({ 'workflows/slowish.yaml': SLOWISH, 'workflows/nap.yaml': NAP });
  dataDir = tempDir();
  server = startCli(['serve', project, '--port', '0'], {
    env: { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${dataDir}/agentry.db`, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'warn' },
  });
  await waitForOutput(server, (_stderr, stdout) => stdout.includes('curl '));
  base = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
}, 60_000);

afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.done;
  await killAll();
  removeDir(project);
  removeDir(dataDir);
});

/** The CLI in remote mode (run from a directory with no project or store). */
function remoteCli(args: string[], key: string = KEYS.operator): Promise<CliResult> {
  return runCli(args, { cwd: dataDir, env: { AGENTRY_URL: base, AGENTRY_API_KEY: key } });
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEYS.operator}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

describe('the CLI with AGENTRY_URL', { timeout: 60_000 }, () => {
  let waited: RunDetailDto;
  let slowish: RunDto;
  let followed: CliResult;
  let nap: RunDto;

  it('runs --wait, follows, cancels and retries on the server; a wrong key exits 2 with unauthorized', async () => {
    slowish = await api<RunDto>('POST', '/v1/workflows/slowish/runs', { input: {} });
    nap = await api<RunDto>('POST', '/v1/workflows/nap/runs', { input: {} });
    const cancelThenRetry = async (): Promise<[CliResult, CliResult]> => {
      const cancelled = await remoteCli(['runs', 'cancel', nap.id, '--reason', 'from the CLI test']);
      return [cancelled, await remoteCli(['runs', 'retry', nap.id, '--json'])];
    };
    const [run, follow, [cancelled, retried], wrongKey] = await Promise.all([
      remoteCli(['run', 'hello', '--input', '{"name":"Ada"}', '--wait', '--json', '--dir', '/nonexistent']),
      remoteCli(['runs', 'events', slowish.id, '--follow', '--json']),
      cancelThenRetry(),
      remoteCli(['runs', 'list'], 'not-the-right-key-0123456789'),
    ]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('note: --dir is ignored: AGENTRY_URL is set');
    waited = JSON.parse(run.stdout) as RunDetailDto;
    expect(waited).toMatchObject({ workflow: 'hello', status: 'succeeded' });
    expect(waited).toEqual(await api('GET', `/v1/runs/${waited.id}`));

    followed = follow;
    expect(follow.code, follow.stderr).toBe(0);
    const events = follow.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventDto);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.type).toBe('run.succeeded');
    expect(events).toEqual((await api<{ items: EventDto[] }>('GET', `/v1/runs/${slowish.id}/events?limit=1000`)).items);

    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`Run ${nap.id} cancelled.`);
    expect(await api<RunDto>('GET', `/v1/runs/${nap.id}`)).toMatchObject({ status: 'cancelled', error: { message: 'from the CLI test' } });
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ workflow: 'nap', retry_of: nap.id, status: 'queued' });

    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/^error \[unauthorized\]: /);
    expect(wrongKey.stdout).toBe('');
  });

  it('lists and gets runs exactly as GET /v1/runs and GET /v1/runs/{id} return them, and formats them for people', async () => {
    expect(waited, 'the previous test ran').toBeDefined();
    const [all, succeeded, detail, events, shown] = await Promise.all([
      remoteCli(['runs', 'list', '--json']),
      remoteCli(['runs', 'list', '--status', 'succeeded', '--limit', '1', '--json']),
      remoteCli(['runs', 'get', slowish.id, '--json']),
      remoteCli(['runs', 'events', slowish.id, '--after', '2', '--json']),
      remoteCli(['runs', 'get', slowish.id]),
    ]);
    expect(JSON.parse(all.stdout)).toEqual(await api('GET', '/v1/runs'));
    const page = JSON.parse(succeeded.stdout) as { items: RunDto[]; next_cursor: string | null };
    expect(page).toEqual(await api('GET', '/v1/runs?status=succeeded&limit=1'));
    expect(page.next_cursor).not.toBeNull();
    expect(JSON.parse(detail.stdout)).toEqual(await api('GET', `/v1/runs/${slowish.id}`));
    const after2 = JSON.parse(events.stdout) as EventDto[];
    expect(after2).toEqual(
      followed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as EventDto)
        .slice(2),
    );
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Run run_\w+ {2}slowish {2}✓ succeeded/);
    expect(shown.stdout).toMatch(/first\s+transform\s+✓ succeeded\s+1\s+\d+ms\s+\{"n":1\}\n\s*nap\s+sleep\s+✓ succeeded/);
  });
});
