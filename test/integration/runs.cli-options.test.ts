/**
 * `agentry run` with `--label`, `--deadline`, `--overrides` and `--file` (ad-hoc), and `agentry
 * runs list --label` and `--search`, on the project's store (SQLite and PostgreSQL) and against a server.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { cliStoreTargets, tempDir } from '../helpers/store.js';

const HELLO = `name: hello
steps:
  greet:
    transform: { greeting: "Hello, {{ input.name }}" }
    timeout: 1m
    overridable: [timeout]
output: "{{ steps.greet.output }}"
`;
const SCRATCH = `name: scratch
steps:
  one: { transform: { n: 1 } }
output: "{{ steps.one.output }}"
`;

describe.each(cliStoreTargets)('run options in the CLI on the project store ($name)', (target) => {
  let dir: { dir: string; remove: () => void };
  let env: Record<string, string>;
  let done: () => Promise<void>;
  const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { env, cwd: dir.dir });

  beforeAll(async () => {
    dir = tempDir('agentry-run-options-');
    mkdirSync(join(dir.dir, 'workflows'));
    writeFileSync(join(dir.dir, 'workflows/hello.yaml'), HELLO);
    writeFileSync(join(dir.dir, 'scratch.yaml'), SCRATCH);
    ({ env, done } = await target.env());
  }, 60_000);
  afterAll(async () => {
    await done();
    dir.remove();
  });

  it('starts a run with labels, a deadline and overrides, and lists runs by label', async () => {
    const started = await cli([
      'run',
      'hello',
      '-i',
      '{"name":"Ada"}',
      '--label',
      'team:support',
      '--label',
      'env:prod',
      '--deadline',
      '1h',
      '--overrides',
      '{"steps":{"greet":{"timeout":"5s"}}}',
      '--wait',
      '--json',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const run = JSON.parse(started.stdout);
    expect(run).toMatchObject({ status: 'succeeded', metadata: { team: 'support', env: 'prod' }, overrides: { steps: { greet: { timeout: '5s' } } } });
    expect(Date.parse(run.deadline_at) - Date.parse(run.created_at)).toBe(3_600_000);
    const other = await cli(['run', 'hello', '-i', '{"name":"Bob"}', '--label', 'team:billing', '--json']);
    expect(other.code, other.stderr).toBe(0);

    const listed = await cli(['runs', 'list', '--label', 'team:support', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).items.map((r: { id: string }) => r.id)).toEqual([run.id]);
    const none = await cli(['runs', 'list', '--label', 'team:support', '--label', 'env:dev', '--json']);
    expect(JSON.parse(none.stdout).items).toEqual([]);

    // --search: a piece of the id, in any case; each listed run with its cost.
    const found = await cli(['runs', 'list', '--search', run.id.slice(-9).toUpperCase(), '--json']);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).items).toEqual([expect.objectContaining({ id: run.id, cost_usd: 0 })]);
    const table = await cli(['runs', 'list', '--search', run.id.slice(-9)]);
    expect(table.stdout).toContain(run.id);
    expect(table.stdout).not.toContain(JSON.parse(other.stdout).id);
  });

  it('runs a spec file ad hoc with --file', async () => {
    const res = await cli(['run', '--file', 'scratch.yaml', '--wait', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ workflow: 'scratch', status: 'succeeded', adhoc: true, output: { n: 1 } });
  });

  it('refuses an override the workflow does not allow, a bad label and a workflow with --file, with exit 2', async () => {
    const refused = await cli(['run', 'hello', '-i', '{"name":"Ada"}', '--overrides', '{"steps":{"greet":{"retry":{"max_attempts":3}}}}']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('error [override_not_allowed]');
    expect(refused.stderr).toContain('overrides.steps.greet.retry');
    const badLabel = await cli(['runs', 'list', '--label', 'nocolon']);
    expect(badLabel.code).toBe(2);
    for (const search of ['', 'x'.repeat(65)]) {
      const badSearch = await cli(['runs', 'list', '--search', search]);
      expect(badSearch.code).toBe(2);
      expect(badSearch.stderr).toContain('--search');
    }
    const both = await cli(['run', 'hello', '--file', 'scratch.yaml']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});

describe('run options in the CLI against a server', () => {
  let api: TestApi;
  let url: string;
  let dir: { dir: string; remove: () => void };
  const cli = (args: string[], role: keyof typeof KEYS = 'admin') =>
    // A child process: the client's sockets (its event stream) end with it.
    runCli(args, { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS[role] }, cwd: dir.dir });

  beforeAll(async () => {
    api = await startTestApi();
    url = await listen(api.app);
    dir = tempDir('agentry-run-options-remote-');
    writeFileSync(join(dir.dir, 'scratch.yaml'), SCRATCH);
  });
  afterAll(async () => {
    await api.close();
    dir.remove();
  });

  it('starts an ad-hoc run of --file on the server with labels, and lists it by label', async () => {
    const res = await cli(['run', '--file', 'scratch.yaml', '--label', 'origin:cli', '--wait', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const run = JSON.parse(res.stdout);
    expect(run).toMatchObject({ workflow: 'scratch', status: 'succeeded', adhoc: true, metadata: { origin: 'cli' } });
    const listed = await cli(['runs', 'list', '--label', 'origin:cli', '--json']);
    expect(JSON.parse(listed.stdout).items.map((r: { id: string }) => r.id)).toEqual([run.id]);
    const found = await cli(['runs', 'list', '--search', run.id.slice(-9).toUpperCase(), '--json']);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).items).toEqual([expect.objectContaining({ id: run.id, cost_usd: 0 })]);
  });

  it('is refused for a key without specs:write', async () => {
    const res = await cli(['run', '--file', 'scratch.yaml'], 'service');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('forbidden');
  });
});
